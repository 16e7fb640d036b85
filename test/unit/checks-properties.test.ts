// Properties of parseChecks on random whole CHECKS files: it returns a well-formed ChecksFile or
// throws ChecksParseError pointing at the first bad line, and never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { CHECKS_LIMITS, ChecksParseError, parseChecks, type ChecksFile } from '../../src/checks/parser.js';
import { arrayOf, boundsOrBetween, joined, percentOf, propertyParameters, stringOf } from '../support/properties.js';

const CASES = 1000;
const LINE_CASES = 20000;
const DEFAULT_SEED = 0x5eed;
const BOM = '\ufeff';

// ---- lines

const VALID_HOSTS = ['example.com', 'localhost', 'a', 'my-app.example.com:8080', '10.0.0.1:65535', 'x:1', `${'a'.repeat(63)}.com`, [...Array(3).fill('a'.repeat(63)), 'b'.repeat(61)].join('.')];
const INVALID_HOSTS = ['', 'x:0', 'x:65536', 'x:080', 'x:', 'a:1:2', 'exa_mple.com', '-a.com', 'a-.com', 'a..b', 'a.', '[::1]', 'exämple.com', `${'a'.repeat(64)}.com`, [...Array(3).fill('a'.repeat(63)), 'b'.repeat(62)].join('.'), 'user@host'];
const VALID_PATHS = ['', '/', '/health', '/a?b=c&d=%20', '/~!*()[]', '//x', '?q=1', `/${'p'.repeat(2000)}`];
const INVALID_PATHS = ['/é', '/\u00a0', '/\ufeff', '/a\u2028'];
const VALID_EXPECTED = ['', ' ok', '\tOur   team', ' Grüße 👋', ' "quoted" #a comment', ' color:#fff', ' \ufeff'];
const INVALID_EXPECTED = [' a\u0001b', ' \u0085', ' x\u007f', ' a\rb', ' a\u000bb'];
const DIRECTIVE_NAMES = ['WAIT', 'TIMEOUT', 'ATTEMPTS'];
const UNKNOWN_DIRECTIVE_NAMES = ['wait', 'FOO', 'CHECK_URL', 'WAIT_', 'TIMEOUT_SECONDS'];
const DIRECTIVE_VALUES = ['0', '1', '30', '100', '101', '600', '601', '-1', '1.5', '', '007', '0x10', '1e3', '5 s', '٣', '99999999999999999999'];
const SPACE = ['', ' ', '\t', ' \t '];
// Everything a CHECKS line must cope with: syntax, controls (but no line feed), unicode, lone surrogates.
const GARBAGE_CHARACTERS = [...'abcXYZ019/:=#?.-_@[] ', '\t', '\r', '\0', '\u0001', '\u001f', '\u007f', '\u0085', 'é', '\u00a0', '\u2028', BOM, '👋', '\ud800', '\udfff'];

const space = fc.constantFrom(...SPACE);
const validHost = fc.constantFrom(...VALID_HOSTS);
const validPath = fc.constantFrom(...VALID_PATHS);

/** Nothing, or a comment after a space or tab, as Dokku's examples write them. */
const inlineComment = fc.oneof(fc.constant(''), joined(fc.constantFrom(' ', '\t', '  '), '#', stringOf([...'abc =#/'], 0, 20)));

const validCheckLine = joined(
  space,
  fc.oneof(
    validPath.map((path) => `/${path.replace(/^\//, '')}`),
    joined('//', validHost, validPath),
    joined(fc.constantFrom('http', 'https', 'HTTPS'), '://', validHost, validPath),
  ),
  fc.constantFrom(...VALID_EXPECTED),
  space,
  inlineComment,
);

/** A check line with one part spoilt, or of an unsupported form. */
const invalidCheckLine = fc.oneof(
  joined('//', fc.constantFrom(...INVALID_HOSTS), validPath),
  joined('https://', validHost, fc.constantFrom(...INVALID_PATHS)),
  joined('/', fc.constantFrom(...INVALID_PATHS)),
  joined('/ok', fc.constantFrom(...INVALID_EXPECTED)),
  joined(fc.constantFrom('ftp', 'h', 'file'), '://', validHost, '/'),
  fc.constantFrom('health', './health', 'www.example.com/health', '=5'),
);

function directiveLine(names: readonly string[], value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return joined(space, fc.constantFrom(...names), space, '=', space, value, space, inlineComment);
}

const validDirectiveLine = fc.oneof(
  directiveLine(['WAIT'], boundsOrBetween(0, CHECKS_LIMITS.maxWaitSeconds).map(String)),
  directiveLine(['TIMEOUT'], boundsOrBetween(1, CHECKS_LIMITS.maxTimeoutSeconds).map(String)),
  directiveLine(['ATTEMPTS'], boundsOrBetween(1, CHECKS_LIMITS.maxAttempts).map(String)),
);

/** Known directives with values in and out of range, and unknown directives. */
const riskyDirectiveLine = fc.oneof(
  directiveLine(DIRECTIVE_NAMES, fc.constantFrom(...DIRECTIVE_VALUES)),
  directiveLine(UNKNOWN_DIRECTIVE_NAMES, fc.integer({ min: 0, max: 1000 }).map(String)),
);

function garbage(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return stringOf(GARBAGE_CHARACTERS, minLength, maxLength);
}

const commentOrBlankLine = fc.oneof(space, joined(space, '#', garbage(0, 40)));

/** Random bytes read as a pushed file is read (invalid UTF-8 becomes U+FFFD); they may hold line feeds. */
const binaryLine = fc.uint8Array({ minLength: 1, maxLength: 40, size: 'max' }).map((bytes) => Buffer.from(bytes).toString('utf8'));

const longLineLength = fc.integer({ min: 1_000, max: 2 * CHECKS_LIMITS.maxBytes });

/** fast-check draws a string one character at a time, over a microsecond each, so long garbage repeats a short draw. */
const longGarbage = fc.tuple(longLineLength, garbage(1, 100)).map(([length, piece]) => piece.repeat(Math.ceil(length / piece.length)).slice(0, length));

const longLine = fc.oneof(
  longLineLength.map((length) => `/${'a'.repeat(length)} ok`),
  longLineLength.map((length) => `# ${'é'.repeat(Math.floor(length / 2))}`),
  joined('/ ', longGarbage),
);

const validLine = fc.oneof({ arbitrary: validCheckLine, weight: 2 }, validDirectiveLine, commentOrBlankLine);

const riskyLine = fc.oneof(invalidCheckLine, riskyDirectiveLine, garbage(0, 30), binaryLine, longLine);

/** Lines of which `riskPercent` in a hundred are risky. */
function linesAtRisk(riskPercent: number): fc.Arbitrary<string[]> {
  const line = percentOf(riskPercent, riskyLine, validLine);
  return fc.oneof(
    arrayOf(line, 0, 12),
    arrayOf(line, 0, 150),
    // Around the limit on the number of checks.
    arrayOf(percentOf(97, fc.integer({ min: 0, max: 999 }).map((n) => `/${n}`), line), CHECKS_LIMITS.maxChecks - 3, CHECKS_LIMITS.maxChecks + 3),
  );
}

/** Mostly valid lines with a few risky ones, so that files of every length parse now and then. */
const fileLines = fc.oneof(...[0, 1, 5, 30].map(linesAtRisk));

// ---- files

const LINE_ENDS = { lf: ['\n'], crlf: ['\r\n'], mixed: ['\n', '\r\n', '\r'] };

/** The lines, each ended with one of the file's kind of line ends. */
const endedLines = fc
  .tuple(fileLines, fc.constantFrom(...Object.values(LINE_ENDS)))
  .chain(([content, ends]) => arrayOf(fc.constantFrom(...ends), content.length, content.length).map((chosen) => content.map((line, index) => line + chosen[index]).join('')));

interface Padding {
  bytes: number;
  filler: 'x' | 'é';
}

const paddingNearLimit = fc.record({ bytes: fc.integer({ min: CHECKS_LIMITS.maxBytes - 3, max: CHECKS_LIMITS.maxBytes + 3 }), filler: fc.constantFrom<'x' | 'é'>('x', 'é') });

const fileText = fc
  .record({
    text: endedLines,
    bom: percentOf(10, fc.constant(true), fc.constant(false)),
    padding: percentOf<Padding | undefined>(20, paddingNearLimit, fc.constant(undefined)),
  })
  .map(({ text, bom, padding }) => {
    const marked = bom ? BOM + text : text;
    return padding ? padToBytes(marked, padding) : marked;
  });

/** Adds a comment line that brings the file to `bytes` UTF-8 bytes (or leaves a file already larger). */
function padToBytes(text: string, { bytes, filler }: Padding): string {
  const room = bytes - Buffer.byteLength(text) - '#\n'.length;
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
    assert.equal(check.source, lines[check.line - 1].replace(/\r$/, '').replace(/(^|[ \t])#.*$/s, '').replace(/^[ \t]+|[ \t]+$/g, ''), 'source is its line without its comment, trimmed');
    assert.ok(check.scheme === 'http' || check.scheme === 'https', `scheme ${check.scheme}`);
    assert.match(check.path, /^\/[\x21-\x7e]*$/);
    if (check.host !== undefined) assertValidHost(check.host);
    if (check.expected !== undefined) {
      assert.match(check.expected, /^[^ \t](.*[^ \t])?$/su, 'expected content is trimmed and not empty');
      assert.doesNotMatch(check.expected, /(?!\t)\p{Cc}/u, 'expected content has a control character');
      assert.doesNotMatch(check.expected, /[ \t]#/, 'expected content holds a comment');
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

test(`${CASES} random files parse into well-formed checks or throw ChecksParseError at the first bad line`, (t) => {
  const parameters = propertyParameters(CASES, DEFAULT_SEED);
  let parsed = 0;
  fc.assert(
    fc.property(fileText, (text) => {
      if (assertWellFormedOrFirstBadLine(text)) parsed++;
    }),
    parameters,
  );
  t.diagnostic(`seed ${parameters.seed}; ${parsed} of ${CASES} files parsed`);
  assertBalanced(parsed, CASES, parameters.seed);
});

// In a file the first bad line hides the rest, so single lines get many more cases of their own.
test(`${LINE_CASES} random single lines parse into well-formed checks or throw ChecksParseError`, (t) => {
  const parameters = propertyParameters(LINE_CASES, DEFAULT_SEED);
  let parsed = 0;
  fc.assert(
    fc.property(fc.oneof(riskyLine, validLine), (line) => {
      if (assertWellFormedOrFirstBadLine(line)) parsed++;
    }),
    parameters,
  );
  t.diagnostic(`seed ${parameters.seed}; ${parsed} of ${LINE_CASES} lines parsed`);
  assertBalanced(parsed, LINE_CASES, parameters.seed);
});

// In an LF file a line that itself ends in CR reads as a CRLF line, so such lines are left out.
const linesWithoutEnds = fileLines.map((content) => content.flatMap((line) => line.split('\n')).map((line) => line.replace(/\r+$/, '')));

test(`${CASES} random files parse the same with LF and with CRLF line ends`, () => {
  fc.assert(
    fc.property(linesWithoutEnds, (content) => {
      const crlf = content.join('\r\n');
      // CRLF adds a byte per line, which may take a file over the size limit.
      fc.pre(Buffer.byteLength(crlf) <= CHECKS_LIMITS.maxBytes);
      assert.deepEqual(parseOutcome(crlf), parseOutcome(content.join('\n')));
    }),
    propertyParameters(CASES, DEFAULT_SEED),
  );
});

// Only one mark is skipped, so content that starts with one of its own is left out.
const textWithoutMark = fileLines.map((content) => content.join('\n').replace(/^\ufeff+/, ''));

test(`${CASES} random files parse the same with and without a leading byte order mark`, () => {
  fc.assert(
    fc.property(textWithoutMark, (text) => {
      // The mark adds 3 bytes, which may take a file over the size limit.
      fc.pre(Buffer.byteLength(BOM + text) <= CHECKS_LIMITS.maxBytes);
      assert.deepEqual(parseOutcome(BOM + text), parseOutcome(text));
    }),
    propertyParameters(CASES, DEFAULT_SEED),
  );
});

// A comment after a line is no part of it: Dokku's examples write `WAIT=30  # half a minute`.
const lineAndComment = fc.tuple(fc.oneof(validCheckLine, validDirectiveLine, riskyLine), joined(fc.constantFrom(' ', '\t'), '#', garbage(0, 30)));

test(`${LINE_CASES} random lines parse the same with a comment after them`, () => {
  fc.assert(
    fc.property(lineAndComment, ([line, comment]) => {
      // A comment adds bytes, which may take a line over the size limit; a NUL in it makes the file binary.
      fc.pre(Buffer.byteLength(line + comment) <= CHECKS_LIMITS.maxBytes && !comment.includes('\0') && !line.includes('\n') && !line.endsWith('\r'));
      const withComment = parseOutcome(line + comment);
      const without = parseOutcome(line);
      if ('file' in without && 'file' in withComment) without.file.checks.forEach((check, i) => assert.equal(withComment.file.checks[i].expected, check.expected));
      assert.equal('file' in withComment, 'file' in without, `${JSON.stringify(line + comment)} and ${JSON.stringify(line)} differ`);
    }),
    propertyParameters(LINE_CASES, DEFAULT_SEED),
  );
});
