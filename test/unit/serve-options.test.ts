import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BerthError, stopReason, timeLimit } from '../../src/errors.js';
import { UsageError } from '../../src/errors.js';
import { DEFAULTS, resolveServeOptions } from '../../src/server/options.js';
import { announceToken, loadOrCreateToken } from '../../src/server/token.js';
import { resolveConnection } from '../../src/cli/client.js';
import { parseArguments } from '../../src/cli/arguments.js';
import { findCommand } from '../../src/cli/registry.js';
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

test('HTTPS is served on 443 unless --https-port or BERTH_HTTPS_PORT says otherwise, and never on the HTTP port', () => {
  assert.equal(resolveServeOptions([], {}).httpsPort, 443);
  assert.equal(resolveServeOptions([], { BERTH_HTTPS_PORT: '8443' }).httpsPort, 8443);
  assert.equal(resolveServeOptions(['--https-port', '9443'], { BERTH_HTTPS_PORT: '8443' }).httpsPort, 9443);
  assert.throws(() => resolveServeOptions(['--http-port', '8080', '--https-port', '8080'], {}), (error: Error) => error instanceof UsageError && /--http-port and --https-port are both 8080/.test(error.message));
  assert.throws(() => resolveServeOptions(['--https-port', '70000'], {}), UsageError);
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

test('--prune-build-cache-after takes whole days (0: never), from the flag or BERTH_PRUNE_BUILD_CACHE_AFTER', () => {
  assert.equal(resolveServeOptions([], {}).pruneBuildCacheAfterDays, 7);
  assert.equal(resolveServeOptions([], { BERTH_PRUNE_BUILD_CACHE_AFTER: '2' }).pruneBuildCacheAfterDays, 2);
  assert.equal(resolveServeOptions(['--prune-build-cache-after', '0'], { BERTH_PRUNE_BUILD_CACHE_AFTER: '2' }).pruneBuildCacheAfterDays, 0);
  assert.throws(() => resolveServeOptions(['--prune-build-cache-after', '1.5'], {}), (error: Error) => error instanceof UsageError && /--prune-build-cache-after must be a whole number/.test(error.message));
});

const TOKEN = 'a-token-0123456789abcdef';
const pushUrl = (shown: string) => `http://berth:${shown}@host:7070/APP.git`;

test('berth serve and the client refuse a token on the command line, saying what to use instead', () => {
  const refused = (error: unknown) => error instanceof UsageError && /not take the token on the command line/.test(error.message) && /BERTH_TOKEN/.test(error.message) && /--token-file FILE/.test(error.message);
  for (const args of [['--token', TOKEN], [`--token=${TOKEN}`], ['--data-dir', '/tmp/x', '--token', TOKEN]]) {
    assert.throws(() => resolveServeOptions(args, {}), refused, `berth serve ${args.join(' ')}`);
    assert.throws(() => parseArguments(findCommand('apps:list')!, args.filter((arg) => !arg.startsWith('/') && arg !== '--data-dir')), refused, `berth apps:list ${args.join(' ')}`);
  }
  assert.doesNotThrow(() => parseArguments(findCommand('config:set')!, ['shop', '--', '--token=x']), 'after -- it is an argument, not the option');
});

test('the token file: read by berth serve and the client, refused when unreadable or malformed, never together with BERTH_TOKEN', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-token-file-'));
  try {
    const file = path.join(dir, 'token');
    await fs.writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
    assert.equal(resolveServeOptions(['--token-file', file], {}).tokenFile, file);
    assert.deepEqual(await loadOrCreateToken(dir, undefined, file), { token: TOKEN, origin: 'file', file });
    assert.equal(resolveConnection({ tokenFile: file }, {}).token, TOKEN);
    assert.equal(resolveConnection({}, { BERTH_TOKEN_FILE: file }).token, TOKEN);
    assert.throws(() => resolveServeOptions(['--token-file', file], { BERTH_TOKEN: TOKEN }), /BERTH_TOKEN and --token-file \(BERTH_TOKEN_FILE\) both give a token/);
    assert.throws(() => resolveConnection({ tokenFile: path.join(dir, 'missing') }, {}), /cannot read the token file .*missing \(--token-file\)/);
    await fs.writeFile(file, 'short\n');
    await assert.rejects(async () => loadOrCreateToken(dir, undefined, file), /the token in .* must be 16 to 256 printable characters/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('berth prints the token in full only when it generates it; after that masked, with where it is', () => {
  const generated = announceToken({ token: TOKEN, origin: 'generated', file: '/data/token' }, pushUrl).join('\n');
  assert.match(generated, new RegExp(`http://berth:${TOKEN}@host:7070/APP.git`));
  assert.match(generated, /token generated and stored in \/data\/token \(0600\); this is the only time berth prints it in full/);
  for (const [origin, file, where] of [['stored', '/data/token', 'in /data/token'], ['file', '/etc/berth/token', 'in /etc/berth/token'], ['environment', undefined, 'the one in BERTH_TOKEN']] as const) {
    const lines = announceToken({ token: TOKEN, origin, file }, pushUrl).join('\n');
    assert.ok(!lines.includes(TOKEN), `${origin}: the token is printed in full: ${lines}`);
    assert.ok(!lines.includes(TOKEN.slice(4)), `${origin}: more than its first characters are printed`);
    assert.match(lines, new RegExp(`http://berth:a-to\\*+@host:7070/APP.git \\(the token is ${where.replace(/\//g, '\\/')}\\)`));
  }
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

test('ACME options: Let\'s Encrypt production and certs:auto off by default; an http:// directory or a bad e-mail is refused at start', () => {
  const defaults = resolveServeOptions([], {});
  assert.equal(defaults.acmeDirectory, 'https://acme-v02.api.letsencrypt.org/directory');
  assert.equal(defaults.acmeAuto, false);
  assert.equal(defaults.acmeEmail, undefined);
  const given = resolveServeOptions(['--acme-directory', 'https://127.0.0.1:14000/dir', '--acme-email', 'ops@example.com', '--acme-auto'], { BERTH_ACME_CA_FILE: 'pebble.pem' });
  assert.deepEqual([given.acmeDirectory, given.acmeEmail, given.acmeAuto, given.acmeCaFile], ['https://127.0.0.1:14000/dir', 'ops@example.com', true, path.resolve('pebble.pem')]);
  assert.equal(resolveServeOptions([], { BERTH_ACME_AUTO: 'true' }).acmeAuto, true);
  assert.throws(() => resolveServeOptions(['--acme-directory', 'http://acme.example.com/dir'], {}), (error: Error) => error instanceof UsageError && /not an https:\/\/ URL/.test(error.message));
  assert.throws(() => resolveServeOptions(['--acme-directory', 'letsencrypt'], {}), UsageError);
  assert.throws(() => resolveServeOptions(['--acme-email', 'ops'], {}), (error: Error) => error instanceof UsageError && /not an e-mail address/.test(error.message));
});
