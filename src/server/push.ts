import type { DeployPipeline } from '../deploy/pipeline.js';
import type { AppLocks } from '../deploy/lock.js';
import { describe } from '../errors.js';
import type { HookRequest, RefUpdate } from '../git/hook-protocol.js';
import { ZERO_COMMIT } from '../git/hook-protocol.js';
import { deployableUpdate } from '../git/push-policy.js';
import { CommitTree, readRef } from '../git/tree.js';
import { formatDuration, type DeployOutput } from '../log/output.js';
import { sleep } from '../time.js';
import type { Store } from '../store/store.js';

export interface PushDeps {
  store: Store;
  locks: AppLocks;
  pipeline: DeployPipeline;
}

const REF_SETTLE_MS = 5000;

/**
 * git updates the branch only after the previous push's hook has exited. A push that waited for
 * that deploy must see the updated branch before it decides whether it is still a fast-forward.
 */
async function settledRef(store: Store, app: string, ref: string): Promise<string | undefined> {
  const repoDir = store.repoDir(app);
  const deployed = (await store.getApp(app))?.live?.commit;
  const deadline = Date.now() + REF_SETTLE_MS;
  let current = await readRef(repoDir, ref);
  while (deployed && current !== deployed && Date.now() < deadline) {
    await sleep(100);
    current = await readRef(repoDir, ref);
  }
  return current;
}

function isStale(update: RefUpdate, current: string | undefined): boolean {
  const expected = ZERO_COMMIT.test(update.oldCommit) ? undefined : update.oldCommit;
  return expected !== current;
}

/** Handles one push from the pre-receive hook; resolves with the hook's exit code. */
export async function handlePush(deps: PushDeps, request: HookRequest, output: DeployOutput, cancelled?: AbortSignal): Promise<number> {
  const target = deployableUpdate(request.app, request.updates);
  if ('refusal' in target) {
    output.error(target.refusal);
    return 1;
  }
  const { update } = target;
  const unlock = await deps.locks.acquire(request.app, { description: `commit ${update.newCommit.slice(0, 7)}`, since: Date.now() }, (current, position) => {
    output.section(`Waiting: ${request.app} is already deploying ${current.description} (for ${formatDuration(Date.now() - current.since)}); this push is number ${position} in line`);
  });
  try {
    const current = await settledRef(deps.store, request.app, update.ref);
    if (isStale(update, current)) {
      output.error(`${update.ref.replace('refs/heads/', '')} of ${request.app} moved to ${current?.slice(0, 7) ?? 'nothing'} while this push waited; fetch, merge and push again`);
      return 1;
    }
    const tree = new CommitTree(deps.store.repoDir(request.app), update.newCommit, request.quarantine);
    const outcome = await deps.pipeline.deploy({ app: request.app, source: { kind: 'push', tree }, description: `push of ${update.newCommit.slice(0, 7)}`, output, cancelled });
    return outcome.ok ? 0 : 1;
  } catch (error) {
    output.error(`berth could not deploy ${request.app}: ${describe(error)}`);
    return 1;
  } finally {
    unlock();
  }
}
