import { API, type CertificateSummary, type ContainerInfo, type DiskInfo, type GitPortTls, type NginxState, type StatusInfo } from '../../model/api.js';
import { formatBytes } from '../../model/bytes.js';
import type { CommandGroup } from '../command.js';
import { formatKeyValues, formatMinute, formatTable, formatUptime, orDash, shortCommit } from '../format.js';
import { show } from '../output.js';
import { nodesTable } from './nodes.js';

function nginxState(state: NginxState): string {
  return state.running ? `running, pid ${orDash(state.pid)}` : 'not running';
}

function containerSummary(containers: ContainerInfo[]): string {
  const byState = new Map<string, number>();
  for (const container of containers) byState.set(container.state, (byState.get(container.state) ?? 0) + 1);
  return byState.size === 0 ? '-' : [...byState].map(([state, count]) => `${count} ${state}`).join(', ');
}

/** What berth's images and the build cache take; the engine's figures are missing while it does not answer. */
function diskLines(disk: DiskInfo): Array<[string, string]> {
  const pruned = disk.pruneBuildCacheAfterDays ? `pruned once unused for ${disk.pruneBuildCacheAfterDays} day(s)` : 'never pruned (--prune-build-cache-after 0)';
  return [
    ['images', disk.images ? `${disk.images.count}, ${formatBytes(disk.images.bytes)} (the layers only berth's images use)` : '-'],
    ['build cache', disk.buildCache ? `${disk.buildCache.count} item(s), ${formatBytes(disk.buildCache.bytes)}, engine-wide; ${pruned}` : '-'],
  ];
}

function certificateCell(certificate: CertificateSummary | null): string {
  if (!certificate) return '-';
  const until = certificate.notAfter ? ` until ${formatMinute(certificate.notAfter)}` : '';
  return `${certificate.state}${certificate.state === 'valid' || certificate.state === 'due' ? until : ''}${certificate.auto ? ' (auto)' : ''}`;
}

/** The certificates someone should look at: those due, failing, expired or not there yet. */
function certificateWarnings(apps: StatusInfo['apps']): string[] {
  return apps.flatMap(({ name, certificate }) => {
    if (!certificate || certificate.state === 'valid') return [];
    const next = certificate.nextAttemptAt ? `; next attempt ${formatMinute(certificate.nextAttemptAt)}` : '';
    const error = certificate.lastError ? `: ${certificate.lastError}${next}` : next;
    const until = certificate.notAfter ? ` (valid until ${formatMinute(certificate.notAfter)})` : '';
    return [`  ${name}: ${certificate.state}${until}${error}; see berth certs:info ${name}`];
  });
}

const ORIGINS: Record<GitPortTls['origin'], string> = { 'self-signed': 'self-signed', given: 'from --tls-cert', acme: 'from ACME' };

function gitPortLine(port: number, tls: GitPortTls | null): string {
  if (!tls) return `port ${port}, plain HTTP (--insecure-http)`;
  const until = tls.notAfter ? `, valid until ${formatMinute(tls.notAfter)}` : '';
  return `port ${port}, HTTPS, certificate ${tls.certificateFile}, SHA-256 ${tls.fingerprint || '-'} (${ORIGINS[tls.origin]}${until})`;
}

/** How getting the git port's certificate for --server-name fares, when berth gets one. */
function gitPortAcmeLines(tls: GitPortTls | null): Array<[string, string]> {
  const acme = tls?.acme;
  if (!acme) return [];
  const next = acme.nextAttemptAt ? `; next attempt ${formatMinute(acme.nextAttemptAt)}` : '';
  const error = acme.lastError ? `: ${acme.lastError}` : '';
  return [['git port ACME', `${acme.serverName}: ${acme.state}${error}${next}`]];
}

/** Every container that has app.json liveness checks: how they fare and how often berth restarted it. */
function livenessTable(apps: StatusInfo['apps']): string | undefined {
  const rows = apps.flatMap((app) => app.containers.flatMap(({ name, liveness }) => (liveness ? [[name, liveness.state, String(liveness.failures), String(liveness.restarts), orDash(liveness.lastResult)]] : [])));
  return rows.length ? `Liveness checks:\n${formatTable(['CONTAINER', 'STATE', 'FAILURES IN A ROW', 'RESTARTS BY BERTH', 'LAST RESULT'], rows)}` : undefined;
}

/** The Nodes block, when berth has a swarm. */
function swarmBlock(swarm: StatusInfo['swarm']): string {
  if (!swarm) return '';
  const manager = `swarm manager ${swarm.manager}`;
  if (swarm.error) return `\n\nNodes: ${manager} does not answer: ${swarm.error}`;
  if (!swarm.nodes.length) return `\n\nNodes: ${manager} has no swarm yet; berth nodes:add ENGINE makes one`;
  return `\n\nNodes (${manager}):\n${nodesTable(swarm.nodes)}`;
}

function renderStatus(status: StatusInfo): string {
  const { berth, nginx, docker, disk } = status;
  const overview = formatKeyValues([
    ['berth', `${berth.version} (instance ${berth.instance}), up ${formatUptime(berth.uptimeSeconds)}`],
    ['apps served at', `http://APP.${berth.domain}:${berth.httpPort}/, https on port ${berth.httpsPort} for names with a certificate`],
    ['git and API', gitPortLine(berth.gitPort, berth.gitPortTls)],
    ...gitPortAcmeLines(berth.gitPortTls),
    ['data dir', `${berth.dataDir}, ${formatBytes(disk.dataDirBytes)}`],
    ['nginx edge', nginxState(nginx.edge)],
    ['docker', docker.running ? `running, version ${orDash(docker.version)}` : 'not running'],
    ...diskLines(disk),
  ]);
  if (status.apps.length === 0) return `${overview}${swarmBlock(status.swarm)}\n\nNo apps yet.`;
  const apps = formatTable(
    ['APP', 'RELEASE', 'COMMIT', 'CHECKS', 'CERTIFICATE', 'CONTAINERS'],
    status.apps.map((app) => [app.name, orDash(app.release), shortCommit(app.commit), app.checks, certificateCell(app.certificate), containerSummary(app.containers)]),
  );
  const warnings = certificateWarnings(status.apps);
  const liveness = livenessTable(status.apps);
  return `${overview}${swarmBlock(status.swarm)}\n\n${apps}${liveness ? `\n\n${liveness}` : ''}${warnings.length ? `\n\nCertificates that need attention:\n${warnings.join('\n')}` : ''}`;
}

export const STATUS: CommandGroup = {
  title: 'Status',
  commands: [
    {
      name: 'status',
      args: [],
      summary: 'show the state of berth, its nginx, Docker, the disk it uses and every app',
      example: 'berth status',
      async run(invocation) {
        const result = await invocation.client().call(API.status, {});
        show(invocation, result, renderStatus);
      },
    },
  ],
};
