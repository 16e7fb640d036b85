import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LineSplitter } from '../log/lines.js';
import type { Logger } from '../log/output.js';
import type { TriggerContext, TriggerHandler } from './types.js';

/**
 * What a hook gets of berth's own environment: what any program expects (where programs are, the
 * user, the locale, the time zone, where the Docker engine is). Nothing else: not the token, nor
 * whatever else the server was started with.
 */
const PASSED_ENV = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|DOCKER_HOST|DOCKER_CERT_PATH|DOCKER_TLS_VERIFY|DOCKER_CONFIG)$/;
/** A hook's line longer than this (output without newlines) reaches the pusher in pieces. */
const MAX_HOOK_LINE_BYTES = 64 * 1024;
/** Between SIGTERM and SIGKILL to a hook's process group once the deploy's time is up. */
const KILL_GRACE_MS = 2000;

/** The environment a Dokku-style executable hook receives (documented in plugins/README.md). */
export function hookEnvironment(context: TriggerContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (PASSED_ENV.test(key) && value !== undefined) env[key] = value;
  Object.assign(env, { BERTH_TRIGGER: context.trigger, BERTH_APP: context.app, BERTH_RELEASE: String(context.release), BERTH_COMMIT: context.commit });
  if (context.image) env.BERTH_IMAGE = context.image;
  if (context.container) {
    env.BERTH_CONTAINER_ID = context.container.id;
    env.BERTH_CONTAINER_IP = context.container.ip;
    env.BERTH_CONTAINER_PORT = String(context.container.port);
    env.BERTH_CONTAINER_ADDRESS = `${context.container.ip}:${context.container.port}`;
  }
  if (context.previous) env.BERTH_PREVIOUS_RELEASE = String(context.previous.release);
  if (context.failure) {
    env.BERTH_FAILED_STAGE = context.failure.stage;
    env.BERTH_FAILURE = context.failure.message;
  }
  return env;
}

/**
 * Runs `file APP RELEASE ADDRESS`; every output line goes to the pusher, a non-zero exit is a
 * failure. It runs in a process group of its own, so that when the deploy's time is up, the hook
 * and everything it started (a child left holding its output included) can be stopped together.
 */
export function executableHandler(file: string, cwd: string): TriggerHandler {
  return (context) =>
    new Promise<void>((resolve, reject) => {
      const address = context.container ? `${context.container.ip}:${context.container.port}` : '';
      const child = spawn(file, [context.app, String(context.release), address], { cwd, env: hookEnvironment(context), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const onAbort = () => stopGroup(child, file, context.logger);
      context.signal.addEventListener('abort', onAbort, { once: true });
      for (const stream of [child.stdout, child.stderr]) void printLines(stream, context.logger);
      child.on('error', (error) => reject(new Error(`could not run ${file}: ${error.message}`)));
      child.on('close', (code, signal) => {
        context.signal.removeEventListener('abort', onAbort);
        if (code === 0) resolve();
        else reject(new Error(signal ? `${file} was stopped by ${signal}` : `${file} exited with code ${code}`));
      });
    });
}

/** Each line to the pusher; while the pusher is behind, the hook's output waits. */
async function printLines(stream: Readable, logger: Logger): Promise<void> {
  const print = async (lines: AsyncIterable<string>) => {
    for await (const line of lines) {
      logger.info(line);
      await logger.ready();
    }
  };
  await pipeline(stream, new LineSplitter(MAX_HOOK_LINE_BYTES), print).catch(() => undefined);
}

/** SIGTERM to the hook's whole process group, SIGKILL shortly after; its output is no longer read. */
function stopGroup(child: ChildProcess, file: string, logger: Logger): void {
  if (child.pid === undefined) return;
  const group = -child.pid;
  logger.warn(`Stopping ${file} and every process it started (SIGTERM, then SIGKILL after ${KILL_GRACE_MS / 1000} s)`);
  signalGroup(group, 'SIGTERM');
  setTimeout(() => signalGroup(group, 'SIGKILL'), KILL_GRACE_MS).unref();
  child.stdout?.destroy();
  child.stderr?.destroy();
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(group, signal);
  } catch {
    // Every process of the group has exited.
  }
}
