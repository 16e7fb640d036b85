import { API, type NewRelease } from '../../model/api.js';
import { parseConfigAssignments, parseConfigKeys } from '../argument-values.js';
import { CliError, EXIT } from '../client.js';
import type { CommandGroup, Flag } from '../command.js';
import { formatKeyValues } from '../format.js';
import { show, streamed } from '../output.js';

const NO_RESTART: Flag = { name: 'no-restart', help: 'store the change only; running containers keep the old values until berth ps:restart APP' };

function renderConfig(app: string, config: Record<string, string>): string {
  const entries = Object.entries(config).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? `${app} has no config vars` : formatKeyValues(entries);
}

function configOutcome(verb: string, keys: string[], app: string, release: NewRelease, restarted: boolean): string {
  const done = `${verb} ${keys.join(', ')} on ${app}`;
  if (release !== null) return `${done}; release ${release} runs with the change`;
  if (!restarted) return `${done}; running containers keep the old values until berth ps:restart ${app}`;
  return `${done}; it applies from the first deploy`;
}

export const CONFIG: CommandGroup = {
  title: 'Config',
  commands: [
    {
      name: 'config:show',
      args: ['APP'],
      summary: 'show the config vars of an app',
      example: 'berth config:show myapp',
      async run(invocation) {
        const [app] = invocation.args;
        const result = await invocation.client().call(API.showConfig, { app });
        show(invocation, result, ({ config }) => renderConfig(app, config));
      },
    },
    {
      name: 'config:get',
      args: ['APP', 'KEY'],
      summary: 'print the value of one config var (exit 4 when it is not set)',
      example: 'DATABASE_URL=$(berth config:get myapp DATABASE_URL)',
      async run(invocation) {
        const [app, key] = invocation.args;
        const { config } = await invocation.client().call(API.showConfig, { app });
        if (!Object.hasOwn(config, key)) throw new CliError(`${key} is not set on ${app}`, EXIT.notFound, `berth config:show ${app} lists what is set`);
        show(invocation, config[key], (value) => value);
      },
    },
    {
      name: 'config:set',
      args: ['APP', 'KEY=VALUE...'],
      flags: [NO_RESTART],
      summary: 'set config vars and restart the app so its containers get them',
      example: 'berth config:set myapp DATABASE_URL=postgres://db/myapp LOG_LEVEL=debug',
      async run(invocation) {
        const [app, ...assignments] = invocation.args;
        const set = parseConfigAssignments(assignments);
        const restart = !invocation.flags.has('--no-restart');
        const result = await streamed(invocation, API.changeConfig, { app }, { set, restart });
        show(invocation, result, ({ release }) => configOutcome('Set', Object.keys(set), app, release, restart));
      },
    },
    {
      name: 'config:unset',
      args: ['APP', 'KEY...'],
      flags: [NO_RESTART],
      summary: 'remove config vars and restart the app without them',
      example: 'berth config:unset myapp LOG_LEVEL',
      async run(invocation) {
        const [app, ...keys] = invocation.args;
        const unset = parseConfigKeys(keys);
        const restart = !invocation.flags.has('--no-restart');
        const result = await streamed(invocation, API.changeConfig, { app }, { unset, restart });
        show(invocation, result, ({ release }) => configOutcome('Unset', unset, app, release, restart));
      },
    },
  ],
};
