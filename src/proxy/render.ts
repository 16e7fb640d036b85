import nunjucks from 'nunjucks';
import path from 'node:path';
import { isValidAppName, isValidDomain } from '../model/app.js';
import { TEMPLATES_DIR } from '../paths.js';

export interface Upstream {
  host: string;
  port: number;
}

/** The client-facing server block of one app: its host names and its socket in the switch tier. */
export interface EdgeAppSpec {
  app: string;
  httpPort: number;
  serverNames: string[];
  socket: string;
  connectionLifetimeMs: number;
}

/** The app's live containers, behind its socket. */
export interface SwitchAppSpec {
  app: string;
  release: number;
  socket: string;
  upstreams: Upstream[];
}

export interface EdgeMainSpec {
  prefix: string;
  httpPort: number;
  domain: string;
  drainTimeoutSeconds: number;
  includes: string[];
}

export interface SwitchMainSpec {
  prefix: string;
  drainTimeoutSeconds: number;
  /** A `load_module` line when nginx has the stream module as a dynamic module, else empty. */
  loadStreamModule: string;
  includes: string[];
}

/** A value that would not survive being pasted into nginx config as-is. */
export class ProxyConfigError extends Error {}

// Autoescape is for HTML; nginx config needs its own checks, done below before rendering.
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(TEMPLATES_DIR, 'nginx')), {
  autoescape: false,
  throwOnUndefined: true,
});

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Paths go into the config unquoted, so only characters that cannot end or start a token pass.
const SAFE_PATH = /^\/[A-Za-z0-9._/*-]*$/;
// sockaddr_un holds 108 bytes including the terminator.
const MAX_SOCKET_PATH = 107;
// nginx binds the socket as a file: a path ending in '/', '.' or '..' names a folder, and bind() fails.
const ENDS_IN_FILE_NAME = /\/(?!\.\.?$)[^/]+$/;

function assertPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ProxyConfigError(`${what} ${port} is not a port between 1 and 65535`);
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

function assertApp(app: string): void {
  if (!isValidAppName(app)) throw new ProxyConfigError(`app name ${JSON.stringify(app)} is not valid`);
}

// Past 2^53 a number is no longer exact, from 1e21 it prints as "1e+21", and nginx takes
// times only up to 2^63 ms: nginx -t rejects such values, so they are refused here.
function isPositiveWholeNumber(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1;
}

function assertDrain(seconds: number): void {
  if (!isPositiveWholeNumber(seconds)) throw new ProxyConfigError(`drain timeout ${seconds} is not a whole number of seconds, at least 1 and below 2^53`);
}

export function renderEdgeApp(spec: EdgeAppSpec): string {
  assertApp(spec.app);
  assertPort(spec.httpPort, 'http port');
  assertSocket(spec.socket);
  if (!spec.serverNames.length) throw new ProxyConfigError(`app ${spec.app} has no host names`);
  for (const name of spec.serverNames) {
    if (!isValidDomain(name)) throw new ProxyConfigError(`host name ${JSON.stringify(name)} of app ${spec.app} is not valid`);
  }
  if (!isPositiveWholeNumber(spec.connectionLifetimeMs)) throw new ProxyConfigError(`connection lifetime ${spec.connectionLifetimeMs} is not a whole number of milliseconds, at least 1 and below 2^53`);
  return env.render('edge-app.conf.njk', spec);
}

export function renderSwitchApp(spec: SwitchAppSpec): string {
  assertApp(spec.app);
  assertSocket(spec.socket);
  if (!isPositiveWholeNumber(spec.release)) throw new ProxyConfigError(`release ${spec.release} is not a release number`);
  if (!spec.upstreams.length) throw new ProxyConfigError(`app ${spec.app} has no containers to send traffic to`);
  for (const upstream of spec.upstreams) {
    if (!IPV4.test(upstream.host)) throw new ProxyConfigError(`container address ${JSON.stringify(upstream.host)} is not an IPv4 address`);
    assertPort(upstream.port, 'container port');
  }
  return env.render('switch-app.conf.njk', spec);
}

/** The release a rendered switch config routes to, read from the first line the template writes. */
export function routedReleaseOf(switchConfig: string): number | undefined {
  const release = /^# [a-z0-9-]+, release (\d+)\./.exec(switchConfig)?.[1];
  return release === undefined ? undefined : Number(release);
}

export function renderEdgeMain(spec: EdgeMainSpec): string {
  assertPath(spec.prefix);
  spec.includes.forEach(assertPath);
  assertPort(spec.httpPort, 'http port');
  assertDrain(spec.drainTimeoutSeconds);
  if (!isValidDomain(spec.domain)) throw new ProxyConfigError(`domain ${JSON.stringify(spec.domain)} is not valid`);
  return env.render('edge.conf.njk', spec);
}

export function renderSwitchMain(spec: SwitchMainSpec): string {
  assertPath(spec.prefix);
  spec.includes.forEach(assertPath);
  assertDrain(spec.drainTimeoutSeconds);
  if (spec.loadStreamModule && !/^load_module \/[A-Za-z0-9._/-]+\.so;$/.test(spec.loadStreamModule)) {
    throw new ProxyConfigError(`unexpected module directive ${JSON.stringify(spec.loadStreamModule)}`);
  }
  return env.render('switch.conf.njk', spec);
}
