import type { AppLocks } from '../deploy/lock.js';
import type { ReverseProxy } from '../proxy/reverse-proxy.js';
import type { ServeOptions } from '../server/options.js';
import type { Store } from '../store/store.js';
import { AcmeAuthority } from './acme.js';
import { Certificates } from './certificates.js';
import { RenewalSchedule } from './schedule.js';
import { CertStore } from './store.js';

/** berth's certificates at start: every stored one handed to the edge, then the renewal schedule. `acmeCa`: what loadAcmeCa read. */
export async function startCertificates(deps: { options: ServeOptions; acmeCa: string | undefined; store: Store; proxy: ReverseProxy; locks: AppLocks; log(line: string): void }): Promise<{ certificates: Certificates; stop(): Promise<void> }> {
  const { options, store, proxy, locks, log } = deps;
  const certStore = new CertStore(options.dataDir);
  const authority = new AcmeAuthority({ directoryUrl: options.acmeDirectory, email: options.acmeEmail, caPem: deps.acmeCa }, certStore, proxy);
  const certificates = new Certificates({ store: certStore, apps: store, proxy, authority, locks, domain: options.domain, acmeAuto: options.acmeAuto, log, now: () => new Date() });
  await certificates.handAll();
  const schedule = new RenewalSchedule(certificates, log);
  schedule.start();
  return { certificates, stop: () => schedule.stop() };
}
