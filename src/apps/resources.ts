import os from 'node:os';
import { NotFoundError } from '../errors.js';
import type { NewRelease, ResourceChange, ResourceReport } from '../model/api.js';
import { checkResourceLimits, checkResourceScope, containerLimits, limitsSummary } from '../model/resources.js';
import type { DeployOutput } from '../log/output.js';
import type { AppRecord } from '../store/store.js';
import type { AppOperator } from './operator.js';

/** What resource:limit and resource:clear answer: the limits now, and the release that runs with them. */
export interface ResourcesChanged {
  resources: ResourceReport;
  release: NewRelease;
}

/**
 * Memory, CPU and pids limits per app and process type. A change is stored, then reaches the
 * containers as a new release through the pipeline, like a config change: the new containers
 * start with the limits beside the old ones, pass their checks, and only then take the traffic.
 */
export class ResourcesService {
  constructor(private readonly operator: AppOperator) {}

  async report(name: string): Promise<ResourceReport> {
    return resourceReport(await this.operator.get(name));
  }

  /** Checks every value before anything is stored; the limits given replace those of the scope, the others stay. */
  async limit(name: string, { process, limits }: ResourceChange, output: DeployOutput): Promise<ResourcesChanged> {
    const scope = checkResourceScope(process);
    const checked = checkResourceLimits(limits, os.availableParallelism());
    const summary = `${scopeLabel(scope)} ${limitsSummary(checked)}`;
    return this.operator.withApp(name, `resource limits: ${summary}`, output, async () => {
      const app = await this.operator.deps.store.updateApp(name, (record) => {
        if (scope === undefined) Object.assign(record.resources.app, checked);
        else record.resources.processes[scope] = { ...record.resources.processes[scope], ...checked };
      });
      output.section(`Resource limits of ${name}: ${summary}`);
      return { resources: resourceReport(app), release: await this.operator.applyStored(app, `resource limits: ${summary}`, output) };
    });
  }

  /** Removes the limits of one process type, or the app's own; berth's default pids limit stays. */
  async clear(name: string, process: string | undefined, output: DeployOutput): Promise<ResourcesChanged> {
    const scope = checkResourceScope(process);
    const description = `resource limits cleared: ${scopeLabel(scope)}`;
    return this.operator.withApp(name, description, output, async (before) => {
      const current = scope === undefined ? before.resources.app : before.resources.processes[scope];
      if (!current || !Object.keys(current).length) throw new NotFoundError(`${name} has no resource limits set for ${scopeLabel(scope)}`, `see berth resource:report ${name}`);
      const app = await this.operator.deps.store.updateApp(name, (record) => {
        if (scope === undefined) record.resources.app = {};
        else delete record.resources.processes[scope];
      });
      output.section(`Resource limits of ${name}: cleared ${scopeLabel(scope)}`);
      return { resources: resourceReport(app), release: await this.operator.applyStored(app, description, output) };
    });
  }
}

function resourceReport(app: AppRecord): ResourceReport {
  const types = new Set([...Object.keys(app.formation).filter((type) => app.formation[type] > 0), ...Object.keys(app.resources.processes)]);
  return { limits: app.resources, containers: Object.fromEntries([...types].sort().map((type) => [type, containerLimits(app.resources, type)])) };
}

function scopeLabel(scope: string | undefined): string {
  return scope === undefined ? 'every process type' : scope;
}
