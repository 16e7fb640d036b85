import { API, STAGES, type ReleaseInfo } from '../../model/api.js';
import { parseReleaseNumber } from '../argument-values.js';
import { appCommand, type CommandGroup } from '../command.js';
import { formatMinute, formatSeconds, formatTable, orDash, shortCommit } from '../format.js';
import { show, streamed } from '../output.js';

function renderReleases(app: string, releases: ReleaseInfo[]): string {
  if (releases.length === 0) return `${app} has no releases yet: git push to deploy it`;
  return formatTable(
    ['RELEASE', 'STATUS', 'COMMIT', 'IMAGE', 'DIGEST', 'CREATED', 'BUILD', 'TASK', 'STOP', 'START', 'CHECKS', 'SWITCH', 'RETIRE', 'DESCRIPTION'],
    releases.map((r) => [
      String(r.id),
      r.status,
      r.commit ? shortCommit(r.commit) : '-',
      orDash(r.imageSource ? `${r.image} (from ${r.imageSource.split('@')[0]})` : r.image),
      orDash(r.imageDigest?.replace(/^sha256:/, '').slice(0, 12) ?? null),
      formatMinute(r.createdAt),
      ...STAGES.map((stage) => formatSeconds(r.stageMs[stage])),
      r.failure ? `failed at ${r.failure.stage}: ${r.failure.message}` : orDash(r.description),
    ]),
  );
}

export const RELEASES: CommandGroup = {
  title: 'Releases',
  commands: [
    appCommand('releases', 'list the releases of an app, newest first, with the time of each stage', async (invocation, app) => {
      const result = await invocation.client().call(API.releases, { app });
      show(invocation, result, ({ releases }) => renderReleases(app, releases));
    }),
    {
      name: 'rollback',
      args: ['APP', '[RELEASE]'],
      summary: 'make an earlier release live again (default: the one before the live one)',
      example: 'berth rollback myapp 3',
      async run(invocation) {
        const [app, rawRelease] = invocation.args;
        const request = rawRelease === undefined ? {} : { release: parseReleaseNumber(rawRelease) };
        const result = await streamed(invocation, API.rollback, { app }, request);
        show(invocation, result, ({ release, from }) => `Rolled back ${app}: release ${release} is live (was release ${from})`);
      },
    },
  ],
};
