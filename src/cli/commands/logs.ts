import { API, type LogsQuery } from '../../model/api.js';
import { DEFAULT_LOG_LINES } from '../../model/app.js';
import { parseLineCount, parseReleaseNumber } from '../argument-values.js';
import { stringFlag } from '../arguments.js';
import type { CommandGroup } from '../command.js';
import { print, show } from '../output.js';

export const LOGS: CommandGroup = {
  title: 'Logs',
  commands: [
    {
      name: 'logs',
      args: ['APP'],
      flags: [
        { name: 'follow', short: 'f', help: 'keep printing new lines until Ctrl-C' },
        { name: 'lines', short: 'n', value: 'N', help: `start with the last N lines of each container (default ${DEFAULT_LOG_LINES})` },
        { name: 'run', value: 'NAME', help: 'what the one-off container NAME (berth run --detach) printed, instead of the live containers' },
        { name: 'cron', value: 'ID', help: 'what the last runs of cron job ID printed (berth cron:list shows the ids)' },
      ],
      summary: 'print the output of the containers of an app',
      example: 'berth logs myapp -f -n 20',
      async run(invocation) {
        const [app] = invocation.args;
        const query: LogsQuery = {
          lines: parseLineCount(stringFlag(invocation.flags, '--lines') ?? String(DEFAULT_LOG_LINES)),
          follow: invocation.flags.has('--follow'),
          run: stringFlag(invocation.flags, '--run'),
          cron: stringFlag(invocation.flags, '--cron'),
        };
        // Following ends only with Ctrl-C, which is how the user says they are done: not a failure.
        if (query.follow) process.once('SIGINT', () => process.exit(0));
        const onLine = invocation.json ? (line: string) => print(JSON.stringify({ line })) : print;
        await invocation.client().stream(API.logs, { app }, query, onLine);
      },
    },
    {
      name: 'deploys:log',
      args: ['APP', '[RELEASE]'],
      summary: 'print what the pusher read during a deploy (default: the latest)',
      example: 'berth deploys:log myapp 4',
      async run(invocation) {
        const [app, rawRelease] = invocation.args;
        const release = rawRelease === undefined || rawRelease === 'latest' ? 'latest' : String(parseReleaseNumber(rawRelease));
        const result = await invocation.client().call(API.deployLog, { app, release });
        show(invocation, result, ({ log }) => log || `release ${result.release} has an empty deploy log`);
      },
    },
  ],
};
