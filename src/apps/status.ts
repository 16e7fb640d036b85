import type { DiskInfo, GitPortTls, NginxState, StatusInfo } from '../model/api.js';
import { describe } from '../errors.js';
import { BERTH_VERSION } from '../paths.js';
import type { AppsService } from './apps.js';
import type { AppOperator } from './operator.js';

/** berth, its edge nginx, the Docker engine and each app with its certificate, as `berth status` shows them. */
export class StatusService {
  constructor(
    private readonly operator: AppOperator,
    private readonly apps: AppsService,
  ) {}

  async report(startedAt: number): Promise<StatusInfo> {
    const { options, runtime, proxy } = this.operator.deps;
    const version = await runtime.version();
    const edge = await proxy.edge.masterPid();
    return {
      berth: { version: BERTH_VERSION, instance: options.instance, domain: options.domain, httpPort: options.httpPort, httpsPort: options.httpsPort, gitPort: options.gitPort, gitPortTls: await this.gitPortTls(), dataDir: options.dataDir, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) },
      nginx: { edge: nginxState(edge) },
      docker: { running: version !== undefined, version: version ?? null },
      disk: await this.disk(version !== undefined),
      apps: await this.appStates(version !== undefined),
      swarm: await this.swarm(),
    };
  }

  /** The nodes when berth has a swarm: one of --swarm-engine always shows, even while it does not answer. */
  private async swarm(): Promise<StatusInfo['swarm']> {
    const { cluster, options } = this.operator.deps;
    if (!cluster) return null;
    try {
      const nodes = await cluster.nodes();
      return nodes.length || options.swarmEngine ? { manager: cluster.managerUrl, nodes, error: null } : null;
    } catch (error) {
      return options.swarmEngine ? { manager: cluster.managerUrl, nodes: [], error: describe(error) } : null;
    }
  }

  /** What the git port serves now, and how its ACME certificate for --server-name fares. */
  private async gitPortTls(): Promise<GitPortTls | null> {
    const served = this.operator.deps.gitPort?.served();
    if (!served) return null;
    const acme = this.operator.deps.gitPort?.acme;
    return {
      certificateFile: served.certFile,
      fingerprint: served.fingerprint,
      origin: served.origin,
      notAfter: served.validTo.toISOString(),
      acme: acme ? { serverName: acme.serverName, ...(await acme.summary()) } : null,
    };
  }

  private async disk(engineRunning: boolean): Promise<DiskInfo> {
    const { options, runtime, store } = this.operator.deps;
    const engine = engineRunning ? await runtime.diskUsage().catch(() => undefined) : undefined;
    return { dataDirBytes: await store.diskUsage(), images: engine?.images ?? null, buildCache: engine?.buildCache ?? null, pruneBuildCacheAfterDays: options.pruneBuildCacheAfterDays };
  }

  /** Containers only when the engine answers: asking a dead one would fail the whole status. */
  private async appStates(engineRunning: boolean): Promise<StatusInfo['apps']> {
    const states: StatusInfo['apps'] = [];
    for (const app of await this.apps.list()) {
      const containers = engineRunning ? await this.apps.containers(app) : [];
      const certificate = await this.operator.deps.certs.summary(app);
      states.push({ name: app.name, release: app.live?.release ?? null, commit: app.live?.commit ?? null, checks: app.checks, stopped: app.stopped, containers, certificate });
    }
    return states;
  }
}

function nginxState(pid: number | undefined): NginxState {
  return { running: pid !== undefined, pid: pid ?? null };
}
