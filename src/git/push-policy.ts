import { ZERO_COMMIT, type RefUpdate } from './hook-protocol.js';

export const DEPLOY_BRANCHES = ['main', 'master'];

/** Which ref update of a push deploys, or why the push is refused before anything is built. */
export function deployableUpdate(app: string, updates: RefUpdate[]): { update: RefUpdate } | { refusal: string } {
  const deploying = updates.filter((u) => DEPLOY_BRANCHES.some((b) => u.ref === `refs/heads/${b}`));
  const others = updates.filter((u) => !deploying.includes(u));
  const notBranches = others.filter((u) => !u.ref.startsWith('refs/heads/'));
  if (notBranches.length) {
    const names = notBranches.map((u) => u.ref).join(', ');
    return { refusal: `berth deploys ${app} from the main or master branch only; ${names} ${notBranches.length > 1 ? 'are not branches' : 'is not a branch'} (berth keeps no tags, review or other refs). Push a branch to main: git push deploy HEAD:main` };
  }
  if (others.length) {
    const names = others.map((u) => shortName(u.ref)).join(', ');
    return {
      refusal: `berth deploys ${app} from the main or master branch only; refused: ${names}. Push with: git push deploy ${shortName(others[0].ref)}:main`,
    };
  }
  if (deploying.length !== 1) return { refusal: `push either main or master to deploy ${app}, not both at once` };
  const [update] = deploying;
  if (ZERO_COMMIT.test(update.newCommit)) {
    return { refusal: `deleting ${shortName(update.ref)} would leave ${app} without a source; berth refuses it (destroy the app instead)` };
  }
  return { update };
}

function shortName(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}
