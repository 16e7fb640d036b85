import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { containerLimits } from '../model/resources.js';
import { mountsFor } from '../model/storage.js';
import { oneOffName } from '../model/naming.js';
import type { OneOffResult, OneOffRole, Runtime } from '../runtime/runtime.js';
import { OneOffLogs } from '../store/one-off-logs.js';
import type { AppRecord } from '../store/store.js';

export interface OneOffDeps {
  instance: string;
  dataDir: string;
  runtime: Runtime;
  logs: OneOffLogs;
}

/** One command to run once: berth run, a release task or a cron job. */
export interface OneOffTask {
  app: AppRecord;
  release: number;
  image: string;
  role: OneOffRole;
  command: string;
  /** Where its output is kept: `run`, `release` or `cron-ID`. */
  logGroup: string;
  timeoutSeconds: number;
  limitName: string;
  signal?: AbortSignal;
  stdin?: Readable;
  onLine(line: string): void | Promise<void>;
  /** Called with the container's name once it runs. */
  onStart?(name: string): void;
}

/** INSTANCE_APP_ROLE_STAMP: the time in base 36 (so names sort by start), then a little randomness. */
export function oneOffStamp(now = Date.now()): string {
  return `t${now.toString(36)}${randomBytes(2).toString('hex')}`;
}

/**
 * Every one-off runs through here: from the image with the app's config, the limits and storage
 * of its role (resource:limit and storage:mount with --process run|release|cron, else the app's),
 * its output kept in the data dir for berth logs as well as handed to onLine.
 */
export async function runOneOffTask(deps: OneOffDeps, task: OneOffTask): Promise<OneOffResult> {
  const name = oneOffName(deps.instance, task.app.name, task.role, oneOffStamp());
  const log = await deps.logs.open(task.app.name, task.logGroup, name);
  try {
    return await deps.runtime.runOneOff({
      app: task.app.name,
      release: task.release,
      image: task.image,
      role: task.role,
      name,
      command: task.command,
      env: task.app.config,
      limits: containerLimits(task.app.resources, task.role),
      mounts: mountsFor(task.app, task.role, deps.dataDir),
      timeoutSeconds: task.timeoutSeconds,
      limitName: task.limitName,
      signal: task.signal,
      stdin: task.stdin,
      onLine: async (line) => {
        await log.line(line);
        await task.onLine(line);
      },
      onStart: () => task.onStart?.(name),
    });
  } finally {
    await log.close();
  }
}

/** What runOneOffTask needs, from the deps every service and step has. */
export function oneOffDeps(deps: { options: { instance: string; dataDir: string }; runtime: Runtime }): OneOffDeps {
  return { instance: deps.options.instance, dataDir: deps.options.dataDir, runtime: deps.runtime, logs: new OneOffLogs(deps.options.dataDir) };
}
