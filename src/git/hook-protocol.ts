import path from 'node:path';
import { QUARANTINE_ENV_KEYS, type QuarantineEnv } from './quarantine.js';

/**
 * The pre-receive hook POSTs git's ref lines to berth over a unix socket, with git's quarantine
 * variables as headers; berth answers with plain output lines and ends with one exit line.
 */
export const HOOK_PATH_PREFIX = '/hooks/pre-receive/';
export const EXIT_LINE_PREFIX = 'berth-exit: ';

export interface RefUpdate {
  oldCommit: string;
  newCommit: string;
  ref: string;
}

export interface HookRequest {
  app: string;
  updates: RefUpdate[];
  quarantine: QuarantineEnv;
}

export const ZERO_COMMIT = /^0+$/;

export function quarantineHeader(key: (typeof QUARANTINE_ENV_KEYS)[number]): string {
  return `x-berth-${key.toLowerCase().replace(/_/g, '-')}`;
}

/** git's stdin for pre-receive: one `OLD NEW REF` line per updated ref. */
export function parseRefUpdates(text: string): RefUpdate[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length === 3 && /^[0-9a-f]{40,64}$/.test(fields[0]) && /^[0-9a-f]{40,64}$/.test(fields[1]))
    .map(([oldCommit, newCommit, ref]) => ({ oldCommit, newCommit, ref }));
}

/** git passes the quarantine paths relative to the repository in some versions; berth needs them absolute. */
export function quarantineFromHeaders(headers: Record<string, string | string[] | undefined>, repoDir: string): QuarantineEnv {
  const env: QuarantineEnv = {};
  for (const key of QUARANTINE_ENV_KEYS) {
    const value = headers[quarantineHeader(key)];
    if (typeof value === 'string' && value) env[key] = value.split(':').map((p) => path.resolve(repoDir, p)).join(':');
  }
  return env;
}
