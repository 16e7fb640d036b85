import { describe, throwIfStopped } from '../errors.js';
import { appHostNames, defaultHostName, WEB_PROCESS } from '../model/app.js';
import type { LiveRelease } from '../store/store.js';
import { retried } from '../time.js';
import type { RetiringRelease } from './retire.js';
import type { DeployRun, PipelineDeps } from './run.js';
import { Stage } from './stages.js';

/** A full disk or a passing I/O error may fail a write once; the switch has happened, so it is not given up at once. */
const RECORD_RETRY_DELAYS_MS = [100, 400];

/** What the switch left: the release that now has to go, if berth could record that it went. */
export type Switched = { recorded: true; retiring: RetiringRelease | undefined } | { recorded: false };

/**
 * The point of no return. Until the data plane takes the new upstream, a failure throws and the
 * pipeline removes the new release; once it has, the new release serves whatever happens next,
 * so nothing after that throws: a record berth cannot write is reported, never undone.
 */
export class SwitchStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun): Promise<Switched> {
    throwIfStopped(run.signal);
    return run.timed(Stage.Switch, async () => {
      await run.setStatus('switching');
      run.output.section(`Switching ${defaultHostName(run.app.name, this.deps.options.domain)} to release ${run.release.id}`);
      // Before anything routes to it: a release that serves must keep its commit, even when git rejects the push.
      await run.tree.keep(run.release.id);
      await this.route(run);
      return this.recordSwitch(run);
    });
  }

  /** Only web containers are behind the proxy; when this throws, nothing routes to the new release. */
  private route(run: DeployRun): Promise<void> {
    const web = run.containers.filter((c) => c.process === WEB_PROCESS);
    return this.deps.proxy.switchApp({
      app: run.app.name,
      release: run.release.id,
      serverNames: appHostNames(run.app, this.deps.options.domain),
      upstreams: web.map((c) => ({ host: c.ip, port: c.port })),
    });
  }

  private async recordSwitch(run: DeployRun): Promise<Switched> {
    const previous = run.app.live;
    try {
      await retried(() => this.recordLive(run), RECORD_RETRY_DELAYS_MS);
      run.release.liveAt = new Date().toISOString();
      await retried(() => run.setStatus('live'), RECORD_RETRY_DELAYS_MS);
    } catch (error) {
      this.reportUnrecorded(run, previous, error);
      return { recorded: false };
    }
    const { httpPort, domain } = this.deps.options;
    const url = `http://${defaultHostName(run.app.name, domain)}${httpPort === 80 ? '' : `:${httpPort}`}/`;
    run.output.info(`Routed at the edge (no reload): ${url} now sends every new request to release ${run.release.id}`);
    return { recorded: true, retiring: previous && { release: previous.release, containers: previous.containers } };
  }

  private async recordLive(run: DeployRun): Promise<void> {
    const live: LiveRelease = {
      release: run.release.id,
      commit: run.tree.commit,
      image: run.release.image!,
      containers: run.containers.map(({ id, name, process, ip, port, node, service }) => ({ id, name, process, ip, port, ...(service ? { node, service } : {}) })),
    };
    await this.deps.store.updateApp(run.app.name, (record) => {
      record.live = live;
      record.stopped = false;
    });
  }

  /** The previous release keeps running, so that berth's records and what runs can be put together again. */
  private reportUnrecorded(run: DeployRun, previous: LiveRelease | undefined, error: unknown): void {
    run.output.warn(`nginx sends every new request to release ${run.release.id}, but berth could not record that it is live: ${describe(error)}`);
    const kept = previous ? `Release ${previous.release} keeps running (it is not retired), ` : '';
    run.output.warn(`${kept}until berth records the switch: it does when it starts again, from what nginx routes to and the containers that run. Free the space (or fix the error above) and restart berth.`);
  }
}
