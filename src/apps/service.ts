import { AppsService } from './apps.js';
import { CertsService } from './certs.js';
import { ChecksService } from './checks.js';
import { ConfigService } from './config.js';
import { CronService } from './cron.js';
import { DeployService } from './deploy.js';
import { SchedulerService } from './scheduler.js';
import { DomainsService } from './domains.js';
import { LogsService } from './logs.js';
import { NodesService } from './nodes.js';
import { AppOperator, type AppServiceDeps } from './operator.js';
import { ProcessesService } from './processes.js';
import { ProxyService } from './proxy.js';
import { ReleasesService } from './releases.js';
import { ResourcesService } from './resources.js';
import { RunService } from './run.js';
import { StatusService } from './status.js';
import { StorageService } from './storage.js';

export type { AppServiceDeps } from './operator.js';

/**
 * What an operator does to apps between pushes, in the groups the CLI has: apps, config,
 * processes, releases, checks, domains, certificates, proxy settings, resources, storage, logs, status, one-off runs, cron jobs, deploy settings and the nodes of berth's swarm. Every change to what runs is a new
 * release through the deploy pipeline (see AppOperator).
 */
export class AppService {
  readonly apps: AppsService;
  readonly config: ConfigService;
  readonly processes: ProcessesService;
  readonly releases: ReleasesService;
  readonly checks: ChecksService;
  readonly domains: DomainsService;
  readonly certs: CertsService;
  readonly proxy: ProxyService;
  readonly resources: ResourcesService;
  readonly storage: StorageService;
  readonly logs: LogsService;
  readonly status: StatusService;
  readonly run: RunService;
  readonly cron: CronService;
  readonly deploy: DeployService;
  readonly scheduler: SchedulerService;
  readonly nodes: NodesService;

  constructor(deps: AppServiceDeps) {
    const operator = new AppOperator(deps);
    this.apps = new AppsService(operator);
    this.config = new ConfigService(operator);
    this.processes = new ProcessesService(operator);
    this.releases = new ReleasesService(operator);
    this.checks = new ChecksService(operator);
    this.domains = new DomainsService(operator, this.apps);
    this.certs = new CertsService(operator);
    this.proxy = new ProxyService(operator);
    this.resources = new ResourcesService(operator);
    this.storage = new StorageService(operator);
    this.logs = new LogsService(operator);
    this.status = new StatusService(operator, this.apps);
    this.run = new RunService(operator);
    this.cron = new CronService(operator);
    this.deploy = new DeployService(operator);
    this.scheduler = new SchedulerService(operator);
    this.nodes = new NodesService(operator);
  }
}
