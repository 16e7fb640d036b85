import { ConflictError, InputError, NotFoundError } from '../errors.js';
import { defaultHostName, isValidDomain } from '../model/app.js';
import type { DomainsInfo } from '../model/api.js';
import type { AppRecord } from '../store/store.js';
import type { AppsService } from './apps.js';
import type { AppOperator } from './operator.js';

/** The host names an app answers to besides APP.DOMAIN; a change reloads the edge nginx once. */
export class DomainsService {
  constructor(
    private readonly operator: AppOperator,
    private readonly apps: AppsService,
  ) {}

  async list(name: string): Promise<DomainsInfo> {
    return this.info(await this.operator.get(name));
  }

  async add(name: string, domain: string): Promise<DomainsInfo> {
    const app = await this.operator.get(name);
    const host = domain.toLowerCase();
    if (!isValidDomain(host)) throw new InputError(`"${domain}" is not a valid host name`, 'use letters, digits, hyphens and dots, like www.example.com');
    for (const other of await this.apps.list()) {
      if (this.apps.hostNames(other).includes(host)) throw new ConflictError(other.name === name ? `${name} already answers to ${host}` : `${host} already belongs to app ${other.name}`, `see berth domains:list ${other.name}`);
    }
    return this.change(app, [...app.domains, host]);
  }

  async remove(name: string, domain: string): Promise<DomainsInfo> {
    const app = await this.operator.get(name);
    const host = domain.toLowerCase();
    if (host === this.defaultHostName(name)) throw new InputError(`${host} is the default host name of ${name} and cannot be removed`, `only names added with domains:add can go; see berth domains:list ${name}`);
    if (!app.domains.includes(host)) throw new NotFoundError(`${name} has no domain ${host}`, `see berth domains:list ${name}`);
    return this.change(app, app.domains.filter((other) => other !== host));
  }

  private async change(app: AppRecord, domains: string[]): Promise<DomainsInfo> {
    const { proxy, store } = this.operator.deps;
    return this.operator.withLock(app.name, 'domains', undefined, async () => {
      if (app.live) await proxy.updateHostNames(app.name, this.apps.hostNames({ ...app, domains }));
      return this.info(await store.updateApp(app.name, (record) => (record.domains = domains)));
    });
  }

  private info(app: AppRecord): DomainsInfo {
    return { default: this.defaultHostName(app.name), domains: app.domains };
  }

  private defaultHostName(name: string): string {
    return defaultHostName(name, this.operator.deps.options.domain);
  }
}
