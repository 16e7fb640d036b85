import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigAssignments, parseConfigKeys, parseFormation } from '../../src/cli/argument-values.js';
import { parseArguments } from '../../src/cli/arguments.js';
import { COMMAND_NAMES, findCommand } from '../../src/cli/registry.js';
import { closestCommand } from '../../src/cli/suggest.js';
import { formatKeyValues, formatMinute, formatSeconds, formatTable, formatUptime } from '../../src/cli/format.js';
import { assertUsageError } from '../support/usage-error.js';

test('formatTable pads every column to its widest cell and leaves no trailing spaces', () => {
  const table = formatTable(
    ['APP', 'RELEASE', 'COMMIT'],
    [
      ['myapp', '12', '1848b31'],
      ['a-much-longer-name', '3', ''],
    ],
  );
  assert.equal(table, ['APP                 RELEASE  COMMIT', 'myapp               12       1848b31', 'a-much-longer-name  3'].join('\n'));
});

test('formatTable with no rows is the header line', () => {
  assert.equal(formatTable(['APP', 'RELEASE'], []), 'APP  RELEASE');
});

test('formatKeyValues aligns the values after the labels', () => {
  assert.equal(formatKeyValues([['App', 'myapp'], ['Config keys', 'PORT'], ['Empty', '']]), 'App:          myapp\nConfig keys:  PORT\nEmpty:');
});

test('formatSeconds shows seconds with one decimal, or - when the stage did not run', () => {
  assert.equal(formatSeconds(1934), '1.9s');
  assert.equal(formatSeconds(0), '0.0s');
  assert.equal(formatSeconds(50), '0.1s');
  assert.equal(formatSeconds(12345), '12.3s');
  assert.equal(formatSeconds(undefined), '-');
  assert.equal(formatSeconds(null), '-');
});

test('formatUptime keeps the two largest units', () => {
  assert.equal(formatUptime(0), '0s');
  assert.equal(formatUptime(42), '42s');
  assert.equal(formatUptime(303), '5m 3s');
  assert.equal(formatUptime(7500), '2h 5m');
  assert.equal(formatUptime(3 * 86400 + 4 * 3600 + 59), '3d 4h');
});

test('formatMinute cuts an ISO timestamp to the minute in UTC', () => {
  assert.equal(formatMinute('2024-05-01T12:34:56.789Z'), '2024-05-01T12:34Z');
  assert.equal(formatMinute('2024-05-01T14:34:56+02:00'), '2024-05-01T12:34Z');
  assert.equal(formatMinute(null), '-');
});

test('KEY=VALUE: the value may be empty or contain =, a repeated key keeps its last value', () => {
  assert.deepEqual(parseConfigAssignments(['A=1', 'URL=postgres://db?x=y', 'EMPTY=', '_under_9=ok']), { A: '1', URL: 'postgres://db?x=y', EMPTY: '', _under_9: 'ok' });
  assert.deepEqual(parseConfigAssignments(['A=1', 'A=2']), { A: '2' });
});

test('KEY=VALUE: __proto__ is an ordinary key', () => {
  const config = parseConfigAssignments(['__proto__=x']);
  assert.deepEqual(Object.keys(config), ['__proto__']);
  assert.equal(Object.getPrototypeOf(config), Object.prototype);
});

test('KEY=VALUE: an argument without = or with a bad key is a usage error naming it', () => {
  assertUsageError(() => parseConfigAssignments(['A=1', 'LOG_LEVEL']), /"LOG_LEVEL" is not KEY=VALUE/);
  assertUsageError(() => parseConfigAssignments(['1A=x']), /"1A=x"/);
  assertUsageError(() => parseConfigAssignments(['A-B=x']), /"A-B=x"/);
  assertUsageError(() => parseConfigAssignments(['=x']), /"=x"/);
});

test('config keys to unset follow the same rule', () => {
  assert.deepEqual(parseConfigKeys(['A', 'B_2']), ['A', 'B_2']);
  assertUsageError(() => parseConfigKeys(['A', 'B=1']), /"B=1"/);
});

test('TYPE=N: counts from 0 to 20 for lower-case process types', () => {
  assert.deepEqual(parseFormation('myapp', ['web=2', 'worker=0', 'queue-1=20']), { web: 2, worker: 0, 'queue-1': 20 });
  assert.deepEqual(parseFormation('myapp', ['web=1', 'web=3']), { web: 3 });
});

test('TYPE=N: a bad argument is a usage error naming it', () => {
  assertUsageError(() => parseFormation('myapp', ['web']), /"web" is not TYPE=N/);
  assertUsageError(() => parseFormation('myapp', ['web=21']), /"web=21".*0 to 20/);
  assertUsageError(() => parseFormation('myapp', ['web=0']), /"web=0": web=0 would leave the app without a web container/);
  assertUsageError(() => parseFormation('myapp', ['web=-1']), /"web=-1"/);
  assertUsageError(() => parseFormation('myapp', ['web=1.5']), /"web=1.5"/);
  assertUsageError(() => parseFormation('myapp', ['web=']), /"web="/);
  assertUsageError(() => parseFormation('myapp', ['Web=1']), /"Web=1".*process type/);
  assertUsageError(() => parseFormation('myapp', ['1web=1']), /"1web=1"/);
});

test('closestCommand finds typos, topics and subcommands, and nothing for nonsense', () => {
  const cases: Array<[string, string | undefined]> = [
    ['stauts', 'status'],
    ['apps:lst', 'apps:list'],
    ['confg:set', 'config:set'],
    ['apps', 'apps:list'],
    ['restart', 'ps:restart'],
    ['destory', 'apps:destroy'],
    ['log', 'logs'],
    ['relases', 'releases'],
    ['hlep', 'help'],
    ['xyzzy', undefined],
    ['x', undefined],
  ];
  for (const [typed, expected] of cases) assert.equal(closestCommand(typed, COMMAND_NAMES), expected, typed);
});

test('parseArguments separates flags from arguments and checks the count', () => {
  const logs = findCommand('logs');
  const configSet = findCommand('config:set');
  assert.ok(logs && configSet);
  const parsed = parseArguments(logs, ['myapp', '-f', '--lines=20', '--json']);
  assert.deepEqual(parsed.args, ['myapp']);
  assert.deepEqual([...parsed.flags], [['--follow', true], ['--lines', '20'], ['--json', true]]);
  assert.deepEqual(parseArguments(configSet, ['myapp', 'A=1', '--', '--not-a-flag=x']).args, ['myapp', 'A=1', '--not-a-flag=x']);
  assertUsageError(() => parseArguments(configSet, ['myapp']), /missing KEY=VALUE/);
  assertUsageError(() => parseArguments(logs, ['myapp', 'extra']), /unexpected argument "extra"/);
  assertUsageError(() => parseArguments(logs, ['myapp', '--force']), /unknown option --force/);
  assertUsageError(() => parseArguments(logs, ['myapp', '-n']), /--lines needs a value/);
});
