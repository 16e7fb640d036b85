import type { AppLocks } from '../deploy/lock.js';
import type { ReverseProxy } from '../proxy/reverse-proxy.js';
import type { ServeOptions } from '../server/options.js';
import type { Store } from '../store/store.js';
import { AcmeAuthority } from './acme.js';
import type { CertificatePair } from './certificate.js';
import { Certificates } from './certificates.js';
import { GitPortCertificate, gitPortAcmeName } from './git-port-certificate.js';
import { RenewalSchedule } from './schedule.js';
import type { CertStore } from './store.js';

export interface StartedCertificates {
  certificates: Certificates;
  /** The git port's ACME certificate for --server-name; undefined when it has none to get (see gitPortAcmeName). */
  gitPort: GitPortCertificate | undefined;
  /** Once the git port listens: what berth gets for it from now on goes to `serve`. */
  serveGitPortWith(serve: (pair: CertificatePair & { chainFile: string }) => Promise<void>): void;
  stop(): Promise<void>;
}

/** berth's certificates at start: every stored one handed to the edge, then the renewal schedules (the apps', and the git port's once it listens). `acmeCa`: what loadAcmeCa read. */
export async function startCertificates(deps: { options: ServeOptions; acmeCa: string | undefined; certStore: CertStore; store: Store; proxy: ReverseProxy; locks: AppLocks; log(line: string): void }): Promise<StartedCertificates> {
  const { options, certStore, store, proxy, locks, log } = deps;
  const authority = new AcmeAuthority({ directoryUrl: options.acmeDirectory, email: options.acmeEmail, caPem: deps.acmeCa }, certStore, proxy);
  const now = () => new Date();
  const certificates = new Certificates({ store: certStore, apps: store, proxy, authority, locks, domain: options.domain, acmeAuto: options.acmeAuto, log, now });
  await certificates.handAll();
  const schedules = [new RenewalSchedule(certificates, log)];
  schedules[0].start();
  const serverName = gitPortAcmeName(options);
  const gitPort = serverName === undefined ? undefined : new GitPortCertificate({ store: certStore, authority, serverName, log, now });
  return {
    certificates,
    gitPort,
    serveGitPortWith: (serve) => {
      if (!gitPort) return;
      gitPort.handTo(serve);
      schedules.push(new RenewalSchedule(gitPort, log));
      schedules[1].start();
    },
    stop: async () => {
      await Promise.all(schedules.map((schedule) => schedule.stop()));
    },
  };
}
