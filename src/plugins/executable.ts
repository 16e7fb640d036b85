import { spawn } from 'node:child_process';
import readline from 'node:readline';
import type { TriggerContext, TriggerHandler } from './types.js';

/** The environment a Dokku-style executable hook receives (documented in plugins/README.md). */
export function hookEnvironment(context: TriggerContext): Record<string, string> {
  const env: Record<string, string> = {
    BERTH_TRIGGER: context.trigger,
    BERTH_APP: context.app,
    BERTH_RELEASE: String(context.release),
    BERTH_COMMIT: context.commit,
  };
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

/** Runs `file APP RELEASE ADDRESS`; every output line goes to the pusher, a non-zero exit is a failure. */
export function executableHandler(file: string, cwd: string): TriggerHandler {
  return (context) =>
    new Promise<void>((resolve, reject) => {
      const address = context.container ? `${context.container.ip}:${context.container.port}` : '';
      const child = spawn(file, [context.app, String(context.release), address], {
        cwd,
        env: { ...process.env, ...hookEnvironment(context) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const onAbort = () => child.kill('SIGTERM');
      context.signal.addEventListener('abort', onAbort, { once: true });
      for (const stream of [child.stdout, child.stderr]) {
        readline.createInterface({ input: stream }).on('line', (line) => context.logger.info(line));
      }
      child.on('error', (error) => reject(new Error(`could not run ${file}: ${error.message}`)));
      child.on('close', (code, signal) => {
        context.signal.removeEventListener('abort', onAbort);
        if (code === 0) resolve();
        else reject(new Error(signal ? `${file} was stopped by ${signal}` : `${file} exited with code ${code}`));
      });
    });
}
