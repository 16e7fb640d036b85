import type { QuarantineEnv } from './tree.js';

/** What the pre-receive hook sends to berth over its unix socket. */
export interface HookRequest {
  app: string;
  repoDir: string;
  updates: RefUpdate[];
  quarantine: QuarantineEnv;
}

export interface RefUpdate {
  oldCommit: string;
  newCommit: string;
  ref: string;
}

/** berth answers with newline-delimited JSON events: output lines, then one exit code. */
export type HookEvent = { line: string } | { exit: number };

export const HOOK_PATH = '/hooks/pre-receive';

export const ZERO_COMMIT = /^0+$/;
