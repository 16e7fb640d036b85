import { API, type NewRelease } from '../../model/api.js';
import { parseFormation } from '../argument-values.js';
import { appCommand, type Command, type CommandGroup } from '../command.js';
import { formatFormation, formatKeyValues } from '../format.js';
import { show, streamed } from '../output.js';

function releaseNote(release: NewRelease): string {
  return release === null ? '' : ` (release ${release})`;
}

function processCommand(action: 'restart' | 'stop' | 'start', done: string, summary: string): Command {
  return appCommand(`ps:${action}`, summary, async (invocation, app) => {
    const result = await streamed(invocation, API[action], { app }, undefined);
    show(invocation, result, ({ release }) => `${done} ${app}${releaseNote(release)}`);
  });
}

const scale: Command = {
  name: 'ps:scale',
  args: ['APP', '[TYPE=N...]'],
  summary: 'set how many containers of each process type run, or show the counts',
  example: 'berth ps:scale myapp web=2 worker=1',
  async run(invocation) {
    const [app, ...counts] = invocation.args;
    if (counts.length === 0) {
      const { app: info } = await invocation.client().call(API.appInfo, { app });
      show(invocation, { formation: info.formation }, ({ formation }) => formatKeyValues(Object.entries(formation).map(([type, count]) => [type, String(count)])));
      return;
    }
    const formation = parseFormation(app, counts);
    const result = await streamed(invocation, API.scale, { app }, { formation });
    show(invocation, result, (scaled) => `Scaled ${app} to ${formatFormation(scaled.formation)}${releaseNote(scaled.release)}`);
  },
};

export const PROCESSES: CommandGroup = {
  title: 'Processes',
  commands: [
    scale,
    processCommand('restart', 'Restarted', 'restart the containers of an app'),
    processCommand('stop', 'Stopped', 'stop the containers of an app'),
    processCommand('start', 'Started', 'start the stopped containers of an app'),
  ],
};
