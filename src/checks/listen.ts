import net from 'node:net';
import { BerthError, throwIfStopped } from '../errors.js';
import type { ContainerHandle } from '../plugins/types.js';
import { sleep } from '../time.js';
import { isLoopback, type ListeningSocket } from '../runtime/listening.js';

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
    throwIfStopped(signal);
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
    if (Date.now() - started > timeoutMs) throw await notListening(container, timeoutMs);
    await sleep(POLL_MS, signal);
  }
}

/** The listen timeout's error, naming what the app listens on instead when berth can see it. */
async function notListening(container: ContainerHandle, timeoutMs: number): Promise<BerthError> {
  const waited = `nothing accepted connections on ${container.ip}:${container.port} within ${Math.round(timeoutMs / 1000)} s`;
  const cause = diagnoseListening(await container.listening().catch(() => undefined), container.port);
  return new BerthError(cause ? `${waited}: ${cause.problem}` : waited, cause?.fix ?? 'the app must listen on 0.0.0.0:$PORT (berth sets PORT; the default is 5000)');
}

/** Why a container that runs is not reachable on its port, from the sockets it listens on. */
export function diagnoseListening(sockets: ListeningSocket[] | undefined, port: number): { problem: string; fix: string } | undefined {
  if (!sockets) return undefined;
  const onPort = sockets.filter((s) => s.port === port);
  if (onPort.length > 0 && onPort.every((s) => isLoopback(s.address))) {
    return {
      problem: `the app listens on ${onPort.map((s) => `${s.address}:${port}`).join(' and ')} only, which nothing outside its container can reach`,
      fix: `make the app listen on 0.0.0.0:$PORT (or on all addresses) instead of a loopback address`,
    };
  }
  const others = [...new Set(sockets.filter((s) => s.port !== port).map((s) => s.port))].sort((a, b) => a - b);
  if (onPort.length === 0 && others.length > 0) {
    return {
      problem: `the app listens on port ${others.join(', ')} instead of $PORT (${port})`,
      fix: `make the app listen on the port in $PORT, or tell berth the app's port: berth config:set APP PORT=${others[0]}`,
    };
  }
  if (sockets.length === 0) {
    return { problem: 'nothing in the container listens on any TCP port', fix: 'the app must start a server on 0.0.0.0:$PORT (berth sets PORT; the default is 5000)' };
  }
  return undefined;
}
