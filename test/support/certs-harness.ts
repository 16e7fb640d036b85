import { Certificates } from '../../src/certs/certificates.js';
import { CertStore } from '../../src/certs/store.js';
import { AppLocks } from '../../src/deploy/lock.js';
import type { Harness } from './deploy-harness.js';
import { FakeAuthority } from './fake-authority.js';
import type { FakeProxy } from './fake-proxy.js';

export interface CertsHarness {
  certificates: Certificates;
  store: CertStore;
  authority: FakeAuthority;
  /** What berth logged. */
  logged: string[];
  /** The clock the certificates read; tests move it. */
  clock: { now: Date };
}

/** The certificates of a deploy harness's data dir, with a fake ACME server and a clock the test sets. */
export function certsHarness(h: Harness, options: { proxy?: FakeProxy; locks?: AppLocks; acmeAuto?: boolean } = {}): CertsHarness {
  const store = new CertStore(h.options.dataDir);
  const authority = new FakeAuthority();
  const logged: string[] = [];
  // A minute ahead: a certificate openssl makes during the test is valid from its whole second, which may be after "now".
  const clock = { now: new Date(Date.now() + 60_000) };
  const certificates = new Certificates({
    store,
    apps: h.store,
    proxy: options.proxy ?? h.proxy,
    authority,
    locks: options.locks ?? new AppLocks(),
    domain: h.options.domain,
    acmeAuto: options.acmeAuto ?? false,
    log: (line) => logged.push(line),
    now: () => clock.now,
  });
  return { certificates, store, authority, logged, clock };
}
