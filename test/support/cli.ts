import { spawn } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { BerthInstance } from './berth.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `berth` CLI against a running server, found through BERTH_URL and BERTH_TOKEN. */
export function berthCli(berth: BerthInstance, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'dist/src/cli/main.js'), ...args], {
      env: { ...process.env, BERTH_URL: `http://127.0.0.1:${berth.gitPort}`, BERTH_TOKEN: berth.token, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
