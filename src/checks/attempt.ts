import { describe } from '../errors.js';
import { formatDuration } from '../log/output.js';
import type { ContainerHandle } from '../plugins/types.js';
import { sleep } from '../time.js';
import { diagnoseListening } from './listen.js';
import type { CheckProbe, PlannedCheck } from './plan.js';
import { probe as httpProbe, type ProbeResult } from './probe.js';

/** The last line a failed command printed, for the pusher; the whole output can be long. */
function lastLine(output: string): string {
  const lines = output.trim().split('\n');
  const last = lines[lines.length - 1]?.trim() ?? '';
  return last.length > 200 ? `${last.slice(0, 200)}...` : last;
}

async function commandAttempt(container: ContainerHandle, command: string[], timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  try {
    const result = await container.exec(command, { timeoutMs, signal });
    if (result.exitCode === 0) return { ok: true, summary: 'exited 0' };
    const said = lastLine(result.output);
    if (result.exitCode === undefined) return { ok: false, summary: `did not exit within ${formatDuration(timeoutMs)}${said ? `; it printed: ${said}` : ''}` };
    return { ok: false, summary: `exited ${result.exitCode}${said ? `: ${said}` : ''}` };
  } catch (error) {
    return { ok: false, summary: `could not run it in the container: ${describe(error)}` };
  }
}

/** Milliseconds until the container has been up `seconds`; 0 when it has been, or when the engine gave no start time. */
export function untilUp(startedAt: string, seconds: number, now = Date.now()): number {
  const started = Date.parse(startedAt);
  return Number.isNaN(started) ? 0 : Math.max(0, started + seconds * 1000 - now);
}

/** Dokku's uptime check: up this long, and no restart meanwhile. */
async function uptimeAttempt(container: ContainerHandle, seconds: number, signal: AbortSignal): Promise<ProbeResult> {
  const before = await container.health();
  await sleep(untilUp(before.startedAt, seconds), signal);
  const health = await container.health();
  if (!health.running) return { ok: false, summary: `the container is not running (exit code ${health.exitCode})` };
  if (health.restartCount > 0) return { ok: false, summary: `the container restarted ${health.restartCount} time(s)` };
  return { ok: true, summary: `up ${formatDuration(Date.now() - Date.parse(health.startedAt))}, no restarts` };
}

/** Dokku's listening check: something in the container listens on the port on every address (0.0.0.0 or ::). */
async function listeningAttempt(container: ContainerHandle, port: number): Promise<ProbeResult> {
  const sockets = await container.listening().catch(() => undefined);
  if (!sockets) return { ok: false, summary: 'berth cannot see what the container listens on (is it running?)' };
  if (sockets.some((socket) => socket.port === port && (socket.address === '0.0.0.0' || socket.address === '::'))) return { ok: true, summary: `listening on port ${port}` };
  return { ok: false, summary: diagnoseListening(sockets, port)?.problem ?? `nothing listens on port ${port} on every address` };
}

function attemptProbe(container: ContainerHandle, probe: CheckProbe, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'http':
      return httpProbe(probe, { ip: container.ip, port: probe.port }, timeoutMs, signal);
    case 'command':
      return commandAttempt(container, probe.command, timeoutMs, signal);
    case 'uptime':
      return uptimeAttempt(container, probe.seconds, signal);
    case 'listening':
      return listeningAttempt(container, probe.port);
  }
}

/** One attempt of a planned check against the container, timed. */
export async function attemptCheck(container: ContainerHandle, check: PlannedCheck, signal: AbortSignal): Promise<ProbeResult & { tookMs: number }> {
  const started = Date.now();
  const result = await attemptProbe(container, check.probe, check.timeoutSeconds * 1000, signal);
  return { ...result, tookMs: Date.now() - started };
}
