import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { CHECKS_LIMITS, ChecksParseError, parseChecks, type ChecksFile } from '../../src/checks/parser.js';

function assertParseError(text: string, line: number, ...fragments: RegExp[]): void {
  assert.throws(
    () => parseChecks(text),
    (error: unknown) => {
      assert.ok(error instanceof ChecksParseError, `expected ChecksParseError, got ${String(error)}`);
      assert.equal(error.line, line);
      if (line > 0) assert.match(error.message, new RegExp(`^CHECKS line ${line}: `));
      for (const fragment of fragments) assert.match(error.message, fragment);
      return true;
    },
  );
}

function onlyCheck(text: string) {
  const { checks } = parseChecks(text);
  assert.equal(checks.length, 1);
  return checks[0];
}

test('empty file, blank lines and comments yield nothing', () => {
  const expected: ChecksFile = { waitSeconds: undefined, timeoutSeconds: undefined, attempts: undefined, checks: [] };
  assert.deepEqual(parseChecks(''), expected);
  assert.deepEqual(parseChecks('\n\n   \n\t\n# a comment\n   # indented comment /not-a-check\n#WAIT=9999\n'), expected);
});

test('WAIT, TIMEOUT and ATTEMPTS set their fields', () => {
  assert.equal(parseChecks('WAIT=0').waitSeconds, 0);
  assert.equal(parseChecks('WAIT=600').waitSeconds, 600);
  assert.equal(parseChecks('TIMEOUT=1').timeoutSeconds, 1);
  assert.equal(parseChecks('TIMEOUT = 30').timeoutSeconds, 30);
  assert.equal(parseChecks('ATTEMPTS=100').attempts, 100);
  assert.equal(parseChecks('  ATTEMPTS\t=\t7  ').attempts, 7);
});

test('directives apply wherever they appear, and the last one wins', () => {
  const file = parseChecks('/a\nWAIT=3\n/b\nTIMEOUT=9\nWAIT=4\n/c\nATTEMPTS=2\n');
  assert.equal(file.waitSeconds, 4);
  assert.equal(file.timeoutSeconds, 9);
  assert.equal(file.attempts, 2);
  assert.deepEqual(
    file.checks.map((check) => [check.line, check.path]),
    [
      [1, '/a'],
      [3, '/b'],
      [6, '/c'],
    ],
  );
});

test('a comment may follow a directive, as in Dokku\'s own examples', () => {
  const file = parseChecks('WAIT=30     # Wait 1/2 minute\nTIMEOUT=60\t# Timeout after a minute\nATTEMPTS=10  # attempt checks 10 times\n');
  assert.deepEqual([file.waitSeconds, file.timeoutSeconds, file.attempts], [30, 60, 10]);
  // A directive's value is a number, so a # right after it starts the comment too, as Dokku reads it.
  assert.equal(parseChecks('ATTEMPTS=3#three').attempts, 3);
  assertParseError('WAIT=# nothing', 1, /WAIT=n/, /whole number/);
  assertParseError('RETRIES=3 # not known', 1, /unknown directive RETRIES=3 \(known/);
});

test('a comment may follow a check; a # inside a word is part of it', () => {
  const check = onlyCheck('/health   ok   # the app answers ok when its database is up');
  assert.deepEqual([check.path, check.expected, check.source], ['/health', 'ok', '/health   ok']);
  assert.equal(onlyCheck('/health\t# no expected content').expected, undefined);
  assert.equal(onlyCheck('//example.com/ #comment').host, 'example.com');
  assert.equal(onlyCheck('/style.css color:#fff # white').expected, 'color:#fff');
  assert.equal(onlyCheck('/page#top').path, '/page#top');
  assert.deepEqual(parseChecks('/ok # \u0001 a control character in a comment is ignored, as on a comment line').checks.length, 1);
});

test('a file with only directives is valid', () => {
  assert.deepEqual(parseChecks('WAIT=1\nTIMEOUT=2\nATTEMPTS=3\n'), {
    waitSeconds: 1,
    timeoutSeconds: 2,
    attempts: 3,
    checks: [],
  });
});

test('/path without expected content', () => {
  assert.deepEqual(onlyCheck('  /health  '), {
    line: 1,
    source: '/health',
    scheme: 'http',
    host: undefined,
    path: '/health',
    expected: undefined,
  });
});

test('/path with expected content containing spaces and tabs', () => {
  const check = onlyCheck('# comment\n/about   Our   team\tis great  ');
  assert.equal(check.line, 2);
  assert.equal(check.path, '/about');
  assert.equal(check.expected, 'Our   team\tis great');
  assert.equal(check.source, '/about   Our   team\tis great');
});

test('expected content may be unicode', () => {
  assert.equal(onlyCheck('/ Grüße 👋').expected, 'Grüße 👋');
});

test('//host/path sets the host and keeps plain http', () => {
  const check = onlyCheck('//myapp.example.com/health ok');
  assert.equal(check.scheme, 'http');
  assert.equal(check.host, 'myapp.example.com');
  assert.equal(check.path, '/health');
  assert.equal(check.expected, 'ok');
  assert.equal(onlyCheck('//myapp.example.com').path, '/');
});

test('http:// and https:// URLs with and without path and port', () => {
  const cases: Array<[string, 'http' | 'https', string, string]> = [
    ['http://example.com/status', 'http', 'example.com', '/status'],
    ['https://example.com/status', 'https', 'example.com', '/status'],
    ['http://example.com', 'http', 'example.com', '/'],
    ['https://example.com', 'https', 'example.com', '/'],
    ['https://example.com/', 'https', 'example.com', '/'],
    ['http://localhost:8080/x', 'http', 'localhost:8080', '/x'],
    ['https://api.example.com:65535', 'https', 'api.example.com:65535', '/'],
    ['//10.0.0.1:1/', 'http', '10.0.0.1:1', '/'],
    ['HTTPS://Example.COM/Path', 'https', 'Example.COM', '/Path'],
  ];
  for (const [line, scheme, host, path] of cases) {
    const check = onlyCheck(line);
    assert.deepEqual([check.scheme, check.host, check.path], [scheme, host, path], line);
  }
});

test('query strings are kept in the path', () => {
  assert.equal(onlyCheck('/status?verbose=1&x=%20 up').path, '/status?verbose=1&x=%20');
  assert.equal(onlyCheck('https://example.com?probe=1').path, '/?probe=1');
  assert.equal(onlyCheck('//example.com/a?b=c d').expected, 'd');
});

test('CRLF files parse like LF files', () => {
  const text = 'WAIT=2\n# comment\n/ Hello\n//example.com/health ok\n';
  assert.deepEqual(parseChecks(text.replaceAll('\n', '\r\n')), parseChecks(text));
  assert.equal(parseChecks('/ Hello\r\n').checks[0].expected, 'Hello');
});

test('a leading byte order mark is ignored', () => {
  assert.deepEqual(parseChecks('\ufeffWAIT=2\n/health ok\n'), parseChecks('WAIT=2\n/health ok\n'));
});

test('unknown directives are rejected, listing the known ones', () => {
  assertParseError('/\n\nFOO=1', 3, /unknown directive FOO=1 \(known: WAIT, TIMEOUT, ATTEMPTS\)/);
  assertParseError('CHECK_URL = /x', 1, /unknown directive CHECK_URL = \/x/);
});

test('directive values must be whole numbers within limits', () => {
  assertParseError('WAIT=-1', 1, /WAIT=n/, /0 to 600/);
  assertParseError('WAIT=601', 1, /WAIT=n/);
  assertParseError('WAIT=1.5', 1, /whole number/);
  assertParseError('WAIT=', 1, /whole number/);
  assertParseError('TIMEOUT=0', 1, /TIMEOUT=n/, /1 to 600/);
  assertParseError('TIMEOUT=601', 1, /TIMEOUT=n/);
  assertParseError('ATTEMPTS=0', 1, /ATTEMPTS=n/, /1 to 100/);
  assertParseError('ATTEMPTS=101', 1, /ATTEMPTS=n/);
  assertParseError('ATTEMPTS=5 tries', 1, /ATTEMPTS=n/);
  assertParseError('ATTEMPTS=99999999999999999999', 1, /ATTEMPTS=n/);
});

test('lines that are not checks say what a check line looks like', () => {
  for (const text of ['foo', 'health ok', './health', 'wait=5', 'www.example.com/health']) {
    assertParseError(text, 1, /cannot read/, /\/path, \/\/host\/path, http:\/\/host\/path or https:\/\/host\/path/);
  }
  assertParseError('/ok\nftp://x/', 2, /unsupported scheme ftp/, /https:\/\/host\/path/);
});

test('invalid hosts are rejected', () => {
  const badHosts = [
    '///path',
    'http:///path',
    '//user@example.com/',
    '//exa_mple.com/',
    '//-example.com/',
    '//example-.com/',
    '//example..com/',
    '//example.com./',
    '//example.com:0/',
    '//example.com:65536/',
    '//example.com:080/',
    '//example.com:/',
    '//[::1]/',
    '//exämple.com/',
    `//${'a'.repeat(64)}.com/`,
    `//${Array.from({ length: 64 }, () => 'abc').join('.')}/`,
  ];
  for (const text of badHosts) assertParseError(text, 1, /host/);
  assertParseError('//a:8080:1/', 1, /not a valid host/, /:port \(1-65535\)/);
});

test('paths must be printable ASCII without spaces', () => {
  assertParseError('/café', 1, /printable ASCII/, /percent-encode/);
  assertParseError('//example.com/\u00a0', 1, /printable ASCII/);
});

test('control characters are rejected, tabs are allowed', () => {
  assertParseError('/ok\n/a\u0001b', 2, /U\+0001/);
  assertParseError('/ ok\u007f', 1, /U\+007F/);
  assertParseError('/ ok\u0085', 1, /U\+0085/);
  assertParseError('/\u000b', 1, /U\+000B/);
  assertParseError('/a\rb', 1, /carriage return/, /LF or CRLF/);
  assert.equal(onlyCheck('/\tok').expected, 'ok');
});

test('oversized and binary files are rejected at line 0', () => {
  const oversized = `# ${'é'.repeat(CHECKS_LIMITS.maxBytes / 2)}\n/`;
  assert.ok(oversized.length < CHECKS_LIMITS.maxBytes, 'size must be measured in UTF-8 bytes');
  assertParseError(oversized, 0, /^CHECKS is \d+ bytes, over the limit of 65536 bytes/);
  assertParseError('/ok\n\0', 0, /^CHECKS looks binary/);
  assert.doesNotThrow(() => parseChecks(`#${'x'.repeat(CHECKS_LIMITS.maxBytes - 1)}`));
});

test('at most maxChecks checks', () => {
  const lines = Array.from({ length: CHECKS_LIMITS.maxChecks }, (_, index) => `/${index}`);
  assert.equal(parseChecks(lines.join('\n')).checks.length, CHECKS_LIMITS.maxChecks);
  assertParseError([...lines, '/one-too-many'].join('\n'), CHECKS_LIMITS.maxChecks + 1, /more than 100 checks/);
});

test('CHECKS.example parses', () => {
  const file = parseChecks(readFileSync(join(PACKAGE_ROOT, 'CHECKS.example'), 'utf8'));
  assert.ok(file.checks.length >= 2);
  assert.equal(file.waitSeconds, undefined);
});

