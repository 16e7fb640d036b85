/** Records as the API shows them (src/model/api.ts): absent values are null, not left out. */
import type { AppInfo, AppSummary, ContainerInfo, ReleaseInfo } from '../model/api.js';
import type { AppRecord, ReleaseRecord } from '../store/store.js';

export function appSummary(app: AppRecord, hostNames: string[]): AppSummary {
  return { name: app.name, release: app.live?.release ?? null, commit: app.live?.commit ?? null, createdAt: app.createdAt, formation: app.formation, domains: hostNames };
}

export function appInfo(app: AppRecord, hostNames: string[], containers: ContainerInfo[]): AppInfo {
  return {
    ...appSummary(app, hostNames),
    image: app.live?.image ?? null,
    checks: app.checks,
    stopped: app.stopped,
    configKeys: Object.keys(app.config).sort(),
    containers,
  };
}

export function releaseInfo(release: ReleaseRecord): ReleaseInfo {
  return { ...release, image: release.image ?? null, liveAt: release.liveAt ?? null, finishedAt: release.finishedAt ?? null, failure: release.failure ?? null, imageDigest: release.imageDigest ?? null, imageSource: release.imageSource ?? null };
}
