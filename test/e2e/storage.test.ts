// Persistent storage through the installed berth command, real git pushes, Docker and nginx: a
// managed folder outlives releases (and apps:destroy, unless purged), a host folder is mounted
// read-only for one process type, every change is a release that loses no request, and bad
// mounts are refused without touching what serves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli, berthJson, berthOk } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { recordReliability, whileServing } from '../support/reliability.js';
import type { AppInfo, MountInfo } from '../../src/model/api.js';

const docker = new Docker();
const APP = 'keeper';
const HOST = `${APP}.localhost`;
/** The test base image's nobody: the app runs as a user that is not root, as real images do. */
const NOBODY = 65534;

/** Writes and reads files where it is told, says who it runs as, and answers `/` as CHECKS expects. */
const SERVER = `
const http = require('http');
const fs = require('fs');
const version = fs.readFileSync(__dirname + '/version.txt', 'utf8').trim();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://app');
  const file = url.searchParams.get('file');
  try {
    if (url.pathname === '/health') return res.end('ok');
    if (url.pathname === '/write') return fs.writeFileSync(file, url.searchParams.get('text')), res.end('wrote ' + file);
    if (url.pathname === '/read') return res.end(fs.readFileSync(file, 'utf8'));
    if (url.pathname === '/uid') return res.end(String(process.getuid()));
  } catch (error) {
    return res.writeHead(500).end(error.code);
  }
  res.end('Hello from ' + version + '\\n');
});
server.listen(Number(process.env.PORT || 5000), '0.0.0.0');
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;
const FILES = {
  'server.js': SERVER,
  Dockerfile: 'FROM berth-test/node:20\nCOPY . /app\nUSER nobody\nCMD ["node", "/app/server.js"]\n',
  Procfile: 'web: node /app/server.js\nworker: node /app/worker.js\n',
};

describe('persistent storage', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  let hostDir: string;
  let version = 1;
  const info = async () => (await berthJson<{ app: AppInfo }>(berth, ['apps:info', APP])).app;
  const containerOf = async (process: string) => (await info()).containers.find((c) => c.process === process && c.state === 'running')!.name;
  const mountsOf = async (process: string) => (await docker.getContainer(await containerOf(process)).inspect()).Mounts.map((m) => `${m.Source}:${m.Destination}:${m.RW ? 'rw' : 'ro'}`).sort();
  const ask = async (urlPath: string) => getThroughNginx(berth.httpPort, HOST, urlPath);
  const managedDir = () => path.join(berth.dataDir, 'storage', APP, 'data');
  const storageList = async () => (await berthJson<{ mounts: MountInfo[] }>(berth, ['storage:list', APP])).mounts;

  async function pushVersion(): Promise<void> {
    version += 1;
    await repo.commit({ 'version.txt': `v${version}\n` }, `v${version}`);
    const pushed = await repo.push(berth.remote(APP));
    assert.equal(pushed.code, 0, pushed.output);
  }

  const cli = (args: string[]) => berthOk(berth, args);

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
    hostDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-host-storage-'));
    // The operator's folder: berth never changes its owner, so it is made readable for nobody here.
    await fs.chmod(hostDir, 0o755);
    await fs.writeFile(path.join(hostDir, 'greeting'), 'from the host', { mode: 0o644 });
    repo = await AppRepo.create({ ...FILES, 'version.txt': 'v1\n' });
    const pushed = await repo.push(berth.remote(APP));
    assert.equal(pushed.code, 0, pushed.output);
    await cli(['ps:scale', APP, 'worker=1']);
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
    if (hostDir) await fs.rm(hostDir, { recursive: true, force: true });
  });

  test('a file written by release N into a managed mount is read by release N+1; the mount itself loses no request', async () => {
    const releaseBefore = (await info()).release!;
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () => berthCli(berth, ['storage:mount', APP, 'data:/data']));
    assert.equal(watched.result.code, 0, watched.result.stderr + watched.result.stdout);
    assert.match(watched.result.stdout, /Checking keeper \(release \d+\)/);
    assert.match(watched.result.stdout, new RegExp(`Mounted data:/data in keeper; release ${releaseBefore + 1} runs with it`));
    assert.deepEqual(watched.failures, []);
    await recordReliability({ area: 'Storage', fault: 'storage:mount APP data:/data while the app serves (the image runs as nobody)', berthDid: 'a new release whose web and worker containers mount DATA_DIR/storage/APP/data, made on first use and handed to the image\'s user (uid 65534, 0700), through the checks and the switch', served: watched.served, lost: watched.failures.length });

    assert.equal((await ask('/uid')).body, String(NOBODY));
    const stat = await fs.stat(managedDir());
    assert.deepEqual([stat.uid, stat.mode & 0o777], [NOBODY, 0o700]);
    for (const type of ['web', 'worker']) assert.deepEqual(await mountsOf(type), [`${managedDir()}:/data:rw`], type);
    assert.equal((await ask('/write?file=/data/note&text=kept%20across%20releases')).body, 'wrote /data/note');
    const written = (await info()).release!;

    await pushVersion();
    assert.equal((await info()).release, written + 1);
    assert.match((await ask('/')).body, new RegExp(`Hello from v${version}`));
    assert.equal((await ask('/read?file=/data/note')).body, 'kept across releases');
    assert.equal(await fs.readFile(path.join(managedDir(), 'note'), 'utf8'), 'kept across releases');
    // One-off containers (berth run, release tasks, cron) mount the app's storage too.
    const ran = await berthCli(berth, ['run', APP, '--', 'cat /data/note && echo " read by a one-off as $(id -u)" && echo from-run > /data/run-note']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, new RegExp(`kept across releases read by a one-off as ${NOBODY}`));
    assert.equal((await ask('/read?file=/data/run-note')).body, 'from-run\n');
  });

  test('a host directory mounted read-only for the web process only', async () => {
    const out = await cli(['storage:mount', APP, `${hostDir}:/host:ro`, '--process', 'web']);
    assert.match(out, new RegExp(`Mounted ${hostDir}:/host \\(web, read-only\\) in keeper; release \\d+ runs with it`));
    assert.equal((await ask('/read?file=/host/greeting')).body, 'from the host');
    assert.deepEqual(await ask('/write?file=/host/greeting&text=overwritten').then((a) => [a.status, a.body]), [500, 'EROFS']);
    assert.deepEqual(await mountsOf('web'), [`${managedDir()}:/data:rw`, `${hostDir}:/host:ro`].sort());
    assert.deepEqual(await mountsOf('worker'), [`${managedDir()}:/data:rw`], 'the worker does not mount what is limited to web');
    assert.deepEqual(await storageList(), [
      { source: 'data', containerPath: '/data', readOnly: false, process: null, hostPath: managedDir(), managed: true },
      { source: hostDir, containerPath: '/host', readOnly: true, process: 'web', hostPath: hostDir, managed: false },
    ]);
    const listed = await cli(['storage:list', APP]);
    assert.match(listed, /^SOURCE\s+CONTAINER PATH\s+MODE\s+PROCESS\s+ON THE HOST$/m);
    assert.match(listed, new RegExp(`^data\\s+/data\\s+rw\\s+\\(every\\)\\s+${managedDir()} \\(berth keeps it\\)$`, 'm'));
    assert.match(listed, new RegExp(`^${hostDir}\\s+/host\\s+ro\\s+web\\s+${hostDir}$`, 'm'));
  });

  test('bad mounts are refused naming what to fix, and nothing that serves changes', async () => {
    const link = path.join(hostDir, 'innocent-looking');
    await fs.symlink(berth.dataDir, link);
    const state = async () => ({ release: (await info()).release, containers: (await info()).containers.map((c) => c.name), mounts: await storageList() });
    const before = await state();
    const refusals: Array<[string[], number, RegExp]> = [
      [['storage:mount', APP, 'data'], 2, /"data" is not a mount/],
      [['storage:mount', APP, 'relative/dir:/x'], 2, /"relative\/dir" is not a storage name/],
      [['storage:mount', APP, 'Bad_Name!:/x'], 2, /is not a storage name \(lower-case letters/],
      [['storage:mount', APP, '/srv/../etc:/x'], 2, /has a "\." or "\.\." part/],
      [['storage:mount', APP, '/:/x'], 2, /host path "\/" would give the container the whole host/],
      [['storage:mount', APP, '/proc:/x'], 2, /inside \/proc/],
      [['storage:mount', APP, '/sys/kernel:/x'], 2, /inside \/sys/],
      [['storage:mount', APP, '/dev:/x'], 2, /inside \/dev/],
      [['storage:mount', APP, '/var/run/docker.sock:/var/run/docker.sock'], 2, /is inside \/var\/run\/docker\.sock, which is berth's or the engine's own/],
      [['storage:mount', APP, 'data:relative'], 2, /container path "relative" is not an absolute path/],
      [['storage:mount', APP, 'data:/'], 2, /container path "\/" would hide the whole image/],
      [['storage:mount', APP, 'data:/x', '--process', 'Web!'], 2, /"Web!" is not a process type/],
      [['storage:mount', APP, `${berth.dataDir}:/x`], 2, /is inside .*, which is berth's or the engine's own/],
      [['storage:mount', APP, `${path.dirname(berth.dataDir)}:/x`], 2, /holds .*, which is berth's or the engine's own/],
      [['storage:mount', APP, `${link}:/x`], 2, /leads to .*: host path .* is inside/],
      [['storage:mount', APP, '/nonexistent/typo:/x'], 2, /host path "\/nonexistent\/typo" does not exist on the berth server/],
      [['storage:mount', APP, 'other:/data'], 1, /\/data is already mounted in keeper: data:\/data/],
      [['storage:unmount', APP, 'nothing'], 4, /keeper has no mount nothing: its mounts are data:\/data, /],
    ];
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, async () => {
      for (const [args, code, message] of refusals) {
        const refused = await berthCli(berth, args);
        assert.equal(refused.code, code, `${args.join(' ')}: ${refused.stderr}`);
        assert.match(refused.stderr, message, args.join(' '));
      }
      const api = await berth.fetch(`/api/apps/${APP}/storage`, { method: 'POST', headers: { authorization: berth.authorization, 'content-type': 'application/json' }, body: JSON.stringify({ source: '/etc/../var/lib', containerPath: '/x' }) });
      assert.equal(api.status, 400);
      assert.match(((await api.json()) as { error: string }).error, /has a "\." or "\.\." part/);
    });
    assert.deepEqual(await state(), before);
    assert.deepEqual(watched.failures, []);
    await recordReliability({ area: 'Hostile and broken input', fault: 'storage:mount of a relative path, a path with .., /, /proc, /sys, /dev, the docker socket, the data dir, a folder above it, a link into it, a missing host path, a bad NAME or process type, a container path that is relative or /, a container path already mounted; storage:unmount of an unknown name; the API with a .. path', berthDid: 'refused (exit 2, API 400; a taken container path exit 1, an unknown mount exit 4) naming the rule and what to do; nothing stored, no release', served: watched.served, lost: watched.failures.length });
    await fs.rm(link);
  });

  test('storage:unmount is a release without the mount; the files stay where they were', async () => {
    assert.match(await cli(['storage:unmount', APP, hostDir]), new RegExp(`Unmounted ${hostDir}:/host \\(web, read-only\\) from keeper \\(the files stay\\); release \\d+ runs with it`));
    assert.deepEqual(await mountsOf('web'), [`${managedDir()}:/data:rw`]);
    assert.equal((await ask('/read?file=/host/greeting')).status, 500);
    await cli(['storage:unmount', APP, 'data:/data']);
    assert.deepEqual([await mountsOf('web'), await mountsOf('worker')], [[], []]);
    assert.deepEqual(await storageList(), []);
    assert.match(await cli(['storage:list', APP]), /keeper mounts no storage/);
    assert.equal(await fs.readFile(path.join(managedDir(), 'note'), 'utf8'), 'kept across releases');
    assert.equal(await fs.readFile(path.join(hostDir, 'greeting'), 'utf8'), 'from the host');
  });

  test('apps:destroy keeps the managed storage, and an app of the same name finds it again; --purge-storage removes it, never a host path', async () => {
    await cli(['storage:mount', APP, `${hostDir}:/host`]);
    const kept = await cli(['apps:destroy', APP, '--force']);
    assert.match(kept, new RegExp(`kept its storage in ${path.dirname(managedDir())} \\(an app named keeper that mounts the same NAME finds it again`));
    assert.equal(await fs.readFile(path.join(managedDir(), 'note'), 'utf8'), 'kept across releases');

    const pushed = await repo.push(berth.remote(APP));
    assert.equal(pushed.code, 0, pushed.output);
    await cli(['storage:mount', APP, 'data:/data']);
    assert.equal((await ask('/read?file=/data/note')).body, 'kept across releases');
    await cli(['storage:mount', APP, `${hostDir}:/host`]);

    const purged = await cli(['apps:destroy', APP, '--force', '--purge-storage']);
    assert.match(purged, new RegExp(`removed its storage ${path.dirname(managedDir())}`));
    await assert.rejects(fs.stat(path.dirname(managedDir())), 'the managed storage is gone');
    assert.equal(await fs.readFile(path.join(hostDir, 'greeting'), 'utf8'), 'from the host', 'a host path is the operator\'s: never removed');
  });
});
