import net from 'node:net';
import { abortMessage, BerthError } from '../errors.js';
import type { ContainerHandle } from '../plugins/types.js';
import { sleep } from '../proxy/processes.js';

const POLL_MS = 100;
const HEALTH_EVERY_POLLS = 5;

function tryConnect(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: ip, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** What went wrong when a container stopped before or during its checks. */
export function describeExit(health: { running: boolean; restartCount: number; exitCode: number }): string {
  return health.running ? `restarted ${health.restartCount} time(s)` : `exited with code ${health.exitCode}`;
}

/**
 * Polls every ~100 ms until the container accepts connections on its port, instead of a fixed
 * sleep; fails early when the container exits or restarts, and after timeoutMs.
 */
export async function waitForListening(container: ContainerHandle, timeoutMs: number, signal: AbortSignal): Promise<number> {
  const started = Date.now();
  for (let poll = 0; ; poll++) {
    if (signal.aborted) throw new BerthError(`stopped while waiting for the app to listen: ${abortMessage(signal, 'the deploy time limit')}`, 'raise --deploy-timeout or make the app start faster');
    if (await tryConnect(container.ip, container.port, 1000)) return Date.now() - started;
    if (poll % HEALTH_EVERY_POLLS === 0) {
      const health = await container.health();
      if (!health.running || health.restartCount > 0) {
        throw new BerthError(
          `the container ${describeExit(health)} before it accepted connections on port ${container.port}`,
          'see its output above; the app must stay up and listen on $PORT',
        );
      }
    }
    if (Date.now() - started > timeoutMs) {
      throw new BerthError(
        `nothing accepted connections on ${container.ip}:${container.port} within ${Math.round(timeoutMs / 1000)} s`,
        'the app must listen on 0.0.0.0:$PORT (berth sets PORT; the default is 5000)',
      );
    }
    await sleep(POLL_MS, signal);
  }
}
