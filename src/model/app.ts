/**
 * What an app is, for every part of berth that names, checks or addresses one: the server, the
 * CLI and the tests all import these rules, so a name or a value is judged the same everywhere.
 * Each check throws an InputError that says the rule, which the API answers as 400 and the CLI
 * as a usage error.
 */
import { InputError } from '../errors.js';

// A name ending in a hyphen would make an invalid image name (INSTANCE/APP) and host name (APP.DOMAIN).
const APP_NAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const APP_NAME_RULE = 'lower-case letters, digits and hyphens, starting with a letter, not ending with a hyphen, at most 63 characters';

export function isValidAppName(name: string): boolean {
  return APP_NAME.test(name);
}

export function checkAppName(name: string): string {
  if (!isValidAppName(name)) throw new InputError(`"${name}" is not a valid app name (${APP_NAME_RULE})`);
  return name;
}

const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_DOMAIN_LENGTH = 253;

/** A host name nginx can take as it is: lower-case labels of letters, digits and hyphens. */
export function isValidDomain(domain: string): boolean {
  return domain.length <= MAX_DOMAIN_LENGTH && domain.split('.').every((label) => DOMAIN_LABEL.test(label));
}

/** The process behind the proxy; every other Procfile type runs without it. */
export const WEB_PROCESS = 'web';
/** The Procfile's release: line is a release task, run once per deploy, never a long-running process. */
export const RELEASE_PROCESS = 'release';

const PROCESS_TYPE = /^[a-z][a-z0-9-]{0,29}$/;
export const PROCESS_TYPE_RULE = 'lower-case letters, digits and hyphens, starting with a letter, at most 30 characters';
export const MAX_PROCESSES_PER_TYPE = 20;

export function isValidProcessType(type: string): boolean {
  return PROCESS_TYPE.test(type);
}

/** Counts per process type, as ps:scale takes them; web=0 would leave the app unreachable. */
export function checkFormation(app: string, formation: Record<string, number>): Record<string, number> {
  for (const [type, count] of Object.entries(formation)) {
    if (!isValidProcessType(type)) throw new InputError(`"${type}" is not a process type (${PROCESS_TYPE_RULE})`);
    if (!Number.isInteger(count) || count < 0 || count > MAX_PROCESSES_PER_TYPE) {
      throw new InputError(`${type}=${count}: the count must be a whole number from 0 to ${MAX_PROCESSES_PER_TYPE}`);
    }
  }
  if ((formation[RELEASE_PROCESS] ?? 0) > 0) {
    throw new InputError(`"${RELEASE_PROCESS}" is reserved: the Procfile's release: line runs once per deploy, before the new release takes traffic, never as a long-running process`, `name the process type otherwise to run it beside web (e.g. releaser: ...), or berth run ${app} -- COMMAND to run it once`);
  }
  if (formation[WEB_PROCESS] === 0) throw new InputError('web=0 would leave the app without a web container', `use berth ps:stop ${app} to stop it`);
  return formation;
}

const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_CONFIG_VALUE = 32 * 1024;
const PORT_NUMBER = /^([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;

export function checkConfigKey(key: string): string {
  if (!CONFIG_KEY.test(key)) {
    throw new InputError(`"${key}" is not a valid config key`, 'keys are letters, digits and underscores, not starting with a digit');
  }
  return key;
}

/** Values reach the container verbatim as environment variables; only NUL and size are refused, and PORT must be a port. */
export function checkConfigValue(key: string, value: string): string {
  if (value.length > MAX_CONFIG_VALUE || value.includes('\0')) {
    throw new InputError(`the value of ${key} is longer than ${MAX_CONFIG_VALUE} characters or holds a NUL byte`);
  }
  if (key === 'PORT' && value !== '' && !PORT_NUMBER.test(value)) throw new InputError(`PORT must be a port number from 1 to 65535, got "${value}"`);
  return value;
}

/** The port the app listens on in its containers: $PORT, which berth sets. */
export const DEFAULT_APP_PORT = 5000;

export function appPort(config: Record<string, string>): number {
  return Number(config.PORT || DEFAULT_APP_PORT);
}

/** APP.DOMAIN, which every app answers to and which cannot be removed. */
export function defaultHostName(app: string, domain: string): string {
  return `${app}.${domain}`;
}

/** Every host name the app answers to: the default one first, then those added with domains:add. */
export function appHostNames(app: { name: string; domains: string[] }, domain: string): string[] {
  return [defaultHostName(app.name, domain), ...app.domains];
}

const RELEASE_NUMBER = /^[1-9]\d{0,8}$/;

export function parseReleaseNumber(text: string): number {
  if (!RELEASE_NUMBER.test(text)) throw new InputError(`"${text}" is not a release number like 3 (see berth releases APP)`);
  return Number(text);
}

/** How the edge answers an app besides routing it (proxy:set); both matter once the app has a certificate. */
export interface AppProxyOptions {
  /** Plain HTTP answers 308 to https (ACME challenges excepted). */
  redirectHttps: boolean;
  /** HTTPS answers carry Strict-Transport-Security. */
  hsts: boolean;
}

export const DEFAULT_PROXY_OPTIONS: AppProxyOptions = { redirectHttps: true, hsts: false };

/** proxy:set's settings as a user names them. */
export const PROXY_SETTINGS: Record<string, keyof AppProxyOptions> = { 'redirect-https': 'redirectHttps', hsts: 'hsts' };

/** `redirect-https on`, `hsts off`: one option of proxy:set. */
export function parseProxySetting(name: string, value: string): Partial<AppProxyOptions> {
  const key = PROXY_SETTINGS[name];
  if (!Object.hasOwn(PROXY_SETTINGS, name)) throw new InputError(`"${name}" is not a proxy setting`, `the settings are ${Object.keys(PROXY_SETTINGS).join(' and ')}`);
  if (value !== 'on' && value !== 'off') throw new InputError(`${name} must be on or off, got "${value}"`);
  return { [key]: value === 'on' };
}

/**
 * deploy:set APP order: start-first (the default) starts the new release beside the old one and
 * switches; stop-first stops the old one first, while the edge holds the requests that arrive,
 * for apps that must never run two copies (SQLite, a lock file).
 */
export const DEPLOY_ORDERS = ['start-first', 'stop-first'] as const;
export type DeployOrder = (typeof DEPLOY_ORDERS)[number];

export interface AppDeploySettings {
  order: DeployOrder;
}

export const DEFAULT_DEPLOY_SETTINGS: AppDeploySettings = { order: 'start-first' };

/** deploy:set's settings as a user names them. */
export const DEPLOY_SETTINGS = ['order'] as const;

/** `order stop-first`: one setting of deploy:set. */
export function parseDeploySetting(name: string, value: string): Partial<AppDeploySettings> {
  if (!(DEPLOY_SETTINGS as readonly string[]).includes(name)) throw new InputError(`"${name}" is not a deploy setting`, `the settings are ${DEPLOY_SETTINGS.join(', ')}`);
  if (!(DEPLOY_ORDERS as readonly string[]).includes(value)) throw new InputError(`order must be ${DEPLOY_ORDERS.join(' or ')}, got "${value}"`, 'stop-first stops the old release before the new one starts (requests wait at the edge meanwhile)');
  return { order: value as DeployOrder };
}

// Docker's reference grammar, simplified: [host[:port]/]path[:tag][@sha256:digest]; no spaces or newlines, as it goes into a Dockerfile's FROM.
const IMAGE_REFERENCE = /^(?:[a-zA-Z0-9.-]+(?::\d{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** deploy:image's IMAGE[:TAG], as Docker names images. */
export function checkImageReference(reference: string): string {
  if (reference.length > 512 || !IMAGE_REFERENCE.test(reference)) throw new InputError(`"${reference}" is not an image name like myimage:1.2 or registry.example.com/team/app:latest`, 'see docker images for the images in the engine');
  return reference;
}

/** enabled: CHECKS (or the default check) run; disabled: never; skip-next: not on the next deploy only. */
export type ChecksState = 'enabled' | 'disabled' | 'skip-next';

export const DEFAULT_LOG_LINES = 100;
export const MAX_LOG_LINES = 10_000;

export function checkLogLines(lines: number): number {
  if (!Number.isInteger(lines) || lines < 0 || lines > MAX_LOG_LINES) throw new InputError(`lines must be a whole number from 0 to ${MAX_LOG_LINES}`);
  return lines;
}
