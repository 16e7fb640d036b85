import type { AppProxyOptions } from '../model/app.js';
import type { AppOperator } from './operator.js';

/** proxy:set: how the edge answers an app over HTTP and HTTPS besides routing it. */
export class ProxyService {
  constructor(private readonly operator: AppOperator) {}

  /** The edge takes the change first; only then is it stored, so a refusal changes nothing. */
  async set(name: string, change: Partial<AppProxyOptions>): Promise<{ proxy: AppProxyOptions; hasCertificate: boolean }> {
    return this.operator.withApp(name, 'proxy:set', undefined, async (app) => {
      const { proxy, store, certs } = this.operator.deps;
      const options = { ...app.proxy, ...change };
      await proxy.setAppOptions(name, options);
      await store.updateApp(name, (record) => (record.proxy = options));
      return { proxy: options, hasCertificate: (await certs.info(app)).certificate !== null };
    });
  }
}
