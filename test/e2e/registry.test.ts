import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { request } from 'undici';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { hasExited } from '../../src/host/processes.js';
import { Registry } from '../../src/runtime/swarm/registry.js';
import { sleep } from '../../src/time.js';
import { ensureTestBaseImage, TEST_BASE_IMAGE } from '../support/docker.js';
import { freePort } from '../support/ports.js';

const execFileAsync = promisify(execFile);
// This file's own lab (see /work/issue14-design.md): others run labs beside it.
const LAB = '2';
const LAB_MANAGER = '10.213.2.11';
const LAB_ENGINE = '/var/lib/berth-lab-2/berth-l2n1/docker.sock';
const INSTANCE = `test-registry${process.pid}`;
const LOCAL_TAG = `${INSTANCE}/web:1`;

const docker = new Docker();
const labEngine = new Docker({ socketPath: LAB_ENGINE });

function lab(...args: string[]): Promise<{ stdout: string }> {
  return execFileAsync('bash', [path.join(PACKAGE_ROOT, 'scripts', 'lab.sh'), ...args], { env: { ...process.env, BERTH_LAB: LAB }, timeout: 120_000 });
}

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

async function manifestStatus(port: number, reference: string): Promise<number> {
  const [repository, digest] = reference.slice(reference.indexOf('/') + 1).split('@');
  const response = await request(`http://127.0.0.1:${port}/v2/${repository}/manifests/${digest}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  await response.body.dump();
  return response.statusCode;
}

describe('the registry berth runs for its swarm nodes', () => {
  let dataDir: string;
  let registry: Registry;
  let port: number;
  let reference: string;

  before(async () => {
    await lab('up', '1');
    await ensureTestBaseImage();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-registry-'));
    await buildTestImage(dataDir);
    port = await freePort();
    registry = new Registry({ dataDir, bin: 'docker-registry', port, address: undefined, managerAddress: async () => LAB_MANAGER });
  });

  after(async () => {
    const pid = registry && (await registry.pid());
    if (pid) process.kill(pid, 'SIGKILL');
    await docker.getImage(LOCAL_TAG).remove({ force: true }).catch(() => undefined);
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
    await lab('down');
  });

  test('an image pushed from the local engine is pulled by a lab node by the digest pushImage returns', async () => {
    const lines: string[] = [];
    reference = await registry.pushImage(docker, LOCAL_TAG, (line) => void lines.push(line));
    assert.match(reference, new RegExp(`^10\\.213\\.2\\.1:${port}/${INSTANCE}/web@sha256:[0-9a-f]{64}$`));
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

  test('removeImage deletes the manifest, so no node can pull it any more', async () => {
    assert.equal(await manifestStatus(port, reference), 200);
    await registry.removeImage(reference);
    assert.equal(await manifestStatus(port, reference), 404);
    await labEngine.getImage(reference).remove({ force: true });
    await assert.rejects(pullOnLab(reference), /manifest unknown|not found/i);
    await registry.removeImage(reference);
  });
});
