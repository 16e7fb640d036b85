import { UsageError } from '../../errors.js';
import { API, type RunResult } from '../../model/api.js';
import { runInteractive } from '../interactive.js';
import type { CommandGroup, Invocation } from '../command.js';
import { print, show, streamed } from '../output.js';

export const RUN: CommandGroup = {
  title: 'One-off commands',
  commands: [
    {
      name: 'run',
      args: ['APP', 'COMMAND...'],
      flags: [
        { name: 'detach', short: 'd', help: 'print the container\'s name at once and leave it running (berth logs APP --run NAME shows its output)' },
        { name: 'interactive', short: 'i', help: 'attach your stdin to the command (berth run APP -i -- sh)' },
      ],
      summary: 'run a command once in a new container from the live release, with the app\'s config; exits with its exit code',
      example: 'berth run myapp -- python manage.py migrate',
      async run(invocation) {
        const [app, ...command] = invocation.args;
        const detach = invocation.flags.has('--detach');
        if (detach && invocation.flags.has('--interactive')) throw new UsageError('--detach and --interactive do not go together: a detached command has no terminal to read from');
        const result = invocation.flags.has('--interactive') ? await runInteractive(invocation.client(), app, command) : await streamed(invocation, API.run, { app }, { command, detach });
        if (detach) return show(invocation, result, ({ name }) => name);
        finishRun(invocation, result);
      },
    },
  ],
};

/** The command's exit code becomes berth's; why berth killed it goes to stderr. */
export function finishRun(invocation: Invocation, result: RunResult): void {
  if (invocation.json) print(JSON.stringify(result, null, 2));
  if (result.stopped) process.stderr.write(`berth: ${result.stopped}\n`);
  process.exitCode = result.exitCode ?? 1;
}
