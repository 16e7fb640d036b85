import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { recordReliability, whileServing } from '../support/reliability.js';

const run = promisify(execFile);
const APP = 'packed';
const HOST = `${APP}.localhost`;
/** Room for the repositories, records and nginx of one small app, and little else. */
const FILE_SYSTEM_SIZE = '64m';

/**
 * A plugin whose hook of `trigger` fills the data dir's file system once, when its marker exists:
 * the disk filling up in the middle of a deploy, at a moment the test chooses.
 */
async function writeFillingPlugin(pluginsDir: string, trigger: string, dataDir: string): Promise<string> {
  const marker = path.join(pluginsDir, `fill-at-${trigger}`);
  const dir = path.join(pluginsDir, `fill-${trigger}`);
  await fs.mkdir(dir, { recursive: true });
  const script = `#!/bin/sh\nif [ -e '${marker}' ]; then rm '${marker}'; head -c 1000000000 /dev/zero > '${dataDir}/filler' 2>/dev/null; echo "the data dir's file system is full"; fi\nexit 0\n`;
  await fs.writeFile(path.join(dir, trigger), script, { mode: 0o755 });
  return marker;
}

describe('a data dir on a file system that fills up mid-deploy: nothing live is lost, and the pusher reads what happened', () => {
  let root: string;
  let mountPoint: string;
  let berth: BerthInstance;
  let repo: AppRepo;
  const markers: Record<string, string> = {};
  let version = 1;

  const dataDir = () => path.join(mountPoint, 'data');
  const body = async () => (await getThroughNginx(berth.httpPort, HOST)).body;
  const freeTheDisk = () => fs.rm(path.join(dataDir(), 'filler'), { force: true });

  /** Pushes while clients keep asking, with the disk filling at `trigger`; the disk is freed afterwards, whatever happened. */
  async function pushFillingAt(trigger: string) {
    await fs.writeFile(markers[trigger], '');
    try {
      return await whileServing({ httpPort: berth.httpPort, host: HOST }, pushVersion);
    } finally {
      await freeTheDisk();
    }
  }

  async function pushVersion(): Promise<{ code: number; output: string }> {
    await repo.commit({ 'version.txt': `v${++version}\n` }, `v${version}`);
    return repo.push(berth.remote(APP));
  }

  before(async () => {
    await ensureTestBaseImage();
    // The berth-test- prefix lets the test runner remove what a failed run leaves.
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-disk-'));
    await fs.chmod(root, 0o711);
    mountPoint = path.join(root, 'fs');
    await fs.mkdir(mountPoint);
    await run('mount', ['-t', 'tmpfs', '-o', `size=${FILE_SYSTEM_SIZE},mode=0711`, 'tmpfs', mountPoint]);
    const pluginsDir = path.join(root, 'plugins');
    for (const trigger of ['check-deploy', 'post-deploy']) markers[trigger] = await writeFillingPlugin(pluginsDir, trigger, path.join(mountPoint, 'data'));
    berth = await startBerth({ dataDir: dataDir(), args: ['--plugins-dir', pluginsDir] });
    repo = await AppRepo.create({ 'version.txt': 'v1\n', CHECKS: '/health ok\n' });
    const first = await repo.push(berth.remote(APP));
    assert.equal(first.code, 0, first.output);
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
    if (mountPoint) await run('umount', [mountPoint]).catch(() => undefined);
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  test('full before the switch: berth cannot record the switch, the push is refused and the live release serves on', async () => {
    const watched = await pushFillingAt('check-deploy');
    const { code, output } = watched.result;
    assert.notEqual(code, 0, output);
    assert.match(output, /the data dir's file system is full/);
    assert.match(output, /failed at the switch stage: ENOSPC: no space left on device/);
    assert.match(output, /Nothing changed: release 1 is still serving packed/);
    assert.match(await body(), /^Hello from v1 /);
    await recordReliability({ area: 'Bounds', fault: 'the data dir\'s file system fills up while a release is checked', berthDid: 'the switch could not write its records (ENOSPC): push refused at the switch stage, the new container removed, the live release untouched', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
  });

  test('full right after the switch: the new release serves, and berth says which records it could not write', async () => {
    const watched = await pushFillingAt('post-deploy');
    const { output } = watched.result;
    assert.match(output, /the data dir's file system is full/);
    assert.doesNotMatch(output, /Nothing changed/);
    assert.match(output, /Could not record when release \d+ finished: ENOSPC/);
    assert.match(output, /Done: packed release \d+ deployed/);
    assert.match(await body(), new RegExp(`^Hello from v${version} `), 'the new release serves');
    await recordReliability({ area: 'Bounds', fault: 'the data dir\'s file system fills up right after the switch', berthDid: 'the new release stayed live and the old one was retired; the pusher read which records could not be written (the release\'s end, its deploy log)', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
  });

  test('with room again, the next push deploys as usual', async () => {
    const { code, output } = await pushVersion();
    assert.equal(code, 0, output);
    assert.match(await body(), new RegExp(`^Hello from v${version} `));
  });
});
