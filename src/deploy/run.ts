import type { ServeOptions } from '../server/options.js';
import type { CommitReader } from '../git/tree.js';
import type { DeployOutput } from '../log/output.js';
import { WEB_PROCESS } from '../model/app.js';
import { fireTrigger } from '../plugins/triggers.js';
import type { ContainerHandle, Plugin, Trigger, TriggerContext } from '../plugins/types.js';
import type { ReverseProxy } from '../proxy/reverse-proxy.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Scheduler, Schedulers } from '../runtime/scheduler.js';
import { schedulerOf } from '../runtime/schedulers.js';
import type { AppRecord, ContainerRecord, LiveRelease, ReleaseRecord, Store } from '../store/store.js';
import { Stage } from './stages.js';

export interface PipelineDeps {
  options: ServeOptions;
  runtime: Runtime;
  /** Where each app's containers run; without it, on the runtime's engine. */
  schedulers?: Schedulers;
  store: Store;
  proxy: ReverseProxy;
  plugins: Plugin[];
}

/** Everything one deploy knows as it moves through its stages, and what every stage does with it. */
export class DeployRun {
  stage = Stage.Build;
  readonly containers: ContainerHandle[] = [];
  /** Set once a push's build succeeded; a rollback or restart reuses an image it must not remove. */
  builtImage: string | undefined;
  failure: { stage: string; message: string } | undefined;
  /** stop-first: the release this deploy stopped (held at the edge), to start again should the deploy fail before its switch. */
  stoppedPrevious: LiveRelease | undefined;

  readonly scheduler: Scheduler;

  constructor(
    private readonly deps: PipelineDeps,
    readonly app: AppRecord,
    readonly release: ReleaseRecord,
    readonly tree: CommitReader,
    readonly output: DeployOutput,
    readonly signal: AbortSignal,
  ) {
    this.scheduler = schedulerOf(deps, app);
  }

  async timed<T>(stage: Stage, work: () => Promise<T>): Promise<T> {
    this.stage = stage;
    const started = Date.now();
    try {
      return await work();
    } finally {
      this.release.stageMs[stage] = Date.now() - started;
    }
  }

  async setStatus(status: ReleaseRecord['status']): Promise<void> {
    this.release.status = status;
    await this.deps.store.saveRelease(this.app.name, this.release);
  }

  /** `signal` bounds the hooks; the deploy's own unless told otherwise. */
  async fire(trigger: Trigger, container?: ContainerHandle, signal = this.signal): Promise<void> {
    const previous = this.app.live;
    const context = triggerContext(this.deps.options, trigger, {
      app: this.app.name,
      release: this.release.id,
      commit: this.tree.commit,
      image: this.release.image,
      container: container ?? this.containers.find((c) => c.process === WEB_PROCESS) ?? this.containers[0],
      previous: previous && { release: previous.release, containers: previous.containers.map(({ id, ip, port }) => ({ id, ip, port })) },
      failure: this.failure,
      tree: this.tree,
      output: this.output,
      signal,
    });
    await fireTrigger(this.deps.plugins, context);
  }
}

/** What plugins see of a container: its address, and ways to ask how it is doing. */
export function containerHandle(scheduler: Scheduler, record: ContainerRecord): ContainerHandle {
  return {
    ...record,
    health: () => scheduler.containerHealth(record),
    listening: () => scheduler.listeningSockets(record),
    exec: (command, options) => scheduler.execInContainer(record, command, options),
  };
}

export function triggerContext(
  options: ServeOptions,
  trigger: Trigger,
  parts: Pick<TriggerContext, 'app' | 'release' | 'commit' | 'image' | 'container' | 'previous' | 'failure' | 'signal'> & { tree: CommitReader; output: DeployOutput },
): TriggerContext {
  const { tree, output, ...rest } = parts;
  return {
    trigger,
    ...rest,
    source: tree,
    checks: { listenTimeoutSeconds: options.listenTimeoutSeconds, defaultSettleSeconds: options.defaultCheckSettleSeconds },
    logger: output,
  };
}

/** check-deploy against these containers of a release that served, with that release's own files (its CHECKS). */
export async function checkServedRelease(deps: PipelineDeps, app: AppRecord, live: LiveRelease, tree: CommitReader, output: DeployOutput, signal: AbortSignal, containers = live.containers): Promise<void> {
  const scheduler = schedulerOf(deps, app);
  for (const record of containers.filter((c) => c.process === WEB_PROCESS)) {
    const container = containerHandle(scheduler, record);
    output.section(`Checking ${record.name} (release ${live.release})`);
    await fireTrigger(deps.plugins, triggerContext(deps.options, 'check-deploy', { app: app.name, release: live.release, commit: live.commit, image: live.image, container, previous: undefined, failure: undefined, tree, output, signal }));
  }
}
