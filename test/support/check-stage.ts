import assert from 'node:assert/strict';
import type { AppRepo, PushResult } from './app.js';
import type { BerthInstance } from './berth.js';
import { recordReliability, whileServing } from './reliability.js';

/**
 * Pushes what `make` commits while the live app is under load, then puts the local branch back;
 * expects the push refused at `stage` (the check stage unless told) for `reason` with the live release serving on and
 * no request lost, and records the row for docs/reliability.md. Resolves with the push.
 */
export async function refusedAtCheckStage(berth: BerthInstance, app: string, repo: AppRepo, fault: string, make: () => Promise<unknown>, reason: RegExp, stage = 'check'): Promise<PushResult> {
  const live = (await repo.git('rev-parse', 'HEAD')).trim();
  const watched = await whileServing({ httpPort: berth.httpPort, host: `${app}.localhost` }, async () => {
    await make();
    const push = await repo.push(berth.remote(app));
    await repo.resetTo(live);
    return push;
  });
  const push = watched.result;
  assert.notEqual(push.code, 0, push.output);
  assert.match(push.output, new RegExp(`failed at the ${stage} stage`));
  assert.match(push.output, reason);
  assert.match(push.output, new RegExp(`Nothing changed: release \\d+ is still serving ${app}`));
  const said = new RegExp(`failed at the ${stage} stage: (.*)`).exec(push.output)![1].trim();
  await recordReliability({ area: 'Hostile and broken input', fault, berthDid: `push refused at the ${stage} stage: "${said}"; the live release kept serving`, served: watched.served, lost: watched.failures.length });
  assert.deepEqual(watched.failures, []);
  return push;
}
