// Storage mounts: the rules for names and paths (shared by the CLI and the server), which mounts a
// process type gets, the image user a managed folder is handed to, and storage:mount/unmount as
// releases through the pipeline (a fake engine and nginx; the store, the lock and the files real).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppService } from '../../src/apps/service.js';
import { parseMount, parseUnmount } from '../../src/cli/argument-values.js';
import { CronScheduler } from '../../src/deploy/cron.js';
import { AppLocks } from '../../src/deploy/lock.js';
import { ConflictError, InputError, NotFoundError } from '../../src/errors.js';
import { DeployOutput } from '../../src/log/output.js';
import { checkHostPath, mountsFor, parseMountSpec, withMount, withoutMounts, type StorageMount } from '../../src/model/storage.js';
import type { DataPlane } from '../../src/proxy/data-plane.js';
import { resolveUser } from '../../src/runtime/storage.js';
import type { ContainerSpec } from '../../src/runtime/runtime.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { ServeOptions } from '../../src/server/options.js';
import { certsHarness } from '../support/certs-harness.js';
import { APP, deployLive, harness, type Harness } from '../support/deploy-harness.js';
import { assertUsageError } from '../support/usage-error.js';

const mount = (source: string, containerPath: string, process: string | null = null, readOnly = false): StorageMount => ({ source, containerPath, readOnly, process });

test('a mount is NAME or an absolute host path, a container path and :ro or :rw', () => {
  assert.deepEqual(parseMountSpec('data:/data'), mount('data', '/data'));
  assert.deepEqual(parseMountSpec('/srv/uploads:/app/uploads:ro', 'web'), mount('/srv/uploads', '/app/uploads', 'web', true));
  assert.deepEqual(parseMountSpec('cache_2:/var/cache/app:rw'), mount('cache_2', '/var/cache/app'));
});

test('bad mounts are refused naming what to fix', () => {
  const refused: Array<[string, RegExp]> = [
    ['data', /"data" is not a mount/],
    ['data:/data:rx', /is not a mount/],
    ['data:/a:ro:x', /is not a mount/],
    ['Data:/data', /"Data" is not a storage name/],
    ['-x:/data', /is not a storage name/],
    ['data:relative', /container path "relative" is not an absolute path/],
    ['data:/', /container path "\/" would hide the whole image/],
    ['data:/proc/x', /inside \/proc/],
    ['data:/data/../etc', /has a "\." or "\.\." part/],
    ['/srv/../var/lib/berth:/data', /host path "\/srv\/\.\.\/var\/lib\/berth" has a "\." or "\.\." part/],
    ['/srv/./x:/data', /has a "\." or "\.\." part/],
    ['/srv//x:/data', /doubled or trailing slash/],
    ['/srv/x/:/data', /doubled or trailing slash/],
    ['/:/host', /host path "\/" would give the container the whole host/],
    ['/proc:/host', /inside \/proc/],
    ['/sys/fs/cgroup:/cg', /inside \/sys/],
    ['/dev/sda:/disk', /inside \/dev/],
    ['/var/run/docker.sock:/var/run/docker.sock', /is inside \/var\/run\/docker\.sock, which is berth's or the engine's own/],
    ['/run:/run', /holds \/run\/docker\.sock/],
  ];
  for (const [spec, message] of refused) {
    assert.throws(() => parseMountSpec(spec), (error: unknown) => error instanceof InputError && message.test(error.message), spec);
  }
});

test('a host path inside or above berth\'s own files is refused; beside them it is fine', () => {
  const guarded = ['/var/lib/berth', PACKAGE_ROOT];
  assert.throws(() => checkHostPath('/var/lib/berth', guarded), /is inside \/var\/lib\/berth/);
  assert.throws(() => checkHostPath('/var/lib/berth/apps/shop', guarded), /is inside \/var\/lib\/berth/);
  assert.throws(() => checkHostPath('/var/lib', guarded), /holds \/var\/lib\/berth/);
  assert.throws(() => checkHostPath(path.join(PACKAGE_ROOT, 'dist'), guarded), /is inside/);
  assert.equal(checkHostPath('/var/lib/berth-other', guarded), '/var/lib/berth-other');
  assert.equal(checkHostPath('/srv/shop', guarded), '/srv/shop');
});

test('the CLI refuses the same mounts as usage errors that name the argument', () => {
  assertUsageError(() => parseMount('data:relative', undefined), /^"data:relative": container path "relative" is not an absolute path/);
  assertUsageError(() => parseUnmount('a:b:c', undefined), /^"a:b:c": "a:b:c" names no mount/);
  assert.deepEqual(parseUnmount('/srv/x:/data', 'web'), { source: '/srv/x', containerPath: '/data', process: 'web' });
});

test('a container path holds one mount per process type', () => {
  const mounts = withMount(APP, [], mount('data', '/data', 'web'));
  assert.equal(withMount(APP, mounts, mount('other', '/data', 'worker')).length, 2);
  assert.throws(() => withMount(APP, mounts, mount('other', '/data')), (error: unknown) => error instanceof ConflictError && /\/data is already mounted in shop: data:\/data \(web\)/.test(error.message) && /storage:unmount shop data:\/data --process web/.test(error.hint ?? ''));
  assert.throws(() => withMount(APP, mounts, mount('data', '/data', 'web')), ConflictError);
});

test('unmount removes every mount of the source it names, and names the mounts there are when none matches', () => {
  const mounts = [mount('data', '/data'), mount('data', '/backup', 'worker'), mount('/srv/x', '/x')];
  assert.deepEqual(withoutMounts(APP, mounts, { source: 'data' }).kept, [mount('/srv/x', '/x')]);
  assert.deepEqual(withoutMounts(APP, mounts, { source: 'data', containerPath: '/backup' }).removed, [mount('data', '/backup', 'worker')]);
  assert.throws(() => withoutMounts(APP, mounts, { source: 'data', process: 'web' }), (error: unknown) => error instanceof NotFoundError && /no mount data for web: its mounts are data:\/data, data:\/backup \(worker\), \/srv\/x:\/x/.test(error.message));
  assert.throws(() => withoutMounts(APP, [], { source: 'nope' }), /it has none/);
});

test('mountsFor gives a process type the mounts of every process type and its own, managed ones under the data dir', () => {
  const app = { name: APP, storage: [mount('data', '/data'), mount('/srv/x', '/x', 'worker', true)] };
  assert.deepEqual(mountsFor(app, 'web', '/var/lib/berth'), [{ hostPath: '/var/lib/berth/storage/shop/data', containerPath: '/data', readOnly: false, managed: true }]);
  assert.deepEqual(mountsFor(app, 'worker', '/var/lib/berth')[1], { hostPath: '/srv/x', containerPath: '/x', readOnly: true, managed: false });
});

test('the image user a managed folder goes to: numbers as they are, names through the image\'s passwd and group', async () => {
  const files: Record<string, string> = { '/etc/passwd': 'root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n', '/etc/group': 'root:x:0:\nstaff:x:50:\n' };
  const read = async (file: string) => files[file];
  assert.deepEqual(await resolveUser('', read), { uid: 0, gid: 0 });
  assert.deepEqual(await resolveUser('node', read), { uid: 1000, gid: 1000 });
  assert.deepEqual(await resolveUser('node:staff', read), { uid: 1000, gid: 50 });
  assert.deepEqual(await resolveUser('1234', read), { uid: 1234, gid: 1234 });
  assert.deepEqual(await resolveUser('1234:7', read), { uid: 1234, gid: 7 });
  await assert.rejects(resolveUser('app', read), /the image runs as user "app", which its \/etc\/passwd does not name/);
  await assert.rejects(resolveUser('node:wheel', read), /group "wheel"/);
});

/** The app operations over the harness, with these serve options changed. */
function appService(h: Harness, changed: Partial<ServeOptions> = {}): AppService {
  const locks = new AppLocks();
  const { certificates: certs } = certsHarness(h, { proxy: h.proxy, locks });
  return new AppService({ options: { ...h.options, ...changed }, runtime: h.runtime, store: h.store, proxy: h.proxy as unknown as DataPlane, pipeline: h.pipeline(), locks, hook: { curl: '/bin/false', awk: ['/bin/false'], socketPath: '/nonexistent' }, certs, cron: new CronScheduler({ options: h.options, runtime: h.runtime, store: h.store, log: () => undefined }) });
}

async function storageWorld(t: Parameters<typeof harness>[0]) {
  const h = await harness(t);
  const started = () => h.runtime.argsOf('startContainer').map(([spec]) => spec as ContainerSpec);
  return { h, service: appService(h), started };
}

test('every container of a release mounts what mountsFor gives its process type', async (t) => {
  const { h, started } = await storageWorld(t);
  await h.store.updateApp(APP, (record) => {
    record.formation = { web: 1, worker: 1 };
    record.storage = [mount('data', '/data'), mount('/srv/x', '/x', 'web', true)];
  });
  await deployLive(h, '1111111aaaa');
  const byType = Object.fromEntries(started().map((spec) => [spec.processType, spec.mounts.map((m) => m.containerPath)]));
  assert.deepEqual(byType, { web: ['/data', '/x'], worker: ['/data'] });
  assert.equal(started()[0].mounts[0].hostPath, path.join(h.options.dataDir, 'storage', APP, 'data'));
});

test('storage:mount stores a mount; a host path that is missing or leads into the data dir is refused and stores nothing', async (t) => {
  const { h, service } = await storageWorld(t);
  const done = await service.storage.mount(APP, mount('data', '/data', 'web'), new DeployOutput());
  assert.equal(done.release, null, 'never deployed: it applies at the first start');
  assert.deepEqual(done.mounts, [{ ...mount('data', '/data', 'web'), hostPath: path.join(h.options.dataDir, 'storage', APP, 'data'), managed: true }]);
  const link = path.join(h.options.dataDir, '..', `innocent-${process.pid}`);
  await fs.symlink(h.options.dataDir, link);
  t.after(() => fs.rm(link, { force: true }));
  await assert.rejects(service.storage.mount(APP, mount(link, '/x'), new DeployOutput()), /leads to .*: host path ".*" is inside/);
  await assert.rejects(service.storage.mount(APP, mount('/nonexistent/berth-test', '/x'), new DeployOutput()), /does not exist on the berth server/);
  await assert.rejects(service.storage.mount(APP, mount(h.options.dataDir, '/x'), new DeployOutput()), /is inside/);
  const keyDir = await fs.mkdtemp(path.join(h.options.dataDir, '..', 'berth-key-'));
  t.after(() => fs.rm(keyDir, { recursive: true, force: true }));
  await assert.rejects(appService(h, { tlsKey: path.join(keyDir, 'key.pem') }).storage.mount(APP, mount(keyDir, '/x'), new DeployOutput()), /holds .*key\.pem, which is berth's or the engine's own/);
  assert.deepEqual((await service.storage.list(APP)).mounts.map((m) => m.source), ['data']);
});

test('a mount whose release fails is not kept, and the release before serves on', async (t) => {
  const { h, service } = await storageWorld(t);
  await deployLive(h, '1111111aaaa');
  // The new release fails at its start stage: the fake pushed commit is not in the app's repository.
  await assert.rejects(service.storage.mount(APP, mount('data', '/data'), new DeployOutput()), (error: unknown) => error instanceof Error && /the storage change was not kept/.test((error as InputError).hint ?? ''));
  assert.deepEqual((await service.storage.list(APP)).mounts, []);
  assert.equal((await h.store.getApp(APP))!.live!.release, 1);
});

test('apps:destroy keeps the managed storage unless told to purge it', async (t) => {
  const { h, service } = await storageWorld(t);
  await deployLive(h, '1111111aaaa');
  const dir = path.join(h.options.dataDir, 'storage', APP);
  await fs.mkdir(path.join(dir, 'data'), { recursive: true });
  assert.deepEqual((await service.apps.destroy(APP, APP)).storage, { dir, kept: true });
  assert.ok(await fs.stat(dir));
  await h.store.createApp(APP);
  assert.deepEqual((await service.apps.destroy(APP, APP, true)).storage, { dir, kept: false });
  await assert.rejects(fs.stat(dir));
});
