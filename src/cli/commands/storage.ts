import { API, type MountInfo, type NewRelease } from '../../model/api.js';
import { describeMount } from '../../model/storage.js';
import { parseMount, parseProcessScope, parseUnmount } from '../argument-values.js';
import { stringFlag } from '../arguments.js';
import { type CommandGroup, type Flag, type Invocation } from '../command.js';
import { formatTable } from '../format.js';
import { show, streamed } from '../output.js';

const PROCESS: Flag = { name: 'process', value: 'TYPE', help: 'only the containers of this process type (default: every process type of the app)' };

function renderMounts(app: string, mounts: MountInfo[]): string {
  if (!mounts.length) return `${app} mounts no storage: add some with berth storage:mount ${app} NAME:/path/in/container`;
  return formatTable(
    ['SOURCE', 'CONTAINER PATH', 'MODE', 'PROCESS', 'ON THE HOST'],
    mounts.map((mount) => [mount.source, mount.containerPath, mount.readOnly ? 'ro' : 'rw', mount.process ?? '(every)', `${mount.hostPath}${mount.managed ? ' (berth keeps it)' : ''}`]),
  );
}

/** APP, the mount argument and --process, as storage:mount and storage:unmount both take them. */
function mountArguments(invocation: Invocation): { app: string; text: string; process: string | undefined } {
  const [app, text] = invocation.args;
  return { app, text, process: parseProcessScope(stringFlag(invocation.flags, '--process')) };
}

function outcome(done: string, release: NewRelease): string {
  return release === null ? `${done}; it applies when the app next starts` : `${done}; release ${release} runs with it`;
}

export const STORAGE: CommandGroup = {
  title: 'Storage',
  commands: [
    {
      name: 'storage:mount',
      args: ['APP', 'SOURCE:/path[:ro]'],
      flags: [PROCESS],
      summary: 'mount a directory berth keeps (NAME, in DATA_DIR/storage/APP/NAME) or a host directory (/abs/path) into the containers, as a new release through the checks',
      example: 'berth storage:mount myapp uploads:/app/uploads',
      async run(invocation) {
        const { app, text, process } = mountArguments(invocation);
        const mount = parseMount(text, process);
        show(invocation, await streamed(invocation, API.mountStorage, { app }, mount), ({ release }) => outcome(`Mounted ${describeMount(mount)} in ${app}`, release));
      },
    },
    {
      name: 'storage:unmount',
      args: ['APP', 'SOURCE[:/path]'],
      flags: [{ ...PROCESS, help: 'only the mount limited to this process type' }],
      summary: 'stop mounting a directory (its files stay), as a new release through the checks',
      example: 'berth storage:unmount myapp uploads',
      async run(invocation) {
        const { app, text, process } = mountArguments(invocation);
        const result = await streamed(invocation, API.unmountStorage, { app }, parseUnmount(text, process));
        show(invocation, result, ({ removed, release }) => outcome(`Unmounted ${removed.map(describeMount).join(', ')} from ${app} (the files stay)`, release));
      },
    },
    {
      name: 'storage:list',
      args: ['APP'],
      summary: 'list the directories mounted into the containers of an app',
      example: 'berth storage:list myapp',
      async run(invocation) {
        const [app] = invocation.args;
        const result = await invocation.client().call(API.storage, { app });
        show(invocation, result, ({ mounts }) => renderMounts(app, mounts));
      },
    },
  ],
};
