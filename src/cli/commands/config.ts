import { API, type ConfigChange, type NewRelease } from '../../model/api.js';
import { parseConfigAssignments, parseConfigKeys } from '../argument-values.js';
import { CliError, EXIT } from '../client.js';
import { appCommand, type Command, type CommandGroup, type Flag } from '../command.js';
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

/** What config:set or config:unset asks berth to change, read from the arguments after APP. */
interface RequestedChange {
  keys: string[];
  change: Pick<ConfigChange, 'set' | 'unset'>;
}

/** config:set and config:unset: the change, then a restart through the checks unless --no-restart. */
function configChangeCommand(usage: Omit<Command, 'flags' | 'run'>, verb: 'Set' | 'Unset', requested: (args: string[]) => RequestedChange): Command {
  return {
    ...usage,
    flags: [NO_RESTART],
    async run(invocation) {
      const [app, ...args] = invocation.args;
      const { keys, change } = requested(args);
      const restart = !invocation.flags.has('--no-restart');
      const result = await streamed(invocation, API.changeConfig, { app }, { ...change, restart });
      show(invocation, result, ({ release }) => configOutcome(verb, keys, app, release, restart));
    },
  };
}

export const CONFIG: CommandGroup = {
  title: 'Config',
  commands: [
    appCommand('config:show', 'show the config vars of an app', async (invocation, app) => {
      const result = await invocation.client().call(API.showConfig, { app });
      show(invocation, result, ({ config }) => renderConfig(app, config));
    }),
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
    configChangeCommand(
      {
        name: 'config:set',
        args: ['APP', 'KEY=VALUE...'],
        summary: 'set config vars and restart the app so its containers get them',
        example: 'berth config:set myapp DATABASE_URL=postgres://db/myapp LOG_LEVEL=debug',
      },
      'Set',
      (assignments) => {
        const set = parseConfigAssignments(assignments);
        return { keys: Object.keys(set), change: { set } };
      },
    ),
    configChangeCommand(
      {
        name: 'config:unset',
        args: ['APP', 'KEY...'],
        summary: 'remove config vars and restart the app without them',
        example: 'berth config:unset myapp LOG_LEVEL',
      },
      'Unset',
      (keys) => {
        const unset = parseConfigKeys(keys);
        return { keys: unset, change: { unset } };
      },
    ),
  ],
};
