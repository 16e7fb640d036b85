import { API } from '../../model/api.js';
import type { ChecksState } from '../../model/app.js';
import { appCommand, type Command, type CommandGroup } from '../command.js';
import { show, streamed } from '../output.js';

const CHECKS_ENDPOINTS = { disable: API.disableChecks, enable: API.enableChecks, skip: API.skipChecks };

const CHECKS_MEANING: Record<ChecksState, string> = {
  enabled: 'every deploy runs CHECKS before the switch',
  disabled: 'deploys skip CHECKS until berth checks:enable APP',
  'skip-next': 'the next deploy skips CHECKS, later ones run them',
};

function checksCommand(action: keyof typeof CHECKS_ENDPOINTS, summary: string): Command {
  return appCommand(`checks:${action}`, summary, async (invocation, app) => {
    const result = await invocation.client().call(CHECKS_ENDPOINTS[action], { app });
    show(invocation, result, ({ checks }) => `Checks of ${app}: ${checks} (${CHECKS_MEANING[checks].replace('APP', app)})`);
  });
}

const run = appCommand('checks:run', 'run CHECKS now against the running containers (exit 1 when one fails)', async (invocation, app) => {
  // A failed check ends the stream with {ok: false}, which streamed throws (exit 1): a result has passed.
  const result = await streamed(invocation, API.runChecks, { app }, undefined);
  show(invocation, result, () => `CHECKS passed against ${app}`);
});

export const CHECKS: CommandGroup = {
  title: 'Checks',
  commands: [
    checksCommand('disable', 'skip CHECKS on every deploy until checks:enable'),
    checksCommand('enable', 'run CHECKS on every deploy again'),
    checksCommand('skip', 'skip CHECKS on the next deploy only'),
    run,
  ],
};
