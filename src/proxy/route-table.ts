import { createHash } from 'node:crypto';
import { DEFAULT_PROXY_OPTIONS, isValidAppName, isValidDomain, type AppProxyOptions } from '../model/app.js';
import { assertIpv4, assertPort, isPositiveWholeNumber, ProxyConfigError, type Upstream } from './render.js';

export interface EdgeCertificate {
  /** Names the certificate's version: the edge's workers parse a certificate once per version. */
  id: string;
  hosts: string[];
  certPem: string;
  keyPem: string;
}

/** Everything the edge knows of one app. */
export interface AppRoute {
  /** Undefined while nothing routes to the app (it has options or a certificate, but no live release). */
  release: number | undefined;
  upstreams: Upstream[];
  /** Set while a stop-first deploy has no release running: new requests wait at the edge this many seconds at most for upstreams. */
  holdSeconds?: number;
  hosts: string[];
  options: AppProxyOptions;
  certificate: EdgeCertificate | undefined;
}

export interface RouteTable {
  apps: Map<string, AppRoute>;
  /** ACME http-01 token -> key authorization. */
  challenges: Map<string, string>;
}

export function emptyRouteTable(): RouteTable {
  return { apps: new Map(), challenges: new Map() };
}

export function emptyAppRoute(): AppRoute {
  return { release: undefined, upstreams: [], hosts: [], options: { ...DEFAULT_PROXY_OPTIONS }, certificate: undefined };
}

export function certificateId(certPem: string, keyPem: string): string {
  return createHash('sha256').update(certPem).update('\0').update(keyPem).digest('hex').slice(0, 16);
}

/**
 * The table as text: one record a line, fields separated by single spaces, every field checked
 * against a pattern without spaces, so templates/nginx/berth_edge.lua reads it with Lua patterns
 * and nothing a user sends can start another record. PEM is base64-encoded onto its line.
 */
const HEADER = "# berth's edge routes (format 1). Written by berth; nginx loads it at every start. Do not edit.";
const CERT_ID = /^[0-9a-f]{16}$/;
// RFC 8555: a token and an account thumbprint are base64url; the key authorization joins them with a dot.
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const KEY_AUTHORIZATION = /^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,256}$/;
const BASE64 = /^[A-Za-z0-9+/]+=*$/;

export function assertChallenge(token: string, keyAuthorization: string | undefined): void {
  if (!TOKEN.test(token)) throw new ProxyConfigError(`ACME token ${JSON.stringify(token)} is not base64url`);
  if (keyAuthorization !== undefined && !KEY_AUTHORIZATION.test(keyAuthorization)) throw new ProxyConfigError('the ACME key authorization is not TOKEN.THUMBPRINT in base64url');
}

function assertHosts(app: string, hosts: string[]): void {
  for (const host of hosts) {
    if (!isValidDomain(host)) throw new ProxyConfigError(`host name ${JSON.stringify(host)} of app ${app} is not valid`);
  }
}

function assertAppRoute(app: string, route: AppRoute): void {
  if (!isValidAppName(app)) throw new ProxyConfigError(`app name ${JSON.stringify(app)} is not valid`);
  if (route.release !== undefined && !isPositiveWholeNumber(route.release)) throw new ProxyConfigError(`release ${route.release} is not a release number`);
  if (route.holdSeconds !== undefined && (!isPositiveWholeNumber(route.holdSeconds) || route.upstreams.length)) throw new ProxyConfigError(`app ${app} is held for ${route.holdSeconds} s with containers to route to`);
  if (route.release !== undefined && !route.upstreams.length && route.holdSeconds === undefined) throw new ProxyConfigError(`app ${app} has no containers to send traffic to`);
  if (route.release !== undefined && !route.hosts.length) throw new ProxyConfigError(`app ${app} has no host names`);
  for (const upstream of route.upstreams) {
    assertIpv4(upstream.host);
    assertPort(upstream.port, 'container port');
  }
  assertHosts(app, route.hosts);
  if (route.certificate) {
    if (!CERT_ID.test(route.certificate.id)) throw new ProxyConfigError(`certificate id ${JSON.stringify(route.certificate.id)} is not 16 hex digits`);
    if (!route.certificate.hosts.length) throw new ProxyConfigError(`the certificate of app ${app} names no host`);
    assertHosts(app, route.certificate.hosts);
  }
}

const list = (items: string[]): string => (items.length ? items.join(',') : '-');
const onOff = (flag: boolean): string => (flag ? 'on' : 'off');
const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export function renderRouteTable(table: RouteTable): string {
  const lines = [HEADER];
  for (const [app, route] of [...table.apps].sort(([a], [b]) => a.localeCompare(b))) {
    assertAppRoute(app, route);
    const upstreams = route.holdSeconds === undefined ? list(route.upstreams.map((u) => `${u.host}:${u.port}`)) : `hold=${route.holdSeconds}`;
    lines.push(`app ${app} ${route.release ?? '-'} redirect-https=${onOff(route.options.redirectHttps)} hsts=${onOff(route.options.hsts)} ${upstreams} ${list(route.hosts)}`);
    const cert = route.certificate;
    if (cert) lines.push(`certificate ${app} ${cert.id} ${list(cert.hosts)} ${base64(cert.certPem)} ${base64(cert.keyPem)}`);
  }
  for (const [token, keyAuthorization] of [...table.challenges].sort(([a], [b]) => a.localeCompare(b))) {
    assertChallenge(token, keyAuthorization);
    lines.push(`challenge ${token} ${keyAuthorization}`);
  }
  return lines.join('\n') + '\n';
}

const APP_RECORD = /^app (\S+) (\S+) redirect-https=(on|off) hsts=(on|off) (\S+) (\S+)$/;
const CERTIFICATE_RECORD = /^certificate (\S+) (\S+) (\S+) (\S+) (\S+)$/;
const CHALLENGE_RECORD = /^challenge (\S+) (\S+)$/;

const items = (field: string): string[] => (field === '-' ? [] : field.split(','));
const HOLD_FIELD = /^hold=(\d+)$/;

/** The upstreams field: containers, `-` for none, or `hold=SECONDS` while requests wait for a release. */
function parseUpstreams(field: string): Pick<AppRoute, 'upstreams' | 'holdSeconds'> {
  const hold = HOLD_FIELD.exec(field);
  return hold ? { upstreams: [], holdSeconds: Number(hold[1]) } : { upstreams: items(field).map(parseUpstream) };
}

function parseUpstream(field: string): Upstream {
  const [host, port] = field.split(':');
  return { host, port: Number(port) };
}

function decodeBase64(field: string): string {
  if (!BASE64.test(field)) throw new ProxyConfigError('a PEM field is not base64');
  return Buffer.from(field, 'base64').toString('utf8');
}

/** Reads a table renderRouteTable wrote; anything else is refused, naming the line but none of its content (it may hold a key). */
export function parseRouteTable(text: string): RouteTable {
  const table = emptyRouteTable();
  text.split('\n').forEach((line, index) => {
    if (line === '' || line.startsWith('#')) return;
    try {
      parseRecord(table, line);
    } catch (error) {
      const why = error instanceof ProxyConfigError ? error.message : 'unreadable';
      throw new ProxyConfigError(`line ${index + 1}: ${why}`);
    }
  });
  return table;
}

function parseRecord(table: RouteTable, line: string): void {
  let match: RegExpExecArray | null;
  if ((match = APP_RECORD.exec(line))) {
    const [, app, release, redirect, hsts, upstreams, hosts] = match;
    const route: AppRoute = { release: release === '-' ? undefined : Number(release), ...parseUpstreams(upstreams), hosts: items(hosts), options: { redirectHttps: redirect === 'on', hsts: hsts === 'on' }, certificate: undefined };
    assertAppRoute(app, route);
    table.apps.set(app, route);
  } else if ((match = CERTIFICATE_RECORD.exec(line))) {
    const [, app, id, hosts, cert, key] = match;
    const route = table.apps.get(app);
    if (!route) throw new ProxyConfigError(`a certificate for app ${JSON.stringify(app)}, which has no app record before it`);
    route.certificate = { id, hosts: items(hosts), certPem: decodeBase64(cert), keyPem: decodeBase64(key) };
    assertAppRoute(app, route);
  } else if ((match = CHALLENGE_RECORD.exec(line))) {
    assertChallenge(match[1], match[2]);
    table.challenges.set(match[1], match[2]);
  } else {
    throw new ProxyConfigError(`not a record of the route table`);
  }
}
