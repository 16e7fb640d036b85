import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { PACKAGE_ROOT } from '../../src/paths.js';

const run = promisify(execFile);

/** A swarm lab of its own (scripts/lab.sh with BERTH_LAB), so lab tests never share a swarm. */
export interface Lab {
  number: string;
  /** Each node's engine URL, node 1 (the manager) first. */
  engines: string[];
  /** The host side of the lab's bridge: where the nodes reach this machine. */
  hostAddress: string;
  engine(node: number): Docker;
  /** The node dies: every process of it is SIGKILLed (scripts/lab.sh kill). */
  kill(node: number): Promise<void>;
  down(): Promise<void>;
}

async function lab(number: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [path.join(PACKAGE_ROOT, 'scripts', 'lab.sh'), ...args], { env: { ...process.env, BERTH_LAB: number }, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Starts `count` engines in lab `number` (BERTH_LAB, else `fallback`), formed into a swarm. */
export async function startLab(count: number, fallback: string): Promise<Lab> {
  const number = process.env.BERTH_LAB || fallback;
  let engines: string[];
  // A lab left up by a run that was killed holds that run's images and services: every test starts on fresh engines.
  await lab(number, 'down');
  try {
    await lab(number, 'up', String(count));
    engines = (await lab(number, 'engines')).trim().split('\n');
  } catch (error) {
    // A lab half up (a node that did not start) is removed too: nothing is left for the caller to clean.
    await lab(number, 'down').catch(() => undefined);
    throw error;
  }
  return {
    number,
    engines,
    hostAddress: `10.213.${number}.1`,
    engine: (node) => new Docker({ socketPath: engines[node - 1].replace(/^unix:\/\//, '') }),
    kill: async (node) => void (await lab(number, 'kill', String(node))),
    down: async () => void (await lab(number, 'down')),
  };
}
