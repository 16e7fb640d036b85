import { API, type NewRelease, type ResourceReport } from '../../model/api.js';
import { DEFAULT_PIDS_LIMIT, formatMemory, limitsSummary, type ResourceLimits } from '../../model/resources.js';
import { parseProcessScope, parseResourceLimits } from '../argument-values.js';
import { stringFlag } from '../arguments.js';
import { appCommand, type Flag, type CommandGroup } from '../command.js';
import { formatTable } from '../format.js';
import { show, streamed } from '../output.js';

const PROCESS: Flag = { name: 'process', value: 'TYPE', help: 'only the containers of this process type (default: every process type of the app)' };

function limitCells(limits: ResourceLimits, none: string): string[] {
  return [limits.memory === undefined ? none : formatMemory(limits.memory), limits.cpus === undefined ? none : String(limits.cpus), limits.pids === undefined ? none : String(limits.pids)];
}

function renderReport(app: string, report: ResourceReport): string {
  const set = [['(app)', ...limitCells(report.limits.app, '-')], ...Object.entries(report.limits.processes).map(([type, limits]) => [type, ...limitCells(limits, '-')])];
  const effective = Object.entries(report.containers).map(([type, limits]) => [type, ...limitCells(limits, 'unlimited')]);
  return [
    `Set with resource:limit for ${app} (a process type's own limits win over the app's):`,
    formatTable(['PROCESS', 'MEMORY', 'CPUS', 'PIDS'], set),
    '',
    `What each container gets (pids ${DEFAULT_PIDS_LIMIT} unless set; every container runs with no-new-privileges and without NET_RAW):`,
    effective.length ? formatTable(['PROCESS', 'MEMORY', 'CPUS', 'PIDS'], effective) : 'no process types yet',
  ].join('\n');
}

function outcome(done: string, release: NewRelease): string {
  return release === null ? `${done}; it applies when the app next starts` : `${done}; release ${release} runs with it`;
}

function scopeName(type: string | undefined, app: string): string {
  return type === undefined ? app : `${type} of ${app}`;
}

export const RESOURCES: CommandGroup = {
  title: 'Resources',
  commands: [
    {
      name: 'resource:limit',
      args: ['APP'],
      flags: [
        PROCESS,
        { name: 'memory', value: 'SIZE', help: 'memory per container, like 512m or 1g (the kernel kills a process of the container past it)' },
        { name: 'cpus', value: 'N', help: 'CPU time per container, like 0.5 or 2' },
        { name: 'pids', value: 'N', help: `processes and threads per container at once (default ${DEFAULT_PIDS_LIMIT})` },
      ],
      summary: 'limit the memory, CPU and processes of each container, then restart the app through the checks',
      example: 'berth resource:limit myapp --process web --memory 512m --cpus 1 --pids 256',
      async run(invocation) {
        const [app] = invocation.args;
        const type = parseProcessScope(stringFlag(invocation.flags, '--process'));
        const limits = parseResourceLimits({ memory: stringFlag(invocation.flags, '--memory'), cpus: stringFlag(invocation.flags, '--cpus'), pids: stringFlag(invocation.flags, '--pids') });
        const result = await streamed(invocation, API.limitResources, { app }, { ...(type === undefined ? {} : { process: type }), limits });
        show(invocation, result, ({ release }) => outcome(`Limited ${scopeName(type, app)} to ${limitsSummary(limits)}`, release));
      },
    },
    appCommand('resource:report', 'show the resource limits of an app and what each container gets', async (invocation, app) => {
      const result = await invocation.client().call(API.resources, { app });
      show(invocation, result, (report) => renderReport(app, report));
    }),
    {
      name: 'resource:clear',
      args: ['APP'],
      flags: [{ ...PROCESS, help: 'clear this process type\'s own limits (default: the limits set for the whole app)' }],
      summary: 'remove resource limits set with resource:limit, then restart the app through the checks',
      example: 'berth resource:clear myapp --process web',
      async run(invocation) {
        const [app] = invocation.args;
        const type = parseProcessScope(stringFlag(invocation.flags, '--process'));
        const result = await streamed(invocation, API.clearResources, { app }, type === undefined ? {} : { process: type });
        show(invocation, result, ({ release }) => outcome(`Cleared the resource limits of ${scopeName(type, app)}`, release));
      },
    },
  ],
};
