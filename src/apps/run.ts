import type { Readable } from 'node:stream';
import { ConflictError, describe, InputError } from '../errors.js';
import { oneOffDeps, runOneOffTask } from '../deploy/one-off.js';
import type { DeployOutput } from '../log/output.js';
import type { RunRequest, RunResult } from '../model/api.js';
import { shellLine } from '../model/one-off.js';
import type { OneOffResult } from '../runtime/runtime.js';
import type { AppRecord, LiveRelease } from '../store/store.js';
import type { AppOperator } from './operator.js';

/** berth run: a command in a one-off container from the live release's image. */
export class RunService {
  constructor(private readonly operator: AppOperator) {}

  /**
   * Attached, its output streams to `output` and the answer carries its exit code; the client
   * going away kills it. Detached, the answer comes once it runs, with its name, and its output
   * is kept for berth logs APP --run NAME.
   */
  async run(name: string, request: RunRequest, output: DeployOutput, cancelled: AbortSignal, stdin?: Readable): Promise<RunResult> {
    const app = await this.operator.get(name);
    if (request.command.length === 0) throw new InputError('give the command to run after --', `like berth run ${name} -- ls -la`);
    const live = liveRelease(app);
    const command = shellLine(request.command);
    if (request.detach) return this.detached(app, live, command);
    const result = await runOneOffTask(oneOffDeps(this.operator.deps), {
      ...this.task(app, live, command),
      signal: cancelled,
      stdin,
      onLine: (line) => {
        output.raw(line);
        return output.ready();
      },
    });
    return runResult(result);
  }

  /** Resolves once the container runs (or failing to start it rejects); it then runs on without the client. */
  private detached(app: AppRecord, live: LiveRelease, command: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const ran = runOneOffTask(oneOffDeps(this.operator.deps), {
        ...this.task(app, live, command),
        onLine: () => undefined,
        onStart: (container) => resolve({ name: container, exitCode: null, durationMs: null, stopped: null }),
      });
      ran.catch((error: unknown) => reject(new ConflictError(`the one-off container of ${app.name} did not start: ${describe(error)}`)));
    });
  }

  private task(app: AppRecord, live: LiveRelease, command: string) {
    const { options } = this.operator.deps;
    return { app, release: live.release, image: live.image, role: 'run' as const, command, logGroup: 'run', timeoutSeconds: options.runTimeoutSeconds, limitName: '--run-timeout' };
  }
}

/** What the client reads of a one-off that ran: why it was killed, with the flag that bounds it. */
export function runResult(result: OneOffResult): RunResult {
  const stopped = result.stopped && `${result.stopped.message}: it was killed and removed${result.stopped.hint ? ` (${result.stopped.hint})` : ''}`;
  return { name: result.name, exitCode: result.exitCode, durationMs: result.durationMs, stopped: stopped ?? null };
}

/** What a one-off runs from: the live release, which a new app does not have yet. */
export function liveRelease(app: AppRecord): LiveRelease {
  if (!app.live) throw new ConflictError(`${app.name} has no live release to run a command in`, `push it first (git push deploy main): one-off commands run from the live release's image`);
  return app.live;
}
