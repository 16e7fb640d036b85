import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { hasExited } from '../../src/host/processes.js';
import { Registry } from '../../src/runtime/swarm/registry.js';
import { sleep } from '../../src/time.js';
import { ensureTestBaseImage, TEST_BASE_IMAGE } from '../support/docker.js';
import { startLab, type Lab } from '../support/lab.js';
import { freePort } from '../support/ports.js';

const INSTANCE = `test-registry${process.pid}`;
const LOCAL_TAG = `${INSTANCE}/web:1`;

const docker = new Docker();
// This file's own lab: others run labs beside it.
let lab: Lab;
let labEngine: Docker;

/** followProgress reports only a broken stream; a failed pull or build says so in an event. */
async function follow(progress: NodeJS.ReadableStream): Promise<void> {
  const events = await new Promise<{ error?: string }[]>((resolve, reject) => docker.modem.followProgress(progress, (error: Error | null, output: { error?: string }[]) => (error ? reject(error) : resolve(output))));
  const failed = events.find((event) => event.error);
  if (failed) throw new Error(failed.error);
}

/** An image of the test base with a file of its own, so its digest is this run's alone. */
async function buildTestImage(context: string): Promise<void> {
  await fs.writeFile(path.join(context, 'Dockerfile'), `FROM ${TEST_BASE_IMAGE}\nCOPY stamp.txt /stamp.txt\n`);
  await fs.writeFile(path.join(context, 'stamp.txt'), `${INSTANCE} ${Date.now()}\n`);
  await follow(await docker.buildImage({ context, src: ['Dockerfile', 'stamp.txt'] }, { t: LOCAL_TAG, labels: { 'berth.instance': INSTANCE } }));
}

async function pullOnLab(reference: string): Promise<string> {
  await follow(await labEngine.pull(reference));
  return (await labEngine.getImage(reference).inspect()).Id;
}

describe('the registry berth runs for its swarm nodes', () => {
  let dataDir: string;
  let registry: Registry;
  let port: number;
  let reference: string;

  before(async () => {
    lab = await startLab(1, '2');
    labEngine = lab.engine(1);
    await ensureTestBaseImage();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-registry-'));
    await buildTestImage(dataDir);
    port = await freePort();
    registry = new Registry({ dataDir, bin: 'docker-registry', port, address: undefined, managerAddress: async () => `10.213.${lab.number}.11` });
  });

  after(async () => {
    const pid = registry && (await registry.pid());
    if (pid) process.kill(pid, 'SIGKILL');
    await docker.getImage(LOCAL_TAG).remove({ force: true }).catch(() => undefined);
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
    await lab?.down();
  });

  test('an image pushed from the local engine is pulled by a lab node by the digest pushImage returns', async () => {
    const lines: string[] = [];
    reference = await registry.pushImage(docker, LOCAL_TAG, (line) => void lines.push(line));
    assert.match(reference, new RegExp(`^${lab.hostAddress.replaceAll('.', '\\.')}:${port}/${INSTANCE}/web@sha256:[0-9a-f]{64}$`));
    assert.ok(lines.some((line) => /Pushed/.test(line)), lines.join('\n'));
    assert.equal(await pullOnLab(reference), (await docker.getImage(LOCAL_TAG).inspect()).Id);
    const tags = (await docker.getImage(LOCAL_TAG).inspect()).RepoTags;
    assert.deepEqual(tags, [LOCAL_TAG], 'the loopback tag it was pushed under is gone again');
    assert.ok((await fs.stat(path.join(dataDir, 'registry', 'data', 'docker'))).isDirectory(), 'its storage is in the data dir');
  });

  test('a berth restart finds the running registry again instead of starting a second one', async () => {
    const pid = await registry.pid();
    assert.ok(pid);
    const again = new Registry({ dataDir, bin: 'docker-registry', port, address: undefined });
    assert.equal(await again.isRunning(), true);
    await again.ensureRunning();
    assert.equal(await again.pid(), pid);
  });

  test('a registry that died is started again by ensureRunning, with the images it stored', async () => {
    const pid = (await registry.pid())!;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && !(await hasExited(pid)); i++) await sleep(100);
    assert.equal(await registry.isRunning(), false);
    await registry.ensureRunning();
    assert.equal(await registry.isRunning(), true);
    assert.notEqual(await registry.pid(), pid);
    await labEngine.getImage(reference).remove({ force: true });
    assert.equal(await pullOnLab(reference), (await docker.getImage(LOCAL_TAG).inspect()).Id);
  });

});
