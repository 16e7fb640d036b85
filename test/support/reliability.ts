import fs from 'node:fs/promises';
import { startLoad } from './load.js';

/**
 * One row of docs/reliability.md: a fault or hostile input a test tried, what berth did about it,
 * and how many requests to the live app failed meanwhile. Tests append rows only when
 * BERTH_RELIABILITY_REPORT names a file (scripts/reliability.mjs sets it), so `npm test` writes nothing.
 */
export interface ReliabilityRow {
  /** "Crash", "Hostile input", "Bounds"... : the table section. */
  area: string;
  fault: string;
  berthDid: string;
  served: number;
  lost: number;
  /** Why requests were lost, where the test knows it cannot be helped (the page says so). */
  whyLost?: string;
}

export const REPORT_ENV = 'BERTH_RELIABILITY_REPORT';

export async function recordReliability(row: ReliabilityRow): Promise<void> {
  const file = process.env[REPORT_ENV];
  if (!file) return;
  await fs.appendFile(file, JSON.stringify(row) + '\n');
}

export interface Watched<T> {
  result: T;
  served: number;
  /** Failed requests with their kind (HTTP 502, ECONNRESET...), none retried. */
  failures: string[];
}

/**
 * Runs `work` while two keep-alive clients and one connection-per-request client keep asking
 * the live app for `/` through berth's nginx, and reports every request that failed.
 */
export async function whileServing<T>(target: { httpPort: number; host: string }, work: () => Promise<T>): Promise<Watched<T>> {
  const loads = [
    startLoad({ port: target.httpPort, host: target.host, connections: 2, method: 'GET', keepAlive: true }),
    startLoad({ port: target.httpPort, host: target.host, connections: 1, method: 'GET', keepAlive: false }),
  ];
  const stopAll = async () => {
    const outcomes = await Promise.all(loads.map((load) => load.stop()));
    return { served: outcomes.reduce((sum, o) => sum + o.ok, 0), failures: outcomes.flatMap((o) => o.failures.map((f) => f.kind)) };
  };
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await stopAll();
    throw error;
  }
  const { served, failures } = await stopAll();
  return { result, served, failures };
}
