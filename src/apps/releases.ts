import { ConflictError, NotFoundError } from '../errors.js';
import type { DeployOutput } from '../log/output.js';
import type { AppRecord, LiveRelease, ReleaseRecord } from '../store/store.js';
import type { AppOperator } from './operator.js';

/** The app's releases, going back to one of them, and what each deploy printed. */
export class ReleasesService {
  constructor(private readonly operator: AppOperator) {}

  async list(name: string): Promise<ReleaseRecord[]> {
    await this.operator.get(name);
    return this.operator.deps.store.listReleases(name);
  }

  /** To `target`, or the release before the live one; through the full pipeline, like any deploy. */
  async rollback(name: string, target: number | undefined, output: DeployOutput): Promise<{ release: number; from: number }> {
    // Planned under the lock: a push while this waited changes which release is live.
    return this.operator.withApp(name, target === undefined ? 'rollback' : `rollback to release ${target}`, output, async (app) => {
      const plan = planRollback(app, await this.operator.deps.store.listReleases(name), target);
      const release = await this.operator.redeployHeld(app, `rollback to release ${plan.to.id}`, output, plan.to);
      return { release, from: plan.from };
    });
  }

  /** What the pusher read during the deploy of `release`. */
  async deployLog(name: string, release: number | 'latest'): Promise<{ release: number; log: string }> {
    await this.operator.get(name);
    const { store } = this.operator.deps;
    const id = release === 'latest' ? (await store.listReleases(name))[0]?.id : release;
    const log = id === undefined ? undefined : await store.readDeployLog(name, id);
    if (id === undefined || log === undefined) throw new NotFoundError(`${name} has no stored deploy log${release === 'latest' ? '' : ` for release ${release}`}`, `see berth releases ${name}`);
    return { release: id, log };
  }
}

/** A release a rollback can go to: one that served before, with its image still kept. */
export type RollbackTarget = ReleaseRecord & { image: string };

export interface RollbackPlan {
  to: RollbackTarget;
  /** The live release it replaces. */
  from: number;
}

/**
 * Goes to `target`, or to the newest release that served before the live one. Throws when there
 * is none, naming why, before anything is locked or started.
 */
export function planRollback(app: AppRecord, releases: ReleaseRecord[], target: number | undefined): RollbackPlan {
  const live = app.live;
  if (!live) throw new ConflictError(`${app.name} has not been deployed yet: nothing to roll back`, 'push it first: git push deploy main');
  const candidates = releases.filter((release): release is RollbackTarget => whyNotRollbackTo(release, live) === undefined);
  if (target === undefined) {
    if (!candidates.length) throw new ConflictError(`${app.name} has no earlier release to roll back to`, 'a rollback needs a release that was live before this one, with its image still kept');
    return { to: candidates[0], from: live.release };
  }
  const chosen = releases.find((release) => release.id === target);
  if (!chosen) throw new NotFoundError(`${app.name} has no release ${target}`, `see berth releases ${app.name}`);
  const to = candidates.find((release) => release.id === chosen.id);
  if (!to) throw new ConflictError(`cannot roll ${app.name} back to release ${chosen.id}: ${whyNotRollbackTo(chosen, live)}`, `see berth releases ${app.name}`);
  return { to, from: live.release };
}

/** Why a rollback cannot go to `release`, or undefined when it can. */
function whyNotRollbackTo(release: ReleaseRecord, live: LiveRelease): string | undefined {
  if (release.id === live.release) return 'it is the live release';
  if (release.status !== 'retired' && release.status !== 'live') return `it never went live (${release.status}); berth rolls back to releases that served before`;
  if (!release.image) return `its image is no longer kept (berth keeps the images of the last --keep-releases releases)`;
  if (release.image === live.image) return 'it runs the image that is live now';
  return undefined;
}
