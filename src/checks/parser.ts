import { Buffer } from 'node:buffer';

export interface CheckSpec {
  line: number;
  source: string;
  scheme: 'http' | 'https';
  host: string | undefined;
  path: string;
  expected: string | undefined;
}

export interface ChecksFile {
  waitSeconds: number | undefined;
  timeoutSeconds: number | undefined;
  attempts: number | undefined;
  checks: CheckSpec[];
}

export class ChecksParseError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
    this.name = 'ChecksParseError';
  }
}

export const CHECKS_LIMITS = {
  maxBytes: 64 * 1024,
  maxChecks: 100,
  maxWaitSeconds: 600,
  maxTimeoutSeconds: 600,
  maxAttempts: 100,
} as const;

type DirectiveField = 'waitSeconds' | 'timeoutSeconds' | 'attempts';

interface DirectiveRule {
  field: DirectiveField;
  min: number;
  max: number;
  unit: string;
}

const DIRECTIVES = new Map<string, DirectiveRule>([
  ['WAIT', { field: 'waitSeconds', min: 0, max: CHECKS_LIMITS.maxWaitSeconds, unit: 'seconds' }],
  ['TIMEOUT', { field: 'timeoutSeconds', min: 1, max: CHECKS_LIMITS.maxTimeoutSeconds, unit: 'seconds' }],
  ['ATTEMPTS', { field: 'attempts', min: 1, max: CHECKS_LIMITS.maxAttempts, unit: 'attempts' }],
]);
const KNOWN_DIRECTIVES = [...DIRECTIVES.keys()].join(', ');

const CHECK_FORMS = '/path, //host/path, http://host/path or https://host/path, optionally followed by the expected content';

const DIRECTIVE_LINE = /^([A-Z_]+)[ \t]*=[ \t]*(.*)$/s;
const INLINE_COMMENT = /(?:^|[ \t])#.*$/s;
// A directive's value is a number, so a # anywhere in it starts a comment, as in Dokku's parser.
const DIRECTIVE_COMMENT = /#.*$/s;
const CHECK_LINE = /^([^ \t]+)(?:[ \t]+(.*))?$/s;
const HTTP_URL = /^(https?):\/\/(.*)$/is;
const OTHER_URL = /^([a-z][a-z0-9+.-]*):\/\//i;
const CONTROL_CHARACTER_EXCEPT_TAB = /(?!\t)\p{Cc}/u;
const PRINTABLE_ASCII_PATH = /^\/[\x21-\x7e]*$/;
const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_WITH_PORT = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*(?::[1-9][0-9]{0,4})?$`);
const MAX_HOSTNAME_LENGTH = 253;
const MAX_PORT = 65535;

export function parseChecks(text: string): ChecksFile {
  assertPlainTextWithinLimit(text);
  const file: ChecksFile = { waitSeconds: undefined, timeoutSeconds: undefined, attempts: undefined, checks: [] };
  withoutByteOrderMark(text).split('\n').forEach((rawLine, index) => parseLine(rawLine, index + 1, file));
  return file;
}

// Windows editors may start a UTF-8 file with U+FEFF; left in, it made line 1 an invisible non-check.
function withoutByteOrderMark(text: string): string {
  return text.startsWith('\ufeff') ? text.slice(1) : text;
}

function assertPlainTextWithinLimit(text: string): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > CHECKS_LIMITS.maxBytes) {
    throw new ChecksParseError(
      0,
      `CHECKS is ${bytes} bytes, over the limit of ${CHECKS_LIMITS.maxBytes} bytes; shorten it (fewer checks or shorter comments)`,
    );
  }
  if (text.includes('\0')) {
    throw new ChecksParseError(0, 'CHECKS looks binary (it contains a NUL byte); save it as plain UTF-8 text');
  }
}

function parseLine(rawLine: string, line: number, file: ChecksFile): void {
  const source = withoutComment(rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine);
  if (source === '') return;
  rejectControlCharacters(source, line);
  const directive = DIRECTIVE_LINE.exec(source);
  if (directive) {
    applyDirective(directive[1], trimSpacesAndTabs(directive[2].replace(DIRECTIVE_COMMENT, '')), source, line, file);
    return;
  }
  file.checks.push(parseCheckLine(source, line));
  if (file.checks.length > CHECKS_LIMITS.maxChecks) {
    throw lineError(line, `more than ${CHECKS_LIMITS.maxChecks} checks; keep at most ${CHECKS_LIMITS.maxChecks} check lines`);
  }
}

/**
 * Dokku's own examples put comments after directives (`WAIT=30  # half a minute`). A # that starts
 * the line or follows a space or tab starts a comment; inside a word (`/page#top`, `color:#fff`)
 * it is text, so expected content may still hold one.
 */
function withoutComment(text: string): string {
  return trimSpacesAndTabs(text.replace(INLINE_COMMENT, ''));
}

// Only spaces and tabs are trimmed so that other invisible characters stay and get rejected.
function trimSpacesAndTabs(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

function rejectControlCharacters(source: string, line: number): void {
  const match = CONTROL_CHARACTER_EXCEPT_TAB.exec(source);
  if (!match) return;
  if (match[0] === '\r') {
    throw lineError(line, 'contains a carriage return (U+000D) inside the line; save CHECKS with LF or CRLF line endings');
  }
  throw lineError(line, `contains the control character ${codePointLabel(match[0])}; remove it (only printable text and tabs are allowed)`);
}

function codePointLabel(character: string): string {
  return `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

function applyDirective(name: string, value: string, source: string, line: number, file: ChecksFile): void {
  const rule = DIRECTIVES.get(name);
  if (rule === undefined) {
    throw lineError(line, `unknown directive ${source} (known: ${KNOWN_DIRECTIVES})`);
  }
  const number = /^[0-9]{1,9}$/.test(value) ? Number(value) : undefined;
  if (number === undefined || number < rule.min || number > rule.max) {
    throw lineError(
      line,
      `${source} is not valid; write ${name}=n with n a whole number of ${rule.unit} from ${rule.min} to ${rule.max}`,
    );
  }
  file[rule.field] = number;
}

function parseCheckLine(source: string, line: number): CheckSpec {
  const match = CHECK_LINE.exec(source)!;
  const expected: string | undefined = match[2];
  return { line, source, ...parseTarget(match[1], line), expected };
}

function parseTarget(target: string, line: number): Pick<CheckSpec, 'scheme' | 'host' | 'path'> {
  if (target.startsWith('//')) {
    return { scheme: 'http', ...parseHostAndPath(target.slice(2), line) };
  }
  if (target.startsWith('/')) {
    return { scheme: 'http', host: undefined, path: validatePath(target, line) };
  }
  const url = HTTP_URL.exec(target);
  if (url) {
    return { scheme: url[1].toLowerCase() === 'https' ? 'https' : 'http', ...parseHostAndPath(url[2], line) };
  }
  const otherScheme = OTHER_URL.exec(target);
  if (otherScheme) {
    throw lineError(line, `${JSON.stringify(target)} uses the unsupported scheme ${otherScheme[1]}; a check line is ${CHECK_FORMS}`);
  }
  throw lineError(line, `cannot read ${JSON.stringify(target)} as a check; a check line is ${CHECK_FORMS}`);
}

function parseHostAndPath(hostAndPath: string, line: number): { host: string; path: string } {
  const pathStart = hostAndPath.search(/[/?]/);
  const host = pathStart < 0 ? hostAndPath : hostAndPath.slice(0, pathStart);
  const pathPart = pathStart < 0 ? '' : hostAndPath.slice(pathStart);
  return {
    host: validateHost(host, line),
    path: validatePath(pathPart.startsWith('/') ? pathPart : `/${pathPart}`, line),
  };
}

function validateHost(host: string, line: number): string {
  if (host === '') {
    throw lineError(line, 'the host is missing; write //host/path or http(s)://host/path, e.g. //myapp.example.com/health');
  }
  const [hostname, port] = host.split(':');
  const valid =
    HOST_WITH_PORT.test(host) && hostname.length <= MAX_HOSTNAME_LENGTH && (port === undefined || Number(port) <= MAX_PORT);
  if (!valid) {
    throw lineError(
      line,
      `${JSON.stringify(host)} is not a valid host; use letters, digits, hyphens and dots, optionally followed by :port (1-${MAX_PORT}), e.g. myapp.example.com:8080`,
    );
  }
  return host;
}

function validatePath(path: string, line: number): string {
  if (!PRINTABLE_ASCII_PATH.test(path)) {
    throw lineError(
      line,
      `the path ${JSON.stringify(path)} may contain only printable ASCII without spaces; percent-encode anything else (e.g. %C3%A9 for é)`,
    );
  }
  return path;
}

function lineError(line: number, problem: string): ChecksParseError {
  return new ChecksParseError(line, `CHECKS line ${line}: ${problem}`);
}
