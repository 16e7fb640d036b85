import { UsageError } from '../../errors.js';
import { API, type AppInfo, type AppSummary, type ContainerInfo, type DestroyedStorage } from '../../model/api.js';
import { checkAppName } from '../argument-values.js';
import { CliError, EXIT } from '../client.js';
import { appCommand, type CommandGroup } from '../command.js';
import { formatFormation, formatKeyValues, formatList, formatMinute, formatTable, orDash, shortCommit } from '../format.js';
import { show } from '../output.js';
import { askOnTerminal } from '../prompt.js';

function renderAppList(apps: AppSummary[]): string {
  if (apps.length === 0) return 'No apps yet: create one with berth apps:create NAME, or git push to a new one';
  return formatTable(
    ['APP', 'RELEASE', 'COMMIT', 'PROCESSES', 'DOMAINS', 'CREATED'],
    apps.map((app) => [app.name, orDash(app.release), shortCommit(app.commit), formatFormation(app.formation), formatList(app.domains), formatMinute(app.createdAt)]),
  );
}

function containerAddress(container: ContainerInfo): string {
  return container.ip ? `${container.ip}:${orDash(container.port)}` : '-';
}

function containerTable(containers: ContainerInfo[]): string {
  return formatTable(
    ['CONTAINER', 'PROCESS', 'RELEASE', 'STATE', 'ADDRESS'],
    containers.map((c) => [c.name, c.process, String(c.release), c.state, containerAddress(c)]),
  );
}

function releaseLabel(release: number | null, commit: string | null): string {
  return release === null ? 'none (never deployed)' : `${release} (commit ${shortCommit(commit)})`;
}

function renderAppInfo(app: AppInfo): string {
  const details = formatKeyValues([
    ['App', app.name],
    ['Created', formatMinute(app.createdAt)],
    ['Release', releaseLabel(app.release, app.commit)],
    ['Image', orDash(app.image)],
    ['Processes', formatFormation(app.formation)],
    ['Checks', app.checks],
    ['Domains', formatList(app.domains)],
    ['Config keys', formatList(app.configKeys)],
    ['Containers', app.containers.length === 0 ? 'none' : String(app.containers.length)],
  ]);
  return app.containers.length === 0 ? details : `${details}\n\n${containerTable(app.containers)}`;
}

/** Where `git push` reaches the app; the token stays a shell variable so it is not printed. */
function gitRemote(url: string, app: string): string {
  const { protocol, host, pathname } = new URL(url);
  return `${protocol}//berth:$BERTH_TOKEN@${host}${pathname.replace(/\/$/, '')}/${app}.git`;
}

function storageOutcome(app: string, storage: DestroyedStorage | null): string {
  if (!storage) return '';
  if (!storage.kept) return `; removed its storage ${storage.dir}`;
  return `; kept its storage in ${storage.dir} (an app named ${app} that mounts the same NAME finds it again; rm -r it, or destroy with --purge-storage, to remove it)`;
}

async function confirmDestroy(app: string, purgeStorage: boolean): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UsageError(`apps:destroy ${app} cannot ask for confirmation (stdin is not a terminal): pass --force`);
  }
  const what = purgeStorage ? 'containers, images, releases, config and the storage berth keeps for it' : 'containers, images, releases and config (its storage stays)';
  const answer = await askOnTerminal(`This destroys ${app}: its ${what}.\nType the app name to confirm: `, 'nothing was destroyed');
  if (answer !== app) throw new CliError(`"${answer}" is not "${app}": nothing was destroyed`, EXIT.failed);
}

export const APPS: CommandGroup = {
  title: 'Apps',
  commands: [
    {
      name: 'apps:list',
      args: [],
      summary: 'list the apps with their live release',
      example: 'berth apps:list',
      async run(invocation) {
        const result = await invocation.client().call(API.listApps, {});
        show(invocation, result, ({ apps }) => renderAppList(apps));
      },
    },
    {
      name: 'apps:create',
      args: ['NAME'],
      summary: 'create an app, ready for its first git push',
      example: 'berth apps:create myapp',
      async run(invocation) {
        const name = checkAppName(invocation.args[0]);
        const client = invocation.client();
        const result = await client.call(API.createApp, {}, { name });
        const remote = gitRemote(client.connection.url, name);
        show(invocation, result, () => `Created ${name}. Deploy it with:\n  git remote add berth ${remote}\n  git push berth main`);
      },
    },
    appCommand('apps:info', 'show the release, processes, checks, domains, config keys and containers of an app', async (invocation, app) => {
      const result = await invocation.client().call(API.appInfo, { app });
      show(invocation, result, (info) => renderAppInfo(info.app));
    }),
    {
      name: 'apps:destroy',
      args: ['APP'],
      flags: [
        { name: 'force', help: 'do not ask to type the app name (needed when stdin is not a terminal)' },
        { name: 'purge-storage', help: 'remove the storage berth keeps for the app too (DATA_DIR/storage/APP); host paths it mounted are never touched' },
      ],
      summary: 'remove an app with its containers, images, releases and config (its managed storage stays unless --purge-storage)',
      example: 'berth apps:destroy myapp --force',
      async run(invocation) {
        const [app] = invocation.args;
        const purgeStorage = invocation.flags.has('--purge-storage');
        if (!invocation.flags.has('--force')) await confirmDestroy(app, purgeStorage);
        const result = await invocation.client().call(API.destroyApp, { app }, { confirm: app, purgeStorage });
        show(invocation, result, ({ containers, images, storage }) => `Destroyed ${app}: removed ${containers} container(s) and ${images} image(s)${storageOutcome(app, storage)}`);
      },
    },
  ],
};
