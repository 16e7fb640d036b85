// The one-off container primitive on the real engine: output, exit code, the app's network and
// fences, labels, removal afterwards, and the time limit that kills what never ends.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { DEFAULT_PIDS_LIMIT } from '../../src/model/resources.js';
import { oneOffName } from '../../src/model/naming.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import type { OneOffSpec } from '../../src/runtime/runtime.js';
import { ensureTestBaseImage, TEST_BASE_IMAGE, TEST_INSTANCE_PREFIX } from '../support/docker.js';

const docker = new Docker();
const instance = `${TEST_INSTANCE_PREFIX}oneoff-${randomBytes(3).toString('hex')}`;

function spec(command: string, extra: Partial<OneOffSpec> = {}): OneOffSpec & { lines: string[] } {
  const lines: string[] = [];
  return {
    app: 'jobs',
    release: 1,
    image: TEST_BASE_IMAGE,
    role: 'run',
    name: oneOffName(instance, 'jobs', 'run', `t${randomBytes(4).toString('hex')}`),
    command,
    env: { GREETING: 'hello from config' },
    limits: { pids: DEFAULT_PIDS_LIMIT },
    mounts: [],
    timeoutSeconds: 60,
    limitName: '--run-timeout',
    onLine: (line) => void lines.push(line),
    lines,
    ...extra,
  };
}

describe('one-off containers', () => {
  let runtime: DockerRuntime;

  before(async () => {
    await ensureTestBaseImage();
    runtime = await DockerRuntime.connect(instance);
  });

  after(async () => {
    for (const c of await runtime.instanceContainers()) await runtime.removeContainer(c.id);
    await runtime.removeAppNetwork('jobs');
  });

  test('streams stdout and stderr, returns the exit code, runs with the config on the app network, fenced and labelled, and is removed', async () => {
    let seen: Docker.ContainerInspectInfo | undefined;
    const run = spec('echo "$GREETING"; echo to-stderr >&2; exit 3');
    run.onStart = () => void docker.getContainer(run.name).inspect().then((info) => (seen = info), () => undefined);
    const result = await runtime.runOneOff(run);
    assert.equal(result.exitCode, 3);
    assert.equal(result.stopped, undefined);
    assert.deepEqual([...run.lines].sort(), ['hello from config', 'to-stderr'], 'stdout and stderr, each in its order');
    assert.ok(seen, 'the container was there while it ran');
    assert.equal(seen.HostConfig.NetworkMode, `${instance}_jobs`);
    assert.equal(seen.HostConfig.PidsLimit, DEFAULT_PIDS_LIMIT);
    assert.deepEqual(seen.HostConfig.SecurityOpt, ['no-new-privileges']);
    assert.equal(seen.HostConfig.RestartPolicy?.Name, 'no');
    assert.equal(seen.Config.Labels['berth.instance'], instance);
    assert.equal(seen.Config.Labels['berth.app'], 'jobs');
    assert.equal(seen.Config.Labels['berth.role'], 'run');
    assert.deepEqual(await runtime.oneOffContainers('jobs'), [], 'removed afterwards');
    assert.deepEqual(await runtime.appContainers('jobs'), [], 'a one-off is never one of the app containers');
  });

  test('a command that never ends is killed at its time limit and removed', async () => {
    const started = Date.now();
    const result = await runtime.runOneOff(spec('echo started; sleep 600', { timeoutSeconds: 2 }));
    assert.ok(Date.now() - started < 20_000, 'stopped near its limit');
    assert.match(result.stopped?.message ?? '', /ran past its time limit of 2 s/);
    assert.notEqual(result.exitCode, 0);
    assert.deepEqual(await runtime.oneOffContainers('jobs'), []);
  });

  test('stdin reaches the command when given', async () => {
    const { Readable } = await import('node:stream');
    const run = spec('read line; echo "got $line"', { stdin: Readable.from(['typed text\n']) });
    const result = await runtime.runOneOff(run);
    assert.equal(result.exitCode, 0);
    assert.deepEqual(run.lines, ['got typed text']);
  });
});
