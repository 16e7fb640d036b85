import { ConflictError, InputError, NotFoundError } from '../errors.js';
import { defaultHostName, isValidDomain } from '../model/app.js';
import type { DomainsInfo } from '../model/api.js';
import type { AppRecord } from '../store/store.js';
import type { AppsService } from './apps.js';
import type { AppOperator } from './operator.js';

/** The host names an app answers to besides APP.DOMAIN; a change is a write to the edge's route table, never a reload, and an automatic certificate is re-issued for them. */
export class DomainsService {
  constructor(
    private readonly operator: AppOperator,
    private readonly apps: AppsService,
  ) {}

  async list(name: string): Promise<DomainsInfo> {
    return this.info(await this.operator.get(name));
  }

  async add(name: string, domain: string): Promise<DomainsInfo> {
    await this.operator.get(name);
    const host = domain.toLowerCase();
    if (!isValidDomain(host)) throw new InputError(`"${domain}" is not a valid host name`, 'use letters, digits, hyphens and dots, like www.example.com');
    return this.operator.withApp(name, 'domains', undefined, (app) =>
      this.operator.withHostNames(`domains:add ${host}`, async () => {
        const owner = await this.apps.hostNameOwner(host);
        if (owner) throw new ConflictError(owner === name ? `${name} already answers to ${host}` : `${host} already belongs to app ${owner}`, `see berth domains:list ${owner}`);
        return this.change(app, [...app.domains, host]);
      }),
    );
  }

  async remove(name: string, domain: string): Promise<DomainsInfo> {
    const host = domain.toLowerCase();
    return this.operator.withApp(name, 'domains', undefined, async (app) => {
      if (host === this.defaultHostName(name)) throw new InputError(`${host} is the default host name of ${name} and cannot be removed`, `only names added with domains:add can go; see berth domains:list ${name}`);
      if (!app.domains.includes(host)) throw new NotFoundError(`${name} has no domain ${host}`, `see berth domains:list ${name}`);
      return this.operator.withHostNames(`domains:remove ${host}`, () => this.change(app, app.domains.filter((other) => other !== host)));
    });
  }

  /** The caller holds the app's lock and the host names' lock. The certificate follows in the background. */
  private async change(app: AppRecord, domains: string[]): Promise<DomainsInfo> {
    const { proxy, store, certs } = this.operator.deps;
    if (app.live) await proxy.updateHostNames(app.name, this.apps.hostNames({ ...app, domains }));
    const changed = await store.updateApp(app.name, (record) => (record.domains = domains));
    await certs.hostNamesChanged(app.name);
    return this.info(changed);
  }

  private info(app: AppRecord): DomainsInfo {
    return { default: this.defaultHostName(app.name), domains: app.domains };
  }

  private defaultHostName(name: string): string {
    return defaultHostName(name, this.operator.deps.options.domain);
  }
}
