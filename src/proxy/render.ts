import nunjucks from 'nunjucks';
import path from 'node:path';
import { isValidAppName, isValidDomain } from '../config.js';
import { TEMPLATES_DIR } from '../paths.js';

export interface Upstream {
  host: string;
  port: number;
}

export interface AppProxySpec {
  app: string;
  release: number;
  httpPort: number;
  serverNames: string[];
  upstreams: Upstream[];
}

export interface MainProxySpec {
  prefix: string;
  httpPort: number;
  domain: string;
  drainTimeoutSeconds: number;
  appIncludes: string[];
}

/** A value that would not survive being pasted into nginx config as-is. */
export class ProxyConfigError extends Error {}

// Autoescape is for HTML; nginx config needs its own checks, done below before rendering.
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(TEMPLATES_DIR, 'nginx')), {
  autoescape: false,
  throwOnUndefined: true,
});

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Quoted in the template: only a double quote, a backslash, `$`, `;` or a control character could break out.
const SAFE_PATH = /^\/[^"\\$;{}\x00-\x1f\x7f]*$/;

function assertPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ProxyConfigError(`${what} ${port} is not a port between 1 and 65535`);
}

function assertPath(file: string): void {
  if (!SAFE_PATH.test(file)) throw new ProxyConfigError(`path ${JSON.stringify(file)} cannot be written into nginx config (absolute, without quotes, $, ;, braces or control characters)`);
}

export function renderAppConfig(spec: AppProxySpec): string {
  if (!isValidAppName(spec.app)) throw new ProxyConfigError(`app name ${JSON.stringify(spec.app)} is not valid`);
  if (!Number.isInteger(spec.release) || spec.release < 1) throw new ProxyConfigError(`release ${spec.release} is not a release number`);
  assertPort(spec.httpPort, 'http port');
  if (!spec.serverNames.length) throw new ProxyConfigError(`app ${spec.app} has no host names`);
  for (const name of spec.serverNames) {
    if (!isValidDomain(name)) throw new ProxyConfigError(`host name ${JSON.stringify(name)} of app ${spec.app} is not valid`);
  }
  if (!spec.upstreams.length) throw new ProxyConfigError(`app ${spec.app} has no containers to send traffic to`);
  for (const upstream of spec.upstreams) {
    if (!IPV4.test(upstream.host)) throw new ProxyConfigError(`container address ${JSON.stringify(upstream.host)} is not an IPv4 address`);
    assertPort(upstream.port, 'container port');
  }
  return env.render('app.conf.njk', spec);
}

export function renderMainConfig(spec: MainProxySpec): string {
  assertPath(spec.prefix);
  spec.appIncludes.forEach(assertPath);
  assertPort(spec.httpPort, 'http port');
  if (!isValidDomain(spec.domain)) throw new ProxyConfigError(`domain ${JSON.stringify(spec.domain)} is not valid`);
  if (!Number.isInteger(spec.drainTimeoutSeconds) || spec.drainTimeoutSeconds < 1) throw new ProxyConfigError('drain timeout must be a whole number of seconds, at least 1');
  return env.render('nginx.conf.njk', spec);
}
