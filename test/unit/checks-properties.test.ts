// Properties of parseChecks on random whole CHECKS files: it returns a well-formed ChecksFile or
// throws ChecksParseError pointing at the first bad line, and never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { CHECKS_LIMITS, ChecksParseError, parseChecks, type ChecksFile } from '../../src/checks/parser.js';
import { forAllCases, propertySeed, type Random } from '../support/random.js';

const CASES = 300;
const LINE_CASES = 5000;
const DEFAULT_SEED = 0x5eed;
const BOM = '\ufeff';

// ---- lines

const VALID_HOSTS = ['example.com', 'localhost', 'a', 'my-app.example.com:8080', '10.0.0.1:65535', 'x:1', `${'a'.repeat(63)}.com`, [...Array(3).fill('a'.repeat(63)), 'b'.repeat(61)].join('.')];
const INVALID_HOSTS = ['', 'x:0', 'x:65536', 'x:080', 'x:', 'a:1:2', 'exa_mple.com', '-a.com', 'a-.com', 'a..b', 'a.', '[::1]', 'exämple.com', `${'a'.repeat(64)}.com`, [...Array(3).fill('a'.repeat(63)), 'b'.repeat(62)].join('.'), 'user@host'];
const VALID_PATHS = ['', '/', '/health', '/a?b=c&d=%20', '/~!*()[]', '//x', '?q=1', `/${'p'.repeat(2000)}`];
const INVALID_PATHS = ['/é', '/\u00a0', '/\ufeff', '/a\u2028'];
const VALID_EXPECTED = ['', ' ok', '\tOur   team', ' Grüße 👋', ' "quoted" # not a comment', ' \ufeff'];
const INVALID_EXPECTED = [' a\u0001b', ' \u0085', ' x\u007f', ' a\rb', ' a\u000bb'];
const DIRECTIVE_NAMES = ['WAIT', 'TIMEOUT', 'ATTEMPTS'];
const UNKNOWN_DIRECTIVE_NAMES = ['wait', 'FOO', 'CHECK_URL', 'WAIT_', 'TIMEOUT_SECONDS'];
const DIRECTIVE_VALUES = ['0', '1', '30', '100', '101', '600', '601', '-1', '1.5', '', '007', '0x10', '1e3', '5 s', '٣', '99999999999999999999'];
const SPACE = ['', ' ', '\t', ' \t '];
// Everything a CHECKS line must cope with: syntax, controls (but no line feed), unicode, lone surrogates.
const GARBAGE_CHARACTERS = [...'abcXYZ019/:=#?.-_@[] ', '\t', '\r', '\0', '\u0001', '\u001f', '\u007f', '\u0085', 'é', '\u00a0', '\u2028', BOM, '👋', '\ud800', '\udfff'];

function validCheckLine(random: Random): string {
  const target = random.oneOf([
    () => `/${random.pick(VALID_PATHS).replace(/^\//, '')}`,
    () => `//${random.pick(VALID_HOSTS)}${random.pick(VALID_PATHS)}`,
    () => `${random.pick(['http', 'https', 'HTTPS'])}://${random.pick(VALID_HOSTS)}${random.pick(VALID_PATHS)}`,
  ]);
  return random.pick(SPACE) + target + random.pick(VALID_EXPECTED) + random.pick(SPACE);
}

/** A check line with one part spoilt, or of an unsupported form. */
function invalidCheckLine(random: Random): string {
  return random.oneOf([
    () => `//${random.pick(INVALID_HOSTS)}${random.pick(VALID_PATHS)}`,
    () => `https://${random.pick(VALID_HOSTS)}${random.pick(INVALID_PATHS)}`,
    () => `/${random.pick(INVALID_PATHS)}`,
    () => `/ok${random.pick(INVALID_EXPECTED)}`,
    () => `${random.pick(['ftp', 'h', 'file'])}://${random.pick(VALID_HOSTS)}/`,
    () => random.pick(['health', './health', 'www.example.com/health', '=5']),
  ]);
}

function directiveLine(random: Random, names: readonly string[], value: string): string {
  return `${random.pick(SPACE)}${random.pick(names)}${random.pick(SPACE)}=${random.pick(SPACE)}${value}${random.pick(SPACE)}`;
}

function validDirectiveLine(random: Random): string {
  const [name, min, max] = random.pick([
    ['WAIT', 0, CHECKS_LIMITS.maxWaitSeconds],
    ['TIMEOUT', 1, CHECKS_LIMITS.maxTimeoutSeconds],
    ['ATTEMPTS', 1, CHECKS_LIMITS.maxAttempts],
  ] as const);
  return directiveLine(random, [name], String(random.pick([min, max, random.int(min, max)])));
}

/** Known directives with values in and out of range, and unknown directives. */
function riskyDirectiveLine(random: Random): string {
  return random.oneOf([
    () => directiveLine(random, DIRECTIVE_NAMES, random.pick(DIRECTIVE_VALUES)),
    () => directiveLine(random, UNKNOWN_DIRECTIVE_NAMES, String(random.int(0, 1000))),
  ]);
}

function commentOrBlankLine(random: Random): string {
  return random.oneOf([() => random.pick(SPACE), () => `${random.pick(SPACE)}#${garbage(random, random.int(0, 40))}`]);
}

function garbage(random: Random, length: number): string {
  return random.string(GARBAGE_CHARACTERS, length);
}

/** Random bytes read as a pushed file is read (invalid UTF-8 becomes U+FFFD); they may hold line feeds. */
function binaryLine(random: Random): string {
  return Buffer.from(random.array(random.int(1, 40), () => random.int(0, 255))).toString('utf8');
}

function longLine(random: Random): string {
  const length = random.int(1_000, 2 * CHECKS_LIMITS.maxBytes);
  return random.oneOf([() => `/${'a'.repeat(length)} ok`, () => `# ${'é'.repeat(Math.floor(length / 2))}`, () => `/ ${garbage(random, length)}`]);
}

function validLine(random: Random): string {
  return random.pick([validCheckLine, validCheckLine, validDirectiveLine, commentOrBlankLine])(random);
}

function riskyLine(random: Random): string {
  return random.pick([invalidCheckLine, riskyDirectiveLine, (r: Random) => garbage(r, r.int(0, 30)), binaryLine, longLine])(random);
}

/** Mostly valid lines with a few risky ones, so that files of every length parse now and then. */
function generateLines(random: Random): string[] {
  const risk = random.pick([0, 0.01, 0.05, 0.3]);
  const line = () => (random.chance(risk) ? riskyLine(random) : validLine(random));
  return random.oneOf([
    () => random.array(random.int(0, 12), line),
    () => random.array(random.int(0, 150), line),
    // Around the limit on the number of checks.
    () => random.array(CHECKS_LIMITS.maxChecks + random.int(-3, 3), () => (random.chance(0.97) ? `/${random.int(0, 999)}` : line())),
  ]);
}

// ---- files

const LINE_ENDS = { lf: ['\n'], crlf: ['\r\n'], mixed: ['\n', '\r\n', '\r'] };

function generateFile(random: Random): string {
  const lines = generateLines(random);
  const ends = LINE_ENDS[random.pick(['lf', 'crlf', 'mixed'] as const)];
  let text = lines.map((line) => line + random.pick(ends)).join('');
  if (random.chance(0.1)) text = BOM + text;
  if (random.chance(0.2)) text = padToBytes(text, CHECKS_LIMITS.maxBytes + random.int(-3, 3), random.pick(['x', 'é']));
  return text;
}

/** Adds a comment line that brings the file to `target` UTF-8 bytes (or leaves a file already larger). */
function padToBytes(text: string, target: number, filler: 'x' | 'é'): string {
  const room = target - Buffer.byteLength(text) - '#\n'.length;
  if (room < 0) return text;
  const fillerBytes = Buffer.byteLength(filler);
  return `${text}#${filler.repeat(Math.floor(room / fillerBytes))}${'x'.repeat(room % fillerBytes)}\n`;
}

// ---- what parseChecks may answer

type Outcome = { file: ChecksFile } | { error: { line: number; message: string } };

/** What parseChecks made of `text`; any exception other than ChecksParseError fails the test. */
function parseOutcome(text: string): Outcome {
  try {
    return { file: parseChecks(text) };
  } catch (error) {
    if (!(error instanceof ChecksParseError)) throw new Error(`parseChecks threw ${String(error)} instead of a ChecksParseError`, { cause: error });
    return { error: { line: error.line, message: error.message } };
  }
}

/** The lines as parseChecks numbers them: split at line feeds, after a leading byte order mark. */
function physicalLines(text: string): string[] {
  return text.replace(/^\ufeff/, '').split('\n');
}

function assertWithin(value: number | undefined, min: number, max: number, what: string): void {
  if (value === undefined) return;
  assert.ok(Number.isInteger(value) && value >= min && value <= max, `${what} ${value} is outside ${min}..${max}`);
}

const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function assertValidHost(host: string): void {
  const [hostname, port, ...rest] = host.split(':');
  assert.equal(rest.length, 0, `host ${host} has more than one colon`);
  assert.ok(hostname.length <= 253 && hostname.split('.').every((label) => HOST_LABEL.test(label)), `host name ${hostname} is not valid`);
  if (port !== undefined) assert.ok(/^[1-9][0-9]*$/.test(port) && Number(port) <= 65535, `port ${port} is not valid`);
}

function assertWellFormed(file: ChecksFile, text: string): void {
  const lines = physicalLines(text);
  assertWithin(file.waitSeconds, 0, CHECKS_LIMITS.maxWaitSeconds, 'WAIT');
  assertWithin(file.timeoutSeconds, 1, CHECKS_LIMITS.maxTimeoutSeconds, 'TIMEOUT');
  assertWithin(file.attempts, 1, CHECKS_LIMITS.maxAttempts, 'ATTEMPTS');
  assert.ok(file.checks.length <= CHECKS_LIMITS.maxChecks, `${file.checks.length} checks`);
  let previousLine = 0;
  for (const check of file.checks) {
    assert.ok(check.line > previousLine && check.line <= lines.length, `check line ${check.line} after ${previousLine} of ${lines.length}`);
    previousLine = check.line;
    assert.equal(check.source, lines[check.line - 1].replace(/\r$/, '').replace(/^[ \t]+|[ \t]+$/g, ''), 'source is its line, trimmed');
    assert.ok(check.scheme === 'http' || check.scheme === 'https', `scheme ${check.scheme}`);
    assert.match(check.path, /^\/[\x21-\x7e]*$/);
    if (check.host !== undefined) assertValidHost(check.host);
    if (check.expected !== undefined) {
      assert.match(check.expected, /^[^ \t](.*[^ \t])?$/su, 'expected content is trimmed and not empty');
      assert.doesNotMatch(check.expected, /(?!\t)\p{Cc}/u, 'expected content has a control character');
    }
  }
}

/** Line 0 is for faults of the whole file; any other line is the first bad one, so the lines before it parse. */
function assertPointsAtFirstBadLine(error: { line: number; message: string }, text: string): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > CHECKS_LIMITS.maxBytes) {
    assert.equal(error.line, 0);
    assert.match(error.message, /over the limit/);
    return;
  }
  if (text.includes('\0')) {
    assert.equal(error.line, 0);
    assert.match(error.message, /binary/);
    return;
  }
  const lines = physicalLines(text);
  assert.ok(error.line >= 1 && error.line <= lines.length, `error at line ${error.line} of ${lines.length}`);
  assert.ok(error.message.startsWith(`CHECKS line ${error.line}: `) && error.message.length > `CHECKS line ${error.line}: `.length, error.message);
  const before = parseOutcome(lines.slice(0, error.line - 1).join('\n'));
  assert.ok('file' in before, `the lines before line ${error.line} do not parse either: ${'error' in before ? before.error.message : ''}`);
}

/** The main property; true when the text parsed. */
function assertWellFormedOrFirstBadLine(text: string): boolean {
  const outcome = parseOutcome(text);
  if ('file' in outcome) assertWellFormed(outcome.file, text);
  else assertPointsAtFirstBadLine(outcome.error, text);
  return 'file' in outcome;
}

/** A generator that drifts to producing only bad (or only good) input would test little. */
function assertBalanced(parsed: number, cases: number, seed: number): void {
  assert.ok(parsed >= cases * 0.1 && parsed <= cases * 0.9, `${parsed} of ${cases} parsed (seed ${seed}): the generator needs rebalancing`);
}

test(`${CASES} random files parse into well-formed checks or throw ChecksParseError at the first bad line`, async (t) => {
  const seed = propertySeed(DEFAULT_SEED);
  let parsed = 0;
  await forAllCases({ seed, cases: CASES }, generateFile, (text) => {
    if (assertWellFormedOrFirstBadLine(text)) parsed++;
  });
  t.diagnostic(`seed ${seed}; ${parsed} of ${CASES} files parsed`);
  assertBalanced(parsed, CASES, seed);
});

// In a file the first bad line hides the rest, so single lines get many more cases of their own.
test(`${LINE_CASES} random single lines parse into well-formed checks or throw ChecksParseError`, async (t) => {
  const seed = propertySeed(DEFAULT_SEED);
  let parsed = 0;
  await forAllCases({ seed, cases: LINE_CASES }, (random) => (random.chance(0.5) ? riskyLine(random) : validLine(random)), (line) => {
    if (assertWellFormedOrFirstBadLine(line)) parsed++;
  });
  t.diagnostic(`seed ${seed}; ${parsed} of ${LINE_CASES} lines parsed`);
  assertBalanced(parsed, LINE_CASES, seed);
});

test(`${CASES} random files parse the same with LF and with CRLF line ends`, async () => {
  const seed = propertySeed(DEFAULT_SEED);
  // In an LF file a line that itself ends in CR reads as a CRLF line, so such lines are left out.
  const generateContent = (random: Random) => generateLines(random).flatMap((line) => line.split('\n')).map((line) => line.replace(/\r+$/, ''));
  await forAllCases({ seed, cases: CASES }, generateContent, (lines) => {
    const crlf = lines.join('\r\n');
    // CRLF adds a byte per line, which may take a file over the size limit.
    if (Buffer.byteLength(crlf) > CHECKS_LIMITS.maxBytes) return;
    assert.deepEqual(parseOutcome(crlf), parseOutcome(lines.join('\n')));
  });
});

test(`${CASES} random files parse the same with and without a leading byte order mark`, async () => {
  const seed = propertySeed(DEFAULT_SEED);
  // Only one mark is skipped, so content that starts with one of its own is left out.
  const generateContent = (random: Random) => generateLines(random).join('\n').replace(/^\ufeff+/, '');
  await forAllCases({ seed, cases: CASES }, generateContent, (text) => {
    // The mark adds 3 bytes, which may take a file over the size limit.
    if (Buffer.byteLength(BOM + text) > CHECKS_LIMITS.maxBytes) return;
    assert.deepEqual(parseOutcome(BOM + text), parseOutcome(text));
  });
});
