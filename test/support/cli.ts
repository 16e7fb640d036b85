import { spawn } from 'node:child_process';
import type { BerthInstance } from './berth.js';
import { installedBerth } from './installed.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function start(berth: BerthInstance, args: string[], env: Record<string, string>) {
  return spawn(installedBerth(), args, {
    env: { ...process.env, BERTH_URL: `http://127.0.0.1:${berth.gitPort}`, BERTH_TOKEN: berth.token, ...env },
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

/** Runs the installed `berth` command, as a user types it, against a running server, found through BERTH_URL and BERTH_TOKEN. */
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

export async function berthJson<T>(berth: BerthInstance, args: string[]): Promise<T> {
  const result = await berthCli(berth, [...args, '--json']);
  if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout) as T;
}
