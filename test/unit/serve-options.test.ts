import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BerthError, stopReason, timeLimit } from '../../src/errors.js';
import { UsageError } from '../../src/errors.js';
import { DEFAULTS, resolveServeOptions } from '../../src/server/options.js';
import { loadOrCreateToken } from '../../src/server/token.js';
import { formatSize } from '../../src/size.js';

test('a generated token is stored 0600, and a token file left readable by others is made 0600 again', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-token-'));
  try {
    const first = await loadOrCreateToken(dir, undefined);
    const file = path.join(dir, 'token');
    assert.equal(first.file, file);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.ok(first.token.length >= 32);
    await fs.chmod(file, 0o644);
    const again = await loadOrCreateToken(dir, undefined);
    assert.equal(again.token, first.token);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('time limits and counts that would break every deploy are refused at start', () => {
  for (const flag of ['--deploy-timeout', '--build-timeout', '--listen-timeout', '--drain-timeout']) {
    assert.throws(() => resolveServeOptions([flag, '0'], {}), (error: Error) => error instanceof UsageError && error.message.includes(flag));
  }
  assert.throws(() => resolveServeOptions(['--keep-deploy-logs', '0'], {}), UsageError);
  assert.ok(DEFAULTS.buildTimeoutSeconds < DEFAULTS.deployTimeoutSeconds, 'the build limit can fire before the deploy limit');
});

test('a time limit stops work with an error naming the limit and the flag that raises it', async () => {
  const signal = timeLimit(0.05, 'the build', '--build-timeout');
  // berth's limit timers do not hold the process open; this one keeps the test alive past it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(signal.aborted);
  const error = stopReason(signal);
  assert.ok(error instanceof BerthError);
  assert.equal(error.message, 'the build ran past its time limit of 0.05 s');
  assert.equal(error.hint, 'make it faster, or raise --build-timeout');
});

test('--max-push-size takes 1g, 512m, 64k or bytes, defaults to 1 GiB, and refuses anything else naming the flag', () => {
  assert.equal(DEFAULTS.maxPushBytes, 1024 ** 3);
  assert.equal(resolveServeOptions(['--max-push-size', '1g'], {}).maxPushBytes, 1024 ** 3);
  assert.equal(resolveServeOptions(['--max-push-size', '512M'], {}).maxPushBytes, 512 * 1024 ** 2);
  assert.equal(resolveServeOptions(['--max-push-size', '1.5GiB'], {}).maxPushBytes, 1.5 * 1024 ** 3);
  assert.equal(resolveServeOptions([], { BERTH_MAX_PUSH_SIZE: '65536' }).maxPushBytes, 65536);
  assert.equal(resolveServeOptions(['--max-push-size', '64k'], { BERTH_MAX_PUSH_SIZE: '1g' }).maxPushBytes, 64 * 1024, 'the flag wins');
  for (const bad of ['lots', '1x', '-5', '', '10']) {
    assert.throws(() => resolveServeOptions(['--max-push-size', bad], {}), (error: Error) => error instanceof UsageError && error.message.includes('--max-push-size'), bad);
  }
  assert.throws(() => resolveServeOptions([], { BERTH_MAX_PUSH_SIZE: '2 apples' }), /BERTH_MAX_PUSH_SIZE must be a size like 1g, 512m/);
  assert.equal(formatSize(1024 ** 3), '1 GiB');
  assert.equal(formatSize(3.2 * 1024 ** 2), '3.2 MiB');
  assert.equal(formatSize(100), '100 bytes');
});
