import { throwIfStopped } from '../errors.js';
import { appHostNames, defaultHostName, WEB_PROCESS } from '../model/app.js';
import type { RetiringRelease } from './retire.js';
import type { DeployRun, PipelineDeps } from './run.js';
import { Stage } from './stages.js';

/** The point of no return: once the switch tier has loaded the new upstream the release is live. */
export class SwitchStep {
  constructor(private readonly deps: PipelineDeps) {}

  async run(run: DeployRun): Promise<RetiringRelease | undefined> {
    const { proxy, options } = this.deps;
    throwIfStopped(run.signal);
    await run.setStatus('switching');
    return run.timed(Stage.Switch, async () => {
      const host = defaultHostName(run.app.name, options.domain);
      run.output.section(`Switching ${host} to release ${run.release.id}`);
      const { retiringWorkers } = await this.route(run);
      const previous = run.app.live;
      await this.recordLive(run);
      if (previous) await proxy.settle(retiringWorkers);
      run.release.liveAt = new Date().toISOString();
      await run.setStatus('live');
      const port = options.httpPort === 80 ? '' : `:${options.httpPort}`;
      run.output.info(`nginx config tested and loaded: http://${host}${port}/ now sends every new request to release ${run.release.id}`);
      if (!previous) return undefined;
      return { release: previous.release, containers: previous.containers, workers: retiringWorkers };
    });
  }

  /** Only web containers are behind the proxy. */
  private route(run: DeployRun): Promise<{ retiringWorkers: number[] }> {
    const web = run.containers.filter((c) => c.process === WEB_PROCESS);
    return this.deps.proxy.switchApp({
      app: run.app.name,
      release: run.release.id,
      serverNames: appHostNames(run.app, this.deps.options.domain),
      upstreams: web.map((c) => ({ host: c.ip, port: c.port })),
    });
  }

  private async recordLive(run: DeployRun): Promise<void> {
    const live = {
      release: run.release.id,
      commit: run.tree.commit,
      image: run.release.image!,
      containers: run.containers.map(({ id, name, process, ip, port }) => ({ id, name, process, ip, port })),
    };
    await this.deps.store.updateApp(run.app.name, (record) => {
      record.live = live;
      record.stopped = false;
    });
  }
}
