import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcessScope, parseResourceLimits } from '../../src/cli/argument-values.js';
import { InputError } from '../../src/errors.js';
import { checkCpus, checkResourceLimits, containerLimits, DEFAULT_PIDS_LIMIT, formatMemory, limitsSummary, parseCpus, parseMemory, parsePids } from '../../src/model/resources.js';
import type { ContainerSpec } from '../../src/runtime/runtime.js';
import { APP, deploy, harness, push } from '../support/deploy-harness.js';
import { assertUsageError } from '../support/usage-error.js';

const MiB = 1024 * 1024;

test('sizes take the units Docker takes, binary, and a size without a unit is refused rather than read as bytes', () => {
  assert.equal(parseMemory('512m'), 512 * MiB);
  assert.equal(parseMemory('1.5g'), 1536 * MiB);
  assert.equal(parseMemory('64MB'), 64 * MiB);
  assert.equal(parseMemory('2GiB'), 2048 * MiB);
  assert.equal(parseMemory('8192k'), 8 * MiB);
  assert.throws(() => parseMemory('12 parsecs'), (error: Error) => error instanceof InputError && /memory "12 parsecs" is not a size: give a number and a unit, like 512m/.test(error.message));
  assert.throws(() => parseMemory('512'), (error: Error) => error instanceof InputError && /for megabytes write 512m/.test((error as InputError).hint ?? ''));
  assert.throws(() => parseMemory('5m'), /memory must be at least 6m \(the Docker engine refuses less\), got 5m/);
  for (const bad of ['', 'm', '-1g', '1e3m', '1,5g', '99999999999999999t']) assert.throws(() => parseMemory(bad), InputError, bad);
});

test('cpus are hundredths of a CPU from 0.01; pids a whole number from 1', () => {
  assert.equal(parseCpus('1'), 1);
  assert.equal(parseCpus('0.5'), 0.5);
  assert.equal(parseCpus('.25'), 0.25);
  for (const bad of ['0', '0.001', '-1', 'two', '1.234', '']) assert.throws(() => parseCpus(bad), InputError, bad);
  assert.throws(() => checkCpus(3, 2), /cpus 3 is more than the 2 CPU\(s\) of this host/);
  assert.equal(parsePids('256'), 256);
  for (const bad of ['-1', '0', '1.5', 'lots', '99999999']) assert.throws(() => parsePids(bad), /pids ".*" must be a whole number from 1 to 4194304/, bad);
});

test('the server checks the numbers again, and wants at least one', () => {
  assert.deepEqual(checkResourceLimits({ memory: 512 * MiB, cpus: 1, pids: 256 }, 2), { memory: 512 * MiB, cpus: 1, pids: 256 });
  for (const bad of [{}, { memory: 1.5 }, { memory: 1024 }, { cpus: 0 }, { cpus: Number.NaN }, { pids: -1 }, { pids: 2.5 }]) assert.throws(() => checkResourceLimits(bad, 2), InputError, JSON.stringify(bad));
});

test('sizes print in the largest unit that divides them, and limits the way resource:limit takes them', () => {
  assert.deepEqual([512 * MiB, 1024 * MiB, 1536 * MiB, 1000].map(formatMemory), ['512m', '1g', '1536m', '1000b']);
  assert.equal(limitsSummary({ memory: 512 * MiB, pids: 256 }), 'memory=512m pids=256');
  assert.equal(limitsSummary({}), '-');
});

test("a process type's own limits win over the app's, and every container has a pids limit", () => {
  const resources = { app: { memory: 512 * MiB, cpus: 1 }, processes: { worker: { memory: 256 * MiB, pids: 64 } } };
  assert.deepEqual(containerLimits(resources, 'web'), { memory: 512 * MiB, cpus: 1, pids: DEFAULT_PIDS_LIMIT });
  assert.deepEqual(containerLimits(resources, 'worker'), { memory: 256 * MiB, cpus: 1, pids: 64 });
  assert.deepEqual(containerLimits({ app: {}, processes: {} }, 'web'), { pids: DEFAULT_PIDS_LIMIT });
});

test('the CLI refuses bad limits as usage errors naming the flag, before it calls berth', () => {
  assert.deepEqual(parseResourceLimits({ memory: '512m', cpus: '1', pids: '256' }), { memory: 512 * MiB, cpus: 1, pids: 256 });
  assertUsageError(() => parseResourceLimits({ memory: '12 parsecs' }), /^"--memory 12 parsecs": memory "12 parsecs" is not a size/);
  assertUsageError(() => parseResourceLimits({ cpus: '0' }), /^"--cpus 0": cpus must be at least 0.01/);
  assertUsageError(() => parseResourceLimits({ pids: '-1' }), /^"--pids -1": pids "-1" must be a whole number/);
  assertUsageError(() => parseResourceLimits({}), /give at least one limit/);
  assertUsageError(() => parseProcessScope('Web!'), /"--process Web!": "Web!" is not a process type/);
});

test('a deploy starts each container with the limits of its process type', async (t) => {
  const h = await harness(t);
  await h.store.updateApp(APP, (app) => {
    app.formation = { web: 1, worker: 1 };
    app.resources = { app: { memory: 512 * MiB }, processes: { worker: { cpus: 0.5, pids: 64 } } };
  });
  const { outcome, read } = await deploy(h.pipeline(), push('1111111aaaa'));
  assert.ok(outcome.ok, read);
  const limits = Object.fromEntries(h.runtime.argsOf('startContainer').map(([spec]) => [(spec as ContainerSpec).processType, (spec as ContainerSpec).limits]));
  assert.deepEqual(limits, { web: { memory: 512 * MiB, pids: DEFAULT_PIDS_LIMIT }, worker: { memory: 512 * MiB, cpus: 0.5, pids: 64 } });
});
