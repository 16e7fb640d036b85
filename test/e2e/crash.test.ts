import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { AppRepo, remoteHead } from '../support/app.js';
import { berthCli } from '../support/cli.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { ensureTestBaseImage, TEST_BASE_IMAGE } from '../support/docker.js';
import { engineCommandLine, restartEngine } from '../support/engine.js';
import { getThroughNginx } from '../support/http.js';
import { recordReliability, whileServing } from '../support/reliability.js';
import type { ReleaseRecord } from '../../src/store/store.js';
import { childPids, hasExited, isAlive } from '../../src/host/processes.js';
import { appNetworkName } from '../../src/model/naming.js';

const docker = new Docker();
const APP = 'sturdy';
const HOST = `${APP}.localhost`;
const AREA = 'berth killed (SIGKILL) mid-deploy';
const SAMPLE_DOCKERFILE = 'FROM berth-test/node:20\nCOPY . /app\nCMD ["node", "/app/server.js"]\n';
const RECOVERY_MS = 15_000;
/** --drain-timeout as startBerth sets it: nginx's worker_shutdown_timeout too. */
const DRAIN_SECONDS = 10;

/** A pre-deploy hook that holds the start stage once when a marker file exists, so a test can kill berth inside it. */
async function writeHoldingPlugin(dir: string, marker: string): Promise<void> {
  const plugin = path.join(dir, 'hold');
  await fs.mkdir(plugin, { recursive: true });
  await fs.writeFile(path.join(plugin, 'pre-deploy'), `#!/bin/sh\nif [ -e '${marker}' ]; then rm '${marker}'; echo "holding the start stage"; sleep 8; fi\n`, { mode: 0o755 });
}

/** git in the app's repository on the server, as berth keeps it. */
async function git(berth: BerthInstance, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('git', args, { env: { ...process.env, GIT_DIR: path.join(berth.dataDir, 'repos', `${APP}.git`) } });
  return stdout.trim();
}

/** The live master in the edge's pid file, if any. */
async function nginxMaster(pidFile: string): Promise<number | undefined> {
  const pid = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim());
  return pid && isAlive(pid) && !(await hasExited(pid)) ? pid : undefined;
}

async function appContainers(instance: string): Promise<{ release: string; state: string }[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`berth.instance=${instance}`, `berth.app=${APP}`] } });
  return list.map((c) => ({ release: c.Labels['berth.release'], state: c.State }));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = RECOVERY_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('crash safety: berth and nginx can die at any moment and nothing is lost', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  let pluginsDir: string;
  let holdMarker: string;
  let version = 1;

  const readRelease = async (id: number): Promise<ReleaseRecord> => JSON.parse(await fs.readFile(path.join(berth.dataDir, 'apps', APP, 'releases', `${id}.json`), 'utf8')) as ReleaseRecord;
  const liveRecord = async (): Promise<{ release: number; containers: { id: string; ip: string }[] }> => (JSON.parse(await fs.readFile(path.join(berth.dataDir, 'apps', APP, 'app.json'), 'utf8')) as { live: { release: number; containers: { id: string; ip: string }[] } }).live;
  const liveRelease = async (): Promise<number> => (await liveRecord()).release;
  const appsNetwork = () => appNetworkName(berth.instance, APP);
  const addressOf = async (id: string): Promise<string> => (await docker.getContainer(id).inspect()).NetworkSettings.Networks[appsNetwork()]?.IPAddress ?? '';
  const args = () => ['--plugins-dir', pluginsDir];

  /** A new berth on the same data dir, ports and Docker labels, as after a reboot or a crash. */
  async function restartBerth(): Promise<void> {
    berth = await startBerth({ dataDir: berth.dataDir, instance: berth.instance, httpPort: berth.httpPort, httpsPort: berth.httpsPort, gitPort: berth.gitPort, args: args() });
  }

  async function pushNormally(): Promise<number> {
    await repo.commit({ 'version.txt': `v${++version}\n`, Dockerfile: SAMPLE_DOCKERFILE, CHECKS: '/health ok\n' }, `v${version}`);
    const push = await repo.push(berth.remote(APP));
    assert.equal(push.code, 0, push.output);
    return liveRelease();
  }

  /** Only the live release has containers, and nginx serves it. */
  async function assertReconciled(): Promise<number> {
    const live = await liveRelease();
    const containers = await appContainers(berth.instance);
    assert.deepEqual(containers.map((c) => c.release), [String(live)], JSON.stringify(containers));
    const release = await readRelease(live);
    assert.equal(release.status, 'live');
    const answer = await getThroughNginx(berth.httpPort, HOST);
    assert.equal(answer.status, 200);
    const recorded = await liveRecord();
    for (const container of recorded.containers) assert.equal(container.ip, await addressOf(container.id), 'berth records where the live container is now');
    return live;
  }

  /** Runs `fault` under load and measures how long the app did not answer. */
  async function outage(fault: () => Promise<void>): Promise<{ served: number; lost: number; failures: string[]; outageMs: number }> {
    let outageMs = 0;
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, async () => {
      await new Promise((r) => setTimeout(r, 300));
      const startedAt = Date.now();
      await fault();
      await waitFor('the app to answer again', async () => ((await getThroughNginx(berth.httpPort, HOST)).status === 200 ? true : undefined), 60_000);
      outageMs = Date.now() - startedAt;
      await new Promise((r) => setTimeout(r, 300));
    });
    return { served: watched.served, lost: watched.failures.length, failures: watched.failures, outageMs };
  }

  /**
   * Pushes `files` and SIGKILLs berth as soon as the push prints `killAt`, then starts berth again,
   * all while clients keep requesting the app; then pushes again, which must deploy. Returns the
   * interrupted release's number.
   */
  async function killDuring(stage: string, files: Record<string, string>, killAt: RegExp): Promise<{ release: number; output: string }> {
    const liveBefore = await liveRelease();
    await repo.commit({ 'version.txt': `v${++version}\n`, ...files }, `v${version} (berth killed during ${stage})`);
    let killed = false;
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, async () => {
      const push = await repo.push(berth.remote(APP), 'main', (output) => {
        if (!killed && killAt.test(output)) {
          killed = true;
          process.kill(berth.pid, 'SIGKILL');
        }
      });
      assert.ok(killed, `the push never printed ${killAt}:\n${push.output}`);
      assert.notEqual(push.code, 0, `a push whose berth was killed must be rejected:\n${push.output}`);
      await restartBerth();
      return push;
    });
    const release = liveBefore + 1;
    const outcome = await readRelease(release);
    const live = await assertReconciled();
    const recovered = outcome.status === 'live' ? `release ${release} was already live: marked so, and the old release's container drained and removed` : `release ${release} marked failed (${outcome.failure?.stage}), its containers removed, nginx kept on release ${live}`;
    await pushNormally();
    await assertReconciled();
    await recordReliability({
      area: AREA,
      fault: `during the ${stage} stage`,
      berthDid: `push rejected; on restart ${recovered}; the next push deployed`,
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, [], `requests failed while berth was killed during ${stage}`);
    return { release, output: watched.result.output };
  }

  before(async () => {
    await ensureTestBaseImage();
    pluginsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-plugins-'));
    holdMarker = path.join(pluginsDir, 'hold-start');
    await writeHoldingPlugin(pluginsDir, holdMarker);
    berth = await startBerth({ args: ['--plugins-dir', pluginsDir] });
    repo = await AppRepo.create({ 'version.txt': 'v1\n' });
    const first = await repo.push(berth.remote(APP));
    assert.equal(first.code, 0, first.output);
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
    if (pluginsDir) await fs.rm(pluginsDir, { recursive: true, force: true });
  });

  test('killed while building: the build is abandoned and marked failed; the next push deploys', async () => {
    const { release } = await killDuring('build', { Dockerfile: 'FROM berth-test/node:20\nCOPY . /app\nRUN sleep 20\nCMD ["node", "/app/server.js"]\n' }, /RUN sleep 20/);
    assert.deepEqual((await readRelease(release)).failure?.stage, 'build');
  });

  test('killed while starting containers: the new container is removed; the next push deploys', async () => {
    await fs.writeFile(holdMarker, '');
    const { release } = await killDuring('start', {}, /holding the start stage/);
    assert.equal((await readRelease(release)).failure?.stage, 'start');
  });

  test('killed while checking: the unchecked container never goes live and is removed', async () => {
    const { release } = await killDuring('check', { CHECKS: 'WAIT=8\n/health ok\n' }, /Checking sturdy/);
    assert.equal((await readRelease(release)).failure?.stage, 'check');
  });

  test('killed while switching: nginx ends up on whichever release berth recorded live', async () => {
    const { release } = await killDuring('switch', { CHECKS: '/health ok\n' }, /Switching sturdy/);
    const outcome = await readRelease(release);
    assert.ok(outcome.status === 'live' || outcome.failure?.stage === 'switch', JSON.stringify(outcome));
  });

  test('killed while draining the old release: its open request still completes, then it is retired', async () => {
    const previous = await liveRelease();
    const previousVersion = `v${version}`;
    const slow = getThroughNginx(berth.httpPort, HOST, '/slow?ms=6000');
    await new Promise((r) => setTimeout(r, 300));
    const { release } = await killDuring('retire', { CHECKS: '/health ok\n' }, /Draining/);
    const answer = await slow;
    assert.equal(answer.status, 200);
    assert.equal(answer.body, `slow ${previousVersion}`, 'the slow request was served by the previous release');
    assert.ok((await readRelease(release)).liveAt, 'the release whose retirement was cut short went live');
    assert.equal((await readRelease(previous)).status, 'retired');
  });

  test('killed right after the switch: git rejects the push, yet the live release keeps its commit, so ps:restart and config:set still read its Procfile and CHECKS', async () => {
    const release = (await liveRelease()) + 1;
    const branchBefore = await remoteHead(berth.remote(APP));
    const commit = await repo.commit({ 'version.txt': `v${++version}\n`, Procfile: 'web: FROM_PROCFILE=yes node /app/server.js\n', CHECKS: '/health ok\n/ Hello\n' }, `v${version} (berth killed after the switch)`);
    let killed = false;
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, async () => {
      const push = await repo.push(berth.remote(APP), 'main', (output) => {
        if (!killed && new RegExp(`now sends every new request to release ${release}`).test(output)) {
          killed = true;
          process.kill(berth.pid, 'SIGKILL');
        }
      });
      assert.ok(killed, push.output);
      assert.notEqual(push.code, 0, `git rejects a push whose hook did not finish:\n${push.output}`);
      await restartBerth();
      const restart = await berthCli(berth, ['ps:restart', APP]);
      const config = await berthCli(berth, ['config:set', APP, 'AFTER_CRASH=1']);
      return { restart, config };
    });
    assert.equal(await remoteHead(berth.remote(APP)), branchBefore, 'git did not move the branch');
    for (const [what, result] of Object.entries(watched.result)) {
      assert.equal(result.code, 0, `${what}: ${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /CHECKS: 2 check\(s\)/, `${what} read the CHECKS of the live commit`);
    }
    assert.equal((await getThroughNginx(berth.httpPort, HOST, '/env/FROM_PROCFILE')).body, 'yes', 'the web process runs the Procfile\'s command');
    assert.equal((await getThroughNginx(berth.httpPort, HOST, '/env/AFTER_CRASH')).body, '1');
    assert.equal(await git(berth, ['rev-parse', `refs/berth/releases/${release}`]), commit, 'the release ref holds the commit');
    await recordReliability({
      area: AREA,
      fault: 'right after the switch (git rejects the push and drops its objects)',
      berthDid: `release ${release} stayed live and kept its commit (refs/berth/releases/${release}, taken out of git's quarantine before the switch); ps:restart and config:set after the restart read its Procfile and CHECKS`,
      served: watched.served,
      lost: watched.failures.length,
    });
    assert.deepEqual(watched.failures, []);
    await assertReconciled();
    await pushNormally();
  });

  test('a second berth on the same data dir is refused while the first runs; a dead one\'s pid file is taken over', async () => {
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () =>
      assert.rejects(
        startBerth({ dataDir: berth.dataDir, instance: berth.instance, args: args() }),
        (error: Error) => error.message.includes(`another berth (pid ${berth.pid}) already serves ${berth.dataDir}`),
      ),
    );
    // Every restart in the tests above started on the pid file of a berth killed with SIGKILL.
    assert.equal((await fs.readFile(path.join(berth.dataDir, 'run', 'berth.pid'), 'utf8')).trim(), String(berth.pid));
    await recordReliability({ area: 'Hostile and broken input', fault: 'a second berth started on a data dir a running berth serves', berthDid: 'refused to start, naming the running berth\'s pid; the running one went on', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
  });

  test('the edge nginx killed: berth starts it again, with the routes it had, and the app answers', async () => {
    const pidFile = path.join(berth.dataDir, 'nginx', 'edge', 'run', 'nginx.pid');
    const master = Number((await fs.readFile(pidFile, 'utf8')).trim());
    // nginx's master leads its workers' process group: this kills the whole edge at once.
    const measured = await outage(async () => {
      process.kill(-master, 'SIGKILL');
    });
    const restarted = Number((await fs.readFile(pidFile, 'utf8')).trim());
    assert.notEqual(restarted, master);
    assert.match(berth.output(), /the edge nginx is not running; starting it/);
    await recordReliability({
      area: 'nginx killed (SIGKILL, master and workers)',
      fault: 'the edge nginx',
      berthDid: `started it again (its master loads the route table berth keeps on disk); the app answered again ${(measured.outageMs / 1000).toFixed(1)} s after the kill, and requests failed only in that gap`,
      served: measured.served,
      lost: measured.lost,
      whyLost: "SIGKILL takes the edge's client connections with it (a request on one of them cannot be answered), and until berth's 100 ms watch starts a new edge nothing listens on the port.",
    });
    await assertReconciled();
  });

  test("the edge nginx's master killed alone (SIGKILL, as the OOM killer does): a new master takes over its workers' sockets, they finish their requests and exit", async () => {
    const pidFile = path.join(berth.dataDir, 'nginx', 'edge', 'run', 'nginx.pid');
    const master = Number((await fs.readFile(pidFile, 'utf8')).trim());
    const orphans = await childPids(master);
    const logged = berth.output().length;
    // In flight on the old workers when their master dies: it must still be answered.
    const inFlight = getThroughNginx(berth.httpPort, HOST, '/slow?ms=1500');
    let goneAfterMs = 0;
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, async () => {
      await new Promise((r) => setTimeout(r, 300));
      process.kill(master, 'SIGKILL');
      const killedAt = Date.now();
      await waitFor('a new master', async () => {
        const pid = await nginxMaster(pidFile);
        return pid !== undefined && pid !== master ? pid : undefined;
      });
      await waitFor('the orphaned workers to exit', async () => ((await Promise.all(orphans.map(hasExited))).every(Boolean) ? true : undefined), DRAIN_SECONDS * 1000 + 2000);
      goneAfterMs = Date.now() - killedAt;
      await new Promise((r) => setTimeout(r, 300));
    });
    assert.equal((await inFlight).status, 200, 'the request in flight on an orphaned worker was answered');
    assert.match(berth.output().slice(logged), new RegExp(`the edge nginx's master is gone, but ${orphans.length} of its workers still serve`));
    assert.match(berth.output().slice(logged), new RegExp(`a new edge master \\(pid \\d+\\) serves on their listening sockets with the current configuration`));
    // The new master's workers take berth's changes: a deploy's switch and a new host name.
    await pushNormally();
    assert.equal((await berthCli(berth, ['domains:add', APP, 'www.sturdy.test'])).code, 0);
    assert.equal((await getThroughNginx(berth.httpPort, 'www.sturdy.test')).status, 200);
    assert.equal((await berthCli(berth, ['domains:remove', APP, 'www.sturdy.test'])).code, 0);
    const resets = watched.failures.filter((kind) => kind === 'ECONNRESET' || kind === 'socket hang up');
    await recordReliability({
      area: 'nginx master killed alone (SIGKILL, its workers live on)',
      fault: "the edge nginx's master",
      berthDid: `noticed within its 100 ms watch, started a new master on the orphaned workers' own listening sockets (inherited, so none was ever closed) with the current route table, and told the orphans to finish (SIGQUIT): the request in flight was answered and they were gone ${(goneAfterMs / 1000).toFixed(1)} s after the kill; the next deploy and a new host name went through the new master`,
      served: watched.served,
      lost: watched.failures.length,
      whyLost: 'an old edge worker told to finish closes its idle keep-alive client connections at once, as nginx does on a reload: a client that sends its next request on one at that moment gets a reset.',
    });
    assert.deepEqual(watched.failures, resets, 'no request was refused or answered 502; only the idle keep-alive resets of finishing workers can happen');
    await assertReconciled();
  });

  test('a live container given a new address (disconnected and reconnected): berth re-points nginx to it', async () => {
    const [container] = (await liveRecord()).containers;
    const network = docker.getNetwork(appsNetwork());
    // The engine hands out the lowest free address, so placeholders fill every hole up to and
    // including the container's own; only then must its reconnect give it another.
    const placeholders: Docker.Container[] = [];
    const holdFreedAddresses = async () => {
      for (let tries = 0; tries < 16; tries++) {
        const placeholder = await docker.createContainer({
          Image: TEST_BASE_IMAGE,
          Cmd: ['sleep', '600'],
          Labels: { 'berth.instance': `${berth.instance}-placeholder` },
          HostConfig: { NetworkMode: appsNetwork() },
        });
        placeholders.push(placeholder);
        await placeholder.start();
        if ((await addressOf(placeholder.id)) === container.ip) return;
      }
      throw new Error(`no placeholder got the address ${container.ip} back`);
    };
    const measured = await outage(async () => {
      await network.disconnect({ Container: container.id });
      await holdFreedAddresses();
      await network.connect({ Container: container.id });
      const moved = await addressOf(container.id);
      assert.notEqual(moved, container.ip, 'the engine gave the container a new address');
      await waitFor('berth to record the new address', async () => ((await liveRecord()).containers[0].ip === moved ? true : undefined));
    }).finally(() => Promise.all(placeholders.map((placeholder) => placeholder.remove({ force: true }))));
    assert.match(berth.output(), /new addresses .*; nginx follows/);
    await recordReliability({
      area: 'Docker engine',
      fault: 'live container moved to a new IP (network disconnect + connect)',
      berthDid: `noticed the new address (the engine's connect event) and re-pointed nginx to it; ${(measured.outageMs / 1000).toFixed(1)} s from the disconnect to the app answering at its new address`,
      served: measured.served,
      lost: measured.lost,
      whyLost: 'between the disconnect and the reconnect the container has no address at all, so nothing can serve its requests; the engine hands its old address to another container meanwhile.',
    });
    await assertReconciled();
    await pushNormally();
  });

  // Live-restore is a setting of the engine being stopped: each test first puts the engine in the
  // state it measures (a restart that loses nothing when live-restore is on), and both leave it
  // running with live-restore, as npm start runs it.
  async function engineWithLiveRestore(enabled: boolean): Promise<string[]> {
    const engine = engineCommandLine();
    if ((await docker.info()).LiveRestoreEnabled !== enabled) await restartEngine(engine, enabled);
    await waitFor('the app to answer', async () => ((await getThroughNginx(berth.httpPort, HOST)).status === 200 ? true : undefined), 60_000);
    return engine;
  }

  test('the Docker engine restarted with --live-restore (as npm start runs it): nothing is lost', async () => {
    const engine = await engineWithLiveRestore(true);
    const measured = await outage(() => restartEngine(engine, true));
    await recordReliability({
      area: 'Docker engine',
      fault: 'dockerd restarted (SIGTERM) with --live-restore, as npm start runs it',
      berthDid: 'the containers kept serving; berth waited for the engine to answer again and the next push deployed',
      served: measured.served,
      lost: measured.lost,
    });
    assert.deepEqual(measured.failures, []);
    await assertReconciled();
    await pushNormally();
  });

  test('the Docker engine restarted without --live-restore: the engine restarts the containers and berth follows them', async () => {
    const engine = await engineWithLiveRestore(false);
    const logged = berth.output().length;
    const measured = await outage(() => restartEngine(engine, true));
    const startedByBerth = /which was stopped/.test(berth.output().slice(logged));
    await recordReliability({
      area: 'Docker engine',
      fault: 'dockerd restarted (SIGTERM) without --live-restore',
      berthDid: `the engine stopped the app's container; ${startedByBerth ? 'berth started it again and followed its address' : 'its restart policy started it again and berth followed its address'}; the app answered again ${(measured.outageMs / 1000).toFixed(1)} s after the restart began (berth warns at start when live-restore is off)`,
      served: measured.served,
      lost: measured.lost,
      whyLost: 'without --live-restore the engine stops every container when it stops, so the app is down until the engine is back and the container runs again. npm start runs dockerd with --live-restore (the row above: nothing lost).',
    });
    await assertReconciled();
    await pushNormally();
  });
});
