import { AppRepo } from '../test/support/app.js';
import { startBerth, type BerthInstance } from '../test/support/berth.js';
import { freePort } from '../test/support/ports.js';
import { berthMemoryMiB } from './memory.js';
import type { BerthDeploy } from './report.js';
import { APP, pushRelease } from './targets.js';

/** Deploys of the measured app, with no other app and with N others live. */
const DEPLOYS_EACH = 5;
/** Other apps deploy in parallel (berth deploys different apps at once); this many at a time. */
const PARALLEL_PUSHES = 4;

export interface AppsResult {
  apps: number;
  alone: BerthDeploy[];
  withOthers: BerthDeploy[];
  memoryMiB: { alone: { server: number; nginx: number }; withOthers: { server: number; nginx: number } };
  seconds: number;
}

/**
 * One app's push-to-live and switch time with no other app, then with `others` apps live on the
 * same berth (each with its own container, network and host name), and berth's memory in both.
 */
export async function measureApps(others: number, instance: string): Promise<AppsResult> {
  const started = Date.now();
  const berth = await startBerth({ instance: `${instance}-apps`, args: ['--https-port', String(await freePort())] });
  const repo = await AppRepo.create();
  const otherRepo = await AppRepo.create();
  try {
    const first = await repo.push(berth.remote(APP));
    if (first.code !== 0) throw new Error(`the first push failed:\n${first.output}`);
    console.log(`apps: ${DEPLOYS_EACH} deploys of ${APP} alone ...`);
    const alone = await deployTimes(berth, repo, 1);
    const memoryAlone = await berthMemoryMiB(berth.pid, berth.dataDir);
    await deployOthers(berth, otherRepo, others);
    console.log(`apps: ${DEPLOYS_EACH} deploys of ${APP} with ${others} other apps live ...`);
    const withOthers = await deployTimes(berth, repo, 1 + DEPLOYS_EACH);
    const memoryWithOthers = await berthMemoryMiB(berth.pid, berth.dataDir);
    return { apps: others, alone, withOthers, memoryMiB: { alone: memoryAlone, withOthers: memoryWithOthers }, seconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    await berth.destroy();
    await repo.remove();
    await otherRepo.remove();
  }
}

async function deployTimes(berth: BerthInstance, repo: AppRepo, from: number): Promise<BerthDeploy[]> {
  const deploys: BerthDeploy[] = [];
  for (let i = from; i < from + DEPLOYS_EACH; i++) deploys.push(await pushRelease(berth, repo, i));
  return deploys;
}

async function deployOthers(berth: BerthInstance, repo: AppRepo, count: number): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => `other-${i + 1}`);
  for (let i = 0; i < names.length; i += PARALLEL_PUSHES) {
    await Promise.all(names.slice(i, i + PARALLEL_PUSHES).map(async (name) => {
      const push = await repo.push(berth.remote(name));
      if (push.code !== 0) throw new Error(`the push of ${name} failed:\n${push.output}`);
    }));
    process.stdout.write(`\r  ${Math.min(i + PARALLEL_PUSHES, count)} of ${count} other apps live`);
  }
  process.stdout.write('\n');
}
