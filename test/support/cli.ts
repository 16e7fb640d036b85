import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BerthInstance } from './berth.js';
import { installedBerth } from './installed.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let emptyConfigHome: string | undefined;

/** No berth login of the user's (or of another test) is read: each test that logs in gives its own XDG_CONFIG_HOME. */
function configHome(): string {
  if (emptyConfigHome === undefined) {
    emptyConfigHome = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-config-'));
    process.once('exit', () => fs.rmSync(emptyConfigHome!, { recursive: true, force: true }));
  }
  return emptyConfigHome;
}

/** What a user of the CLI sets: the server, its token, and the certificate to trust (BERTH_CA). */
export function cliEnvironment(berth: BerthInstance): Record<string, string> {
  return { BERTH_URL: berth.url, BERTH_TOKEN: berth.token, XDG_CONFIG_HOME: configHome(), ...(berth.caFile ? { BERTH_CA: berth.caFile } : {}) };
}

function start(berth: BerthInstance, args: string[], env: Record<string, string>) {
  return spawn(installedBerth(), args, {
    env: { ...process.env, ...cliEnvironment(berth), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A long-running command (logs -f): wait for its output, then stop it as Ctrl-C would. */
export function spawnBerthCli(berth: BerthInstance, args: string[]): { waitFor(pattern: RegExp): Promise<void>; interrupt(): Promise<number> } {
  const child = start(berth, args, {});
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 128)));
  return {
    waitFor: async (pattern) => {
      const deadline = Date.now() + 15_000;
      while (!pattern.test(stdout)) {
        if (Date.now() > deadline) throw new Error(`berth ${args.join(' ')} never printed ${pattern}:\n${stdout}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    interrupt: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

/** Runs the installed `berth` command, as a user types it, against a running server, found through BERTH_URL, BERTH_TOKEN and BERTH_CA. */
export function berthCli(berth: BerthInstance, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = start(berth, args, env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Runs berth like berthCli and fails the test unless it exits 0; resolves with what it printed. */
export async function berthOk(berth: BerthInstance, args: string[]): Promise<string> {
  const result = await berthCli(berth, args);
  assert.equal(result.code, 0, `berth ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

export async function berthJson<T>(berth: BerthInstance, args: string[]): Promise<T> {
  const result = await berthCli(berth, [...args, '--json']);
  if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout) as T;
}
