import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { request } from 'undici';
import { AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli, berthJson } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { trustForGit } from '../support/git-trust.js';
import { getThroughNginx } from '../support/http.js';
import { recordReliability, whileServing } from '../support/reliability.js';
import type { AppInfo, ResourceReport } from '../../src/model/api.js';
import { appNetworkName, sharedNetworkName } from '../../src/model/naming.js';
import { DEFAULT_PIDS_LIMIT } from '../../src/model/resources.js';

const docker = new Docker();
const run = promisify(execFile);
const MiB = 1024 * 1024;
// Two apps that must not see each other; BOMB spawns processes until it cannot.
const [NORTH, SOUTH, BOMB, PROBED] = ['north', 'south', 'bomb', 'probed'];
const host = (app: string) => `${app}.localhost`;
/** CAP_NET_RAW is bit 13 of the capability sets in /proc/PID/status. */
const CAP_NET_RAW = 1n << 13n;

/** Connects to host:port (or resolves a name, or GETs berth's API over HTTPS) from inside a container, printing one word of outcome. */
const PROBE = `
const [kind, target, port, authorization] = process.argv.slice(2);
const done = (word) => { console.log('probe: ' + word); process.exit(0); };
setTimeout(() => done('timeout'), 3000);
if (kind === 'connect') require('net').connect({ host: target, port: Number(port) }).on('connect', () => done('connected')).on('error', (e) => done(e.code));
if (kind === 'resolve') require('dns').promises.resolve4(target).then((a) => done('resolved ' + a.join(',')), (e) => done(e.code));
if (kind === 'api') require('https').get({ host: target, port: Number(port), path: '/api/status', headers: { authorization }, rejectUnauthorized: false }, (res) => {
  let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => done(res.statusCode + ' ' + body.trim()));
}).on('error', (e) => done(e.code));
`;

/** Spawns sleeping children until the kernel says no (or 3000, so a berth without a pids limit does not fill the host), then stays up. */
const SPAWNER = `
const { spawn } = require('child_process');
let count = 0;
const hold = (why) => { console.log('spawner stopped after ' + count + ' processes: ' + why); setInterval(() => {}, 1 << 30); };
const next = () => {
  if (count >= 3000) return hold('reached 3000, nothing stopped it');
  const child = spawn('sleep', ['3600'], { stdio: 'ignore' });
  child.once('error', (e) => hold(e.code));
  child.once('spawn', () => { count += 1; setImmediate(next); });
};
require('fs').readFile(__filename, next);
`;

async function exec(container: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('docker', ['exec', container, ...args], { timeout: 20_000 });
  return stdout.trim();
}

/** The non-loopback IPv4 address of this host that is not a Docker bridge: where the operator's pushes from elsewhere arrive. */
function hostAddress(): string | undefined {
  const interfaces = Object.entries(os.networkInterfaces()).filter(([name]) => !/^(docker|br-|veth|lo)/.test(name));
  return interfaces.flatMap(([, addresses]) => addresses ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address;
}

describe('apps fenced from each other and from the host', () => {
  let berth: BerthInstance;
  const repos = new Map<string, AppRepo>();
  const info = async (app: string) => (await berthJson<{ app: AppInfo }>(berth, ['apps:info', app])).app;
  const webContainer = async (app: string) => (await info(app)).containers.find((c) => c.process === 'web' && c.state === 'running')!;
  const inspect = async (name: string) => docker.getContainer(name).inspect();
  const restart = async () => {
    await berth.stopServer();
    berth = await startBerth({ dataDir: berth.dataDir, instance: berth.instance, httpPort: berth.httpPort, httpsPort: berth.httpsPort, gitPort: berth.gitPort, args: ['--listen', '0.0.0.0'] });
  };

  async function deployApp(app: string, files: Record<string, string> = {}): Promise<string> {
    const repo = await AppRepo.create({ 'probe.js': PROBE, 'version.txt': `${app}\n`, ...files });
    repos.set(app, repo);
    const push = await repo.push(berth.remote(app));
    assert.equal(push.code, 0, push.output);
    return push.output;
  }

  before(async () => {
    await ensureTestBaseImage();
    // On every interface, as berth serves by default, so the containers' gateway reaches the git port.
    const external = hostAddress();
    berth = await startBerth({ args: ['--listen', '0.0.0.0', ...(external ? ['--server-name', external] : [])] });
    await deployApp(NORTH);
    await deployApp(SOUTH);
  });

  after(async () => {
    await berth?.destroy();
    for (const repo of repos.values()) await repo.remove();
  });

  test('each app has a network of its own: one app cannot connect to the containers of another or resolve their names; both serve through nginx', async () => {
    const [north, south] = [await webContainer(NORTH), await webContainer(SOUTH)];
    const networks = Object.keys((await inspect(north.name)).NetworkSettings.Networks);
    assert.deepEqual(networks, [appNetworkName(berth.instance, NORTH)]);
    const network = await docker.getNetwork(appNetworkName(berth.instance, NORTH)).inspect();
    assert.deepEqual([network.Labels?.['berth.instance'], network.Labels?.['berth.app']], [berth.instance, NORTH]);
    const watched = await whileServing({ httpPort: berth.httpPort, host: host(SOUTH) }, async () => {
      assert.equal(await exec(north.name, 'node', '/app/probe.js', 'connect', south.ip, '5000'), 'probe: timeout', `${NORTH} reached ${SOUTH}'s container`);
      assert.match(await exec(north.name, 'node', '/app/probe.js', 'resolve', south.name), /^probe: (ENOTFOUND|ENODATA|ESERVFAIL|ECONNREFUSED|timeout)/);
      assert.match(await exec(south.name, 'node', '/app/probe.js', 'resolve', south.name), /^probe: resolved /, 'an app resolves its own containers');
    });
    for (const app of [NORTH, SOUTH]) assert.match((await getThroughNginx(berth.httpPort, host(app))).body, new RegExp(`Hello from ${app}`));
    assert.deepEqual(watched.failures, []);
    await recordReliability({ area: 'Isolation', fault: "an app's container connects to another app's container by IP and looks up its name", berthDid: 'each app runs on a bridge network of its own: the connection times out (the engine drops traffic between bridges) and the name does not resolve; both apps still serve through nginx', served: watched.served, lost: watched.failures.length });
  });

  test('the git port and admin API refuse containers and build steps, even with the token; the operator pushes from loopback and from the host address', async () => {
    const north = await webContainer(NORTH);
    const gateway = (await inspect(north.name)).NetworkSettings.Networks[appNetworkName(berth.instance, NORTH)].Gateway;
    const external = hostAddress();
    const bridgeGateway = ((await docker.getNetwork('bridge').inspect()) as { IPAM: { Config: { Gateway: string }[] } }).IPAM.Config[0].Gateway;
    const watched = await whileServing({ httpPort: berth.httpPort, host: host(SOUTH) }, async () => {
      for (const target of [gateway, ...(external ? [external] : [])]) {
        const answer = await exec(north.name, 'node', '/app/probe.js', 'api', target, String(berth.gitPort), berth.authorization);
        assert.match(answer, /^probe: 403 .*requests from containers and build steps are refused/, `via ${target}: ${answer}`);
      }
    });
    assert.deepEqual(watched.failures, []);
    const built = await deployApp(PROBED, {
      Dockerfile: `FROM berth-test/node:20\nCOPY . /app\nRUN node /app/probe.js api ${bridgeGateway} ${berth.gitPort} '${berth.authorization}'\nCMD ["node", "/app/server.js"]\n`,
    });
    assert.match(built, /probe: 403 .*requests from containers and build steps are refused/, built);
    if (external) {
      await repos.get(NORTH)!.commit({ 'notes.txt': 'pushed from the host address\n' }, 'from outside');
      // berth was started with --server-name of this address, so its certificate names it, and git is told to trust it there too.
      trustForGit(`https://${external}:${berth.gitPort}`, berth.caFile!);
      const push = await repos.get(NORTH)!.push(`https://berth:${berth.token}@${external}:${berth.gitPort}/${NORTH}.git`);
      assert.equal(push.code, 0, push.output);
      assert.match(push.output, /Done: north release \d+ deployed/);
    }
    assert.equal((await berthCli(berth, ['apps:info', NORTH])).code, 0, 'the CLI on loopback is served');
    await recordReliability({ area: 'Isolation', fault: "a container (through its network's gateway and the host's address) and a build step's RUN ask the admin API with a valid token", berthDid: 'refused with 403 before the token is looked at: the address is on one of the engine\'s networks; pushes from loopback and the host address work', served: watched.served, lost: watched.failures.length });
  });

  test('every container has a pids limit, no-new-privileges and no NET_RAW; a process that spawns without end stops at the limit, and berth and the other apps go on', async () => {
    await deployApp(BOMB, { Procfile: 'web: node /app/server.js\nspawner: node /app/spawner.js\n', 'spawner.js': SPAWNER });
    const watched = await whileServing({ httpPort: berth.httpPort, host: host(NORTH) }, async () => {
      const scaled = await berthCli(berth, ['ps:scale', BOMB, 'spawner=1']);
      assert.equal(scaled.code, 0, scaled.stderr + scaled.stdout);
      const spawner = (await info(BOMB)).containers.find((c) => c.process === 'spawner')!;
      let stopped = '';
      for (let i = 0; i < 100 && !stopped; i++) {
        stopped = (await run('docker', ['logs', spawner.name])).stdout.trim();
        if (!stopped) await new Promise((r) => setTimeout(r, 200));
      }
      const started = Date.now();
      assert.equal((await berthCli(berth, ['status'])).code, 0);
      return { stopped, spawner: spawner.name, statusMs: Date.now() - started };
    });
    const { stopped, spawner, statusMs } = watched.result;
    const count = Number(/stopped after (\d+) processes: EAGAIN/.exec(stopped)?.[1]);
    assert.ok(count > 100 && count < DEFAULT_PIDS_LIMIT, stopped);
    assert.ok(statusMs < 5000, `berth status took ${statusMs} ms while the spawner held its processes`);
    assert.deepEqual(watched.failures, [], 'requests to another app failed meanwhile');
    for (const name of [spawner, (await webContainer(NORTH)).name]) {
      const { HostConfig } = await inspect(name);
      assert.equal(HostConfig.PidsLimit, DEFAULT_PIDS_LIMIT, name);
      assert.deepEqual(HostConfig.SecurityOpt, ['no-new-privileges'], name);
      assert.deepEqual(HostConfig.CapDrop, ['NET_RAW'], name);
    }
    const status = await exec((await webContainer(NORTH)).name, 'cat', '/proc/1/status');
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.equal(BigInt(`0x${/^CapBnd:\s+(\w+)$/m.exec(status)![1]}`) & CAP_NET_RAW, 0n, 'NET_RAW is not in the bounding set');
    await recordReliability({ area: 'Bounds', fault: 'a process type spawns processes without end (fork bomb-like)', berthDid: `stopped by the default pids limit (${DEFAULT_PIDS_LIMIT}) after ${count} processes (EAGAIN); berth status answered in ${statusMs} ms meanwhile`, served: watched.served, lost: watched.failures.length });
    assert.equal((await berthCli(berth, ['apps:destroy', BOMB, '--force'])).code, 0);
    await assert.rejects(docker.getNetwork(appNetworkName(berth.instance, BOMB)).inspect(), 'apps:destroy removes the app network');
  });

  test('bad limits are usage errors that change nothing', async () => {
    const before = { release: (await info(NORTH)).release, report: await berthJson<ResourceReport>(berth, ['resource:report', NORTH]) };
    const refusals: Array<[string[], RegExp]> = [
      [['--memory', '12 parsecs'], /memory "12 parsecs" is not a size/],
      [['--memory', '512'], /512 alone would be bytes; for megabytes write 512m/],
      [['--cpus', '0'], /cpus must be at least 0.01/],
      [['--cpus', '64'], /cpus 64 is more than the \d+ CPU\(s\) of this host/],
      [['--pids', '-1'], /pids "-1" must be a whole number from 1/],
      [['--process', 'Web!', '--pids', '64'], /"Web!" is not a process type/],
      [[], /give at least one limit/],
    ];
    const watched = await whileServing({ httpPort: berth.httpPort, host: host(NORTH) }, async () => {
      for (const [flags, message] of refusals) {
        const refused = await berthCli(berth, ['resource:limit', NORTH, ...flags]);
        assert.equal(refused.code, 2, `${flags.join(' ')}: ${refused.stderr}`);
        assert.match(refused.stderr, message);
      }
      const api = await berth.fetch(`/api/apps/${NORTH}/resources`, { method: 'POST', headers: { authorization: berth.authorization, 'content-type': 'application/json' }, body: JSON.stringify({ limits: { memory: 512 } }) });
      assert.equal(api.status, 400);
      assert.match(((await api.json()) as { error: string }).error, /memory must be at least 6m/);
    });
    assert.deepEqual({ release: (await info(NORTH)).release, report: await berthJson<ResourceReport>(berth, ['resource:report', NORTH]) }, before);
    assert.deepEqual(watched.failures, []);
    await recordReliability({ area: 'Hostile and broken input', fault: 'resource:limit with --memory "12 parsecs", 512 (no unit), --cpus 0 or more than the host has, --pids -1, a bad process type, no limit; the API with 512 bytes', berthDid: 'usage error (exit 2, API 400) naming the rule; nothing stored, no release', served: watched.served, lost: watched.failures.length });
  });

  test('resource:limit applies memory, CPUs and pids as a new release through the checks, losing no request; resource:clear takes them away', async () => {
    const releaseBefore = (await info(NORTH)).release!;
    const watched = await whileServing({ httpPort: berth.httpPort, host: host(NORTH) }, () => berthCli(berth, ['resource:limit', NORTH, '--memory', '256m', '--cpus', '1', '--pids', '256']));
    assert.equal(watched.result.code, 0, watched.result.stderr + watched.result.stdout);
    assert.match(watched.result.stdout, /Checking north \(release \d+\)/);
    assert.match(watched.result.stdout, /Limited north to memory=256m cpus=1 pids=256; release \d+ runs with it/);
    assert.deepEqual(watched.failures, []);
    const limited = await webContainer(NORTH);
    assert.equal(limited.release, releaseBefore + 1);
    const { HostConfig } = await inspect(limited.name);
    assert.deepEqual([HostConfig.Memory, HostConfig.NanoCpus, HostConfig.PidsLimit], [256 * MiB, 1e9, 256]);
    await recordReliability({ area: 'Bounds', fault: 'resource:limit --memory 256m --cpus 1 --pids 256 while the app serves', berthDid: 'a new release with the limits (HostConfig.Memory, NanoCpus, PidsLimit), through the checks and the switch', served: watched.served, lost: watched.failures.length });

    assert.equal((await berthCli(berth, ['resource:limit', NORTH, '--process', 'web', '--memory', '128m'])).code, 0);
    const report = await berthJson<ResourceReport>(berth, ['resource:report', NORTH]);
    assert.deepEqual(report.limits, { app: { memory: 256 * MiB, cpus: 1, pids: 256 }, processes: { web: { memory: 128 * MiB } } });
    assert.deepEqual(report.containers.web, { memory: 128 * MiB, cpus: 1, pids: 256 });
    assert.match((await berthCli(berth, ['resource:report', NORTH])).stdout, /web\s+128m\s+1\s+256/);
    assert.equal((await berthCli(berth, ['resource:clear', NORTH])).code, 0);
    assert.deepEqual([(await inspect((await webContainer(NORTH)).name)).HostConfig.Memory, (await inspect((await webContainer(NORTH)).name)).HostConfig.PidsLimit], [128 * MiB, DEFAULT_PIDS_LIMIT]);
    const cleared = await berthCli(berth, ['resource:clear', NORTH, '--process', 'web']);
    assert.equal(cleared.code, 0, cleared.stderr);
    const unlimited = (await inspect((await webContainer(NORTH)).name)).HostConfig;
    assert.deepEqual([unlimited.Memory, unlimited.NanoCpus, unlimited.PidsLimit], [0, 0, DEFAULT_PIDS_LIMIT]);
    assert.equal((await berthCli(berth, ['resource:clear', NORTH, '--process', 'web'])).code, 4, 'nothing left to clear');
  });

  test('the data dir is berth\'s alone after deploys and a config:set, but for the folders nginx\'s workers pass through', async () => {
    assert.equal((await berthCli(berth, ['config:set', NORTH, 'SECRET=hunter2'])).code, 0);
    assert.deepEqual(await openToOthers(berth.dataDir), []);
    assert.equal((await fs.stat(path.join(berth.dataDir, 'apps', NORTH, 'app.json'))).mode & 0o777, 0o600);
    assert.equal((await fs.stat(path.join(berth.dataDir, 'repos', `${NORTH}.git`, 'config'))).mode & 0o077, 0);
  });

  test('a data dir an older berth left open is tightened at start, while nginx serves on', async () => {
    await berth.stopServer();
    await run('chmod', ['-R', 'go+rX', path.join(berth.dataDir, 'apps'), path.join(berth.dataDir, 'repos'), path.join(berth.dataDir, 'nginx')]);
    assert.notDeepEqual(await openToOthers(berth.dataDir), []);
    const watched = await whileServing({ httpPort: berth.httpPort, host: host(NORTH) }, async () => {
      berth = await startBerth({ dataDir: berth.dataDir, instance: berth.instance, httpPort: berth.httpPort, httpsPort: berth.httpsPort, gitPort: berth.gitPort, args: ['--listen', '0.0.0.0'] });
    });
    assert.deepEqual(watched.failures, []);
    assert.match(berth.output(), /made \d+ file\(s\) and folder\(s\) in .* readable by berth's user only/);
    assert.deepEqual(await openToOthers(berth.dataDir), []);
    // A body this large goes through the edge's temp files, which its workers reach through the passages.
    const body = 'x'.repeat(256 * 1024);
    const posted = await request(`http://127.0.0.1:${berth.httpPort}/`, { method: 'POST', headers: { host: host(NORTH) }, body });
    assert.equal(await posted.body.text(), `${NORTH} got ${body.length} bytes`);
    await recordReliability({ area: 'Isolation', fault: 'a data dir left readable by every local user (secrets in apps/*/app.json, deploy logs, repositories)', berthDid: 'at start: every folder 0700 and file 0600 (owner bits kept), the folders nginx\'s workers pass through 0711; made with umask 077 from then on', served: watched.served, lost: watched.failures.length });
  });

  test('after an upgrade in place, a container on the old shared network keeps serving and moves to its app network at its next release', async () => {
    const south = await webContainer(SOUTH);
    const shared = await docker.createNetwork({ Name: sharedNetworkName(berth.instance), Driver: 'bridge', Labels: { 'berth.instance': berth.instance } });
    await shared.connect({ Container: south.name });
    await docker.getNetwork(appNetworkName(berth.instance, SOUTH)).disconnect({ Container: south.name });
    const onShared = (await inspect(south.name)).NetworkSettings.Networks[sharedNetworkName(berth.instance)].IPAddress;
    const recordedAddress = async () => (JSON.parse(await fs.readFile(path.join(berth.dataDir, 'apps', SOUTH, 'app.json'), 'utf8')) as { live: { containers: { ip: string }[] } }).live.containers[0].ip;
    await waitFor(async () => (await recordedAddress()) === onShared && (await getThroughNginx(berth.httpPort, host(SOUTH))).status === 200);
    const restarted = await whileServing({ httpPort: berth.httpPort, host: host(SOUTH) }, restart);
    assert.deepEqual(restarted.failures, [], 'a berth started with a container on the old network');
    assert.ok(await shared.inspect(), 'the shared network stays while a container is on it');
    const moved = await whileServing({ httpPort: berth.httpPort, host: host(SOUTH) }, () => berthCli(berth, ['ps:restart', SOUTH]));
    assert.equal(moved.result.code, 0, moved.result.stderr);
    assert.deepEqual(moved.failures, []);
    assert.deepEqual(Object.keys((await inspect((await webContainer(SOUTH)).name)).NetworkSettings.Networks), [appNetworkName(berth.instance, SOUTH)]);
    await restart();
    await assert.rejects(shared.inspect(), 'the shared network goes at the first start after nothing is on it');
    await recordReliability({ area: 'Isolation', fault: 'berth upgraded in place: the live container is on the old shared network', berthDid: 'served from its address on the shared network across berth\'s start, moved to the app\'s own network at the next release; the shared network removed once empty', served: restarted.served + moved.served, lost: restarted.failures.length + moved.failures.length });
  });
});

/** Every entry under dataDir that group or others can use, except nginx's passages (exactly 0711) and its admin socket (in a 0700 folder). */
async function openToOthers(dataDir: string): Promise<string[]> {
  const passages = new Set(['', 'nginx', 'nginx/edge', 'nginx/edge/tmp']);
  const open: string[] = [];
  const visit = async (relative: string) => {
    const stat = await fs.lstat(path.join(dataDir, relative));
    if (stat.isSymbolicLink() || stat.isSocket()) return;
    const mode = stat.mode & 0o777;
    if (passages.has(relative) ? mode !== 0o711 : (mode & 0o077) !== 0) open.push(`${relative || '.'} ${mode.toString(8)}`);
    if (stat.isDirectory()) for (const name of await fs.readdir(path.join(dataDir, relative))) await visit(path.join(relative, name));
  };
  await visit('');
  return open;
}

async function waitFor(done: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
