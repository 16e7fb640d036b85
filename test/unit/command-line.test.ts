import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCommandLine, type CommandLineRules } from '../../src/command-line.js';
import { resolveServeOptions } from '../../src/server/options.js';
import { assertUsageError } from '../support/usage-error.js';

const LOGS: CommandLineRules = {
  command: 'logs',
  options: [
    { name: 'follow', short: 'f' },
    { name: 'lines', short: 'n', value: 'N' },
    { name: 'token', value: 'TOKEN' },
  ],
  allowPositionals: true,
};

const SWITCHES_ONLY: CommandLineRules = { command: 'serve', options: [{ name: 'create-apps', short: 'c' }], allowPositionals: false, allowNegative: true };

/** parseArgs gives its values a null prototype; deepEqual compares prototypes too. */
function valuesOf(args: string[], rules: CommandLineRules): Record<string, unknown> {
  return { ...readCommandLine(args, rules).values };
}

test('options anywhere after the command, --flag=value, --flag value, -n 5, grouped switches, and -- ending options', () => {
  assert.deepEqual(valuesOf(['-f', 'app', '--lines=5'], LOGS), { follow: true, lines: '5' });
  assert.deepEqual(readCommandLine(['-f', 'app', '--lines=5'], LOGS).positionals, ['app']);
  assert.deepEqual(valuesOf(['app', '-fn', '7'], LOGS), { follow: true, lines: '7' });
  assert.deepEqual(readCommandLine(['app', '--', '-f', '--lines=1'], LOGS).positionals, ['app', '-f', '--lines=1']);
});

test('a value that starts with a dash is still the value of the option before it', () => {
  assert.deepEqual(valuesOf(['--token', '-Ab_c', '-n', '-5'], LOGS), { token: '-Ab_c', lines: '-5' });
  assert.deepEqual(valuesOf(['-n', '--'], LOGS), { lines: '--' });
});

test('ERR_PARSE_ARGS_UNKNOWN_OPTION: the option as typed, and where the usage is', () => {
  assertUsageError(() => readCommandLine(['app', '--force'], LOGS), 'unknown option --force for logs (see berth logs --help)');
  assertUsageError(() => readCommandLine(['app', '--force=yes'], LOGS), 'unknown option --force for logs (see berth logs --help)');
  assertUsageError(() => readCommandLine(['app', '-xf'], LOGS), 'unknown option -xf for logs (see berth logs --help)');
  assertUsageError(() => readCommandLine(['app', '-f=1'], LOGS), 'unknown option -f=1 for logs (see berth logs --help)');
});

test('ERR_PARSE_ARGS_INVALID_OPTION_VALUE: a missing value names the option and its value; a switch takes none', () => {
  assertUsageError(() => readCommandLine(['app', '-n'], LOGS), '--lines needs a value (N)');
  assertUsageError(() => readCommandLine(['app', '--lines'], LOGS), '--lines needs a value (N)');
  assertUsageError(() => readCommandLine(['app', '--follow=1'], LOGS), '--follow takes no value');
  assertUsageError(() => readCommandLine(['--no-create-apps=1'], SWITCHES_ONLY), '--no-create-apps takes no value');
  assertUsageError(() => readCommandLine(['app', '-fn', '-5'], LOGS), '--lines needs a value (N); if "-5" is it, write --lines=-5');
});

test('ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL: an argument where only options go', () => {
  assertUsageError(() => readCommandLine(['extra'], SWITCHES_ONLY), 'unexpected argument "extra": berth serve takes options only (see berth serve --help)');
});

test('--no-NAME turns a switch off where allowed, and the last of the two wins', () => {
  assert.deepEqual(valuesOf(['--no-create-apps'], SWITCHES_ONLY), { 'create-apps': false });
  assert.deepEqual(valuesOf(['--no-create-apps', '-c'], SWITCHES_ONLY), { 'create-apps': true });
  assertUsageError(() => readCommandLine(['app', '--no-follow'], LOGS), 'unknown option --no-follow for logs (see berth logs --help)');
});

test('berth serve: flags win over the environment, plugin folders add up, --no-create-apps-on-push and =false refuse new apps', () => {
  const env = { BERTH_GIT_PORT: '9000', BERTH_DOMAIN: 'env.test', BERTH_PLUGINS_DIRS: '/env/a:/env/b', BERTH_CREATE_APPS_ON_PUSH: 'true' };
  const options = resolveServeOptions(['--git-port', '8000', '--plugins-dir', '/flag/a', '--plugins-dir=/flag/b:/flag/c', '--no-create-apps-on-push'], env);
  assert.equal(options.gitPort, 8000);
  assert.equal(options.domain, 'env.test');
  assert.deepEqual(options.pluginDirs, ['/env/a', '/env/b', '/flag/a', '/flag/b', '/flag/c']);
  assert.equal(options.createAppsOnPush, false);
  assert.equal(resolveServeOptions(['--create-apps-on-push=false'], {}).createAppsOnPush, false);
  assert.equal(resolveServeOptions(['--create-apps-on-push'], { BERTH_CREATE_APPS_ON_PUSH: 'no' }).createAppsOnPush, true);
});

test('berth serve: bad flags are usage errors that name them', () => {
  assertUsageError(() => resolveServeOptions(['--git-port'], {}), '--git-port needs a value (N)');
  assertUsageError(() => resolveServeOptions(['--git-port', 'x'], {}), '--git-port must be a whole number, got "x"');
  assertUsageError(() => resolveServeOptions(['--create-apps-on-push=maybe'], {}), '--create-apps-on-push must be true or false, got "maybe"');
  assertUsageError(() => resolveServeOptions(['--bogus=1'], {}), 'unknown option --bogus for serve (see berth serve --help)');
});
