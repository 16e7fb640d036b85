import nunjucks from 'nunjucks';
import path from 'node:path';
import { isValidDomain } from '../model/app.js';
import { TEMPLATES_DIR } from '../paths.js';

export interface Upstream {
  host: string;
  port: number;
}

/** The edge's main config: the only nginx config berth writes, and the only change that reloads nginx. */
export interface EdgeMainSpec {
  prefix: string;
  httpPort: number;
  httpsPort: number;
  domain: string;
  drainTimeoutSeconds: number;
  /** `load_module` lines for the Lua module (and the module it needs), or none where nginx has it built in. */
  loadModules: string[];
  /** The folder of berth_edge.lua, and a digest of it: a new berth_edge.lua changes the config, so nginx reloads it. */
  luaDir: string;
  luaDigest: string;
  /** The route table nginx's master loads at every start. */
  routesFile: string;
  /** The unix socket through which berth changes the routes (in a folder only berth's user may enter). */
  adminSocket: string;
  /** nginx will not listen for TLS without a certificate of its own; this one is never served. */
  placeholderCert: string;
  placeholderKey: string;
}

/** A value that would not survive being pasted into nginx config as-is. */
export class ProxyConfigError extends Error {}

// Autoescape is for HTML; nginx config needs its own checks, done below before rendering.
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(TEMPLATES_DIR, 'nginx')), {
  autoescape: false,
  throwOnUndefined: true,
});

export const LUA_DIR = path.join(TEMPLATES_DIR, 'nginx');

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Paths go into the config unquoted (or in double quotes, in Lua), so only characters that cannot end or start a token pass.
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;
// sockaddr_un holds 108 bytes including the terminator.
const MAX_SOCKET_PATH = 107;
// nginx binds the socket as a file: a path ending in '/', '.' or '..' names a folder, and bind() fails.
const ENDS_IN_FILE_NAME = /\/(?!\.\.?$)[^/]+$/;
const LOAD_MODULE = /^load_module \/[A-Za-z0-9._/-]+\.so;$/;

export function assertPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ProxyConfigError(`${what} ${port} is not a port between 1 and 65535`);
}

export function assertIpv4(host: string): void {
  if (!IPV4.test(host)) throw new ProxyConfigError(`container address ${JSON.stringify(host)} is not an IPv4 address`);
}

function assertPath(file: string): void {
  if (!SAFE_PATH.test(file)) {
    throw new ProxyConfigError(`path ${JSON.stringify(file)} cannot be written into nginx config: use an absolute path of letters, digits, '.', '_', '-' and '/'`);
  }
}

function assertSocket(socket: string): void {
  assertPath(socket);
  if (socket.length > MAX_SOCKET_PATH) throw new ProxyConfigError(`socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes: use a shorter --data-dir`);
  if (!ENDS_IN_FILE_NAME.test(socket)) throw new ProxyConfigError(`socket path ${socket} names a folder, not a file`);
}

// Past 2^53 a number is no longer exact, from 1e21 it prints as "1e+21", and nginx takes
// times only up to 2^63 ms: nginx -t rejects such values, so they are refused here.
export function isPositiveWholeNumber(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1;
}

function assertDrain(seconds: number): void {
  if (!isPositiveWholeNumber(seconds)) throw new ProxyConfigError(`drain timeout ${seconds} is not a whole number of seconds, at least 1 and below 2^53`);
}

export function renderEdgeMain(spec: EdgeMainSpec): string {
  for (const file of [spec.prefix, spec.luaDir, spec.routesFile, spec.placeholderCert, spec.placeholderKey]) assertPath(file);
  assertSocket(spec.adminSocket);
  assertPort(spec.httpPort, 'http port');
  assertPort(spec.httpsPort, 'https port');
  if (spec.httpPort === spec.httpsPort) throw new ProxyConfigError(`the http and https ports are both ${spec.httpPort}: give each its own`);
  assertDrain(spec.drainTimeoutSeconds);
  if (!isValidDomain(spec.domain)) throw new ProxyConfigError(`domain ${JSON.stringify(spec.domain)} is not valid`);
  if (!/^[0-9a-f]{16,64}$/.test(spec.luaDigest)) throw new ProxyConfigError(`digest ${JSON.stringify(spec.luaDigest)} is not hex`);
  for (const line of spec.loadModules) if (!LOAD_MODULE.test(line)) throw new ProxyConfigError(`unexpected module directive ${JSON.stringify(line)}`);
  return env.render('edge.conf.njk', spec);
}
