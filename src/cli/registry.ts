/** Every command of the berth client, group by group in the order `berth help` lists them. */
import type { Command, CommandGroup } from './command.js';
import { APPS } from './commands/apps.js';
import { CERTS } from './commands/certs.js';
import { CHECKS } from './commands/checks.js';
import { CONFIG } from './commands/config.js';
import { CRON } from './commands/cron.js';
import { DEPLOY } from './commands/deploy.js';
import { SCHEDULER } from './commands/scheduler.js';
import { DOMAINS } from './commands/domains.js';
import { LOGIN } from './commands/login.js';
import { LOGS } from './commands/logs.js';
import { NODES } from './commands/nodes.js';
import { PROCESSES } from './commands/ps.js';
import { PROXY } from './commands/proxy.js';
import { RELEASES } from './commands/releases.js';
import { RESOURCES } from './commands/resource.js';
import { RUN } from './commands/run.js';
import { STATUS } from './commands/status.js';
import { STORAGE } from './commands/storage.js';

export const COMMAND_GROUPS: CommandGroup[] = [APPS, CONFIG, PROCESSES, RUN, CRON, RESOURCES, STORAGE, RELEASES, DEPLOY, SCHEDULER, CHECKS, DOMAINS, CERTS, PROXY, NODES, LOGS, STATUS, LOGIN];

export const COMMANDS: Command[] = COMMAND_GROUPS.flatMap((group) => group.commands);

/** serve, help and version are run by main.ts itself, but named with the rest. */
export const COMMAND_NAMES = [...COMMANDS.map((command) => command.name), 'serve', 'help', 'version'];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}
