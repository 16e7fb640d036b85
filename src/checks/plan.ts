/**
 * What berth checks on a container of one process type, from app.json's `healthchecks` or, for
 * web without them, from CHECKS: each check with Dokku's defaults applied, split into those
 * that gate the deploy (startup, readiness) and those that keep running after it (liveness).
 */
import type { AppJson, HealthCheck, HealthCheckType } from '../build/app-json.js';
import { WEB_PROCESS } from '../model/app.js';
import type { ChecksFile, CheckSpec } from './parser.js';

export const CHECKS_FILE = 'CHECKS';

/**
 * CHECKS's defaults, Dokku's (TIMEOUT=30, ATTEMPTS=5, WAIT=5), so an app moved from Dokku gets as
 * long to boot. Without WAIT, berth starts checking as soon as the port accepts connections
 * instead of sleeping first, and waits Dokku's 5 s only after an attempt failed.
 */
export const CHECK_DEFAULTS = { timeoutSeconds: 30, attempts: 5, retryDelaySeconds: 5 } as const;

/** app.json's defaults, those of Dokku's docker-container-healthchecker. */
export const HEALTHCHECK_DEFAULTS = { attempts: 3, timeoutSeconds: 5, waitSeconds: 5, initialDelaySeconds: 0 } as const;

export interface HttpProbe {
  kind: 'http';
  scheme: 'http' | 'https';
  /** TLS to the container (app.json's scheme https); CHECKS's https:// only sets X-Forwarded-Proto, as the edge does. */
  tls: boolean;
  host: string | undefined;
  path: string;
  port: number;
  expected: string | undefined;
  headers: { name: string; value: string }[];
}

export type CheckProbe = HttpProbe | { kind: 'command'; command: string[] } | { kind: 'uptime'; seconds: number } | { kind: 'listening'; port: number };

export interface PlannedCheck {
  type: HealthCheckType;
  /** What the pusher reads for each attempt: `GET /health`, `command /app/check.sh`... */
  label: string;
  /** Where it is written, for the failure: `CHECKS line 2`, `app.json healthchecks.web[0]`. */
  origin: string;
  probe: CheckProbe;
  attempts: number;
  timeoutSeconds: number;
  /** Pause after a failed attempt; for liveness also the time between rounds. */
  waitSeconds: number;
  /** Seconds after the container started before the first attempt. */
  initialDelaySeconds: number;
}

export interface CheckPlan {
  source: 'app.json' | 'CHECKS' | 'none';
  /** startup, then readiness checks, in app.json's order: all must pass before the switch. */
  gate: PlannedCheck[];
  /** Run on the live container after the deploy. */
  liveness: PlannedCheck[];
  /** CHECKS's WAIT: seconds before any check. */
  waitBeforeSeconds: number;
  /** For the pusher: e.g. that CHECKS was ignored. */
  notes: string[];
}

export interface PlanInput {
  appJson: AppJson;
  /** Only read for web: Dokku's CHECKS never applied to other process types. */
  checksFile: ChecksFile | undefined;
  processType: string;
  /** The app's port ($PORT), where checks go unless they name one. */
  port: number;
}

const GATE_ORDER: HealthCheckType[] = ['startup', 'readiness'];

export function planChecks({ appJson, checksFile, processType, port }: PlanInput): CheckPlan {
  const declared = appJson.healthchecks[processType];
  if (declared && declared.length > 0) {
    const planned = declared.map((check) => fromAppJson(check, port));
    const notes = checksFile && processType === WEB_PROCESS ? [`${CHECKS_FILE} is ignored: app.json has healthchecks for web, which take its place (as in Dokku since 0.31); remove ${CHECKS_FILE} or move its checks to app.json`] : [];
    return {
      source: 'app.json',
      gate: GATE_ORDER.flatMap((type) => planned.filter((check) => check.type === type)),
      liveness: planned.filter((check) => check.type === 'liveness'),
      waitBeforeSeconds: 0,
      notes,
    };
  }
  if (checksFile && checksFile.checks.length > 0 && processType === WEB_PROCESS) {
    return { source: CHECKS_FILE, gate: checksFile.checks.map((spec) => fromChecksLine(spec, checksFile, port)), liveness: [], waitBeforeSeconds: checksFile.waitSeconds ?? 0, notes: [] };
  }
  return { source: 'none', gate: [], liveness: [], waitBeforeSeconds: checksFile?.waitSeconds ?? 0, notes: [] };
}

function fromChecksLine(spec: CheckSpec, file: ChecksFile, port: number): PlannedCheck {
  return {
    type: 'startup',
    label: describeHttp(spec.path, spec.host, spec.scheme === 'https'),
    origin: `${CHECKS_FILE} line ${spec.line}`,
    probe: { kind: 'http', scheme: spec.scheme, tls: false, host: spec.host, path: spec.path, port, expected: spec.expected, headers: [] },
    attempts: file.attempts ?? CHECK_DEFAULTS.attempts,
    timeoutSeconds: file.timeoutSeconds ?? CHECK_DEFAULTS.timeoutSeconds,
    waitSeconds: file.waitSeconds ?? CHECK_DEFAULTS.retryDelaySeconds,
    initialDelaySeconds: 0,
  };
}

function fromAppJson(check: HealthCheck, appPort: number): PlannedCheck {
  const probe = appJsonProbe(check, check.port ?? appPort);
  const named = check.name ? ` ("${check.name}")` : '';
  return {
    type: check.type,
    label: describeProbe(probe, appPort),
    origin: `app.json ${check.field}${named}`,
    probe,
    // Dokku's uptime check is one look: it fails at once when the container restarted.
    attempts: probe.kind === 'uptime' ? 1 : (check.attempts ?? HEALTHCHECK_DEFAULTS.attempts),
    timeoutSeconds: check.timeoutSeconds ?? HEALTHCHECK_DEFAULTS.timeoutSeconds,
    waitSeconds: check.waitSeconds ?? HEALTHCHECK_DEFAULTS.waitSeconds,
    initialDelaySeconds: check.initialDelaySeconds ?? HEALTHCHECK_DEFAULTS.initialDelaySeconds,
  };
}

function appJsonProbe(check: HealthCheck, port: number): CheckProbe {
  if (check.command) return { kind: 'command', command: check.command };
  if (check.uptime !== undefined) return { kind: 'uptime', seconds: check.uptime };
  if (check.listening) return { kind: 'listening', port };
  const host = check.headers.find((header) => header.name.toLowerCase() === 'host')?.value;
  const headers = check.headers.filter((header) => header.name.toLowerCase() !== 'host');
  const scheme = check.scheme ?? 'http';
  return { kind: 'http', scheme, tls: scheme === 'https', host, path: check.path ?? '/', port, expected: check.content, headers };
}

function describeHttp(path: string, host: string | undefined, https: boolean, port?: number): string {
  const details = [...(host ? [`Host: ${host}`] : []), ...(https ? ['https'] : []), ...(port ? [`port ${port}`] : [])];
  return `GET ${path}${details.length ? ` (${details.join(', ')})` : ''}`;
}

/** The port shows only where it is not the app's own. */
export function describeProbe(probe: CheckProbe, appPort: number): string {
  switch (probe.kind) {
    case 'http':
      return describeHttp(probe.path, probe.host, probe.scheme === 'https', probe.port === appPort ? undefined : probe.port);
    case 'command':
      return `command ${JSON.stringify(probe.command)}`;
    case 'uptime':
      return `up ${probe.seconds} s without a restart`;
    case 'listening':
      return `listening on 0.0.0.0:${probe.port}`;
  }
}
