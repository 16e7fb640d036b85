import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parseAppJson, type CronEntry } from '../../src/build/app-json.js';
import { CronScheduler } from '../../src/deploy/cron.js';
import { NotFoundError, ConflictError } from '../../src/errors.js';
import { sleep } from '../../src/time.js';
import { APP, deployLive, harness, type Harness } from '../support/deploy-harness.js';

const EVERY_MINUTE = 'node tick.js';
const at = (time: string) => Date.parse(`2026-12-01T${time}Z`);

interface Clocked {
  h: Harness;
  clock: { now: number };
  jobs: { list: CronEntry[] };
  logs: string[];
  scheduler(): CronScheduler;
}

async function cronHarness(t: TestContext): Promise<Clocked> {
  const h = await harness(t);
  await deployLive(h, '1111111aaaa');
  const clock = { now: at('12:00:10') };
  const jobs = { list: parseAppJson(JSON.stringify({ cron: [{ command: EVERY_MINUTE, schedule: '* * * * *' }] })).cron };
  const logs: string[] = [];
  const options = { ...h.options, runTimeoutSeconds: 1 };
  const scheduler = () => new CronScheduler({ options, runtime: h.runtime, store: h.store, log: (line) => logs.push(line), readJobs: async () => jobs.list, now: () => clock.now });
  return { h, clock, jobs, logs, scheduler };
}

async function app(h: Harness) {
  return (await h.store.getApp(APP))!;
}

test('a job runs when its minute comes, from the live image in a cron one-off, and cron:list shows how it went', async (t) => {
  const { h, clock, scheduler } = await cronHarness(t);
  const cron = scheduler();
  h.runtime.oneOffScripts.set(EVERY_MINUTE, { lines: ['ticked'], exitCode: 3 });
  await cron.tick();
  assert.equal(h.runtime.oneOffs.length, 0, 'not before its minute');
  const [before] = await cron.list(await app(h));
  assert.equal(before.nextRunAt, '2026-12-01T12:01:00.000Z');
  clock.now = at('12:01:00.400');
  await cron.tick();
  await sleep(20);
  assert.equal(h.runtime.oneOffs.length, 1);
  const [run] = h.runtime.oneOffs;
  assert.equal(run.role, 'cron');
  assert.equal(run.image, (await app(h)).live!.image);
  const [job] = await cron.list(await app(h));
  assert.equal(job.last?.exitCode, 3);
  assert.equal(job.last?.trigger, 'schedule');
  assert.equal(job.nextRunAt, '2026-12-01T12:02:00.000Z');
});

test('never two copies: a run due while the last one runs is skipped and counted, and cron:run is refused meanwhile', async (t) => {
  const { h, clock, scheduler } = await cronHarness(t);
  const cron = scheduler();
  h.runtime.oneOffScripts.set(EVERY_MINUTE, { lines: [], exitCode: 0, hangs: true });
  await cron.tick();
  clock.now = at('12:01:00.100');
  await cron.tick();
  clock.now = at('12:02:00.100');
  await cron.tick();
  assert.equal(h.runtime.oneOffs.length, 1);
  const [job] = await cron.list(await app(h));
  assert.equal(job.running, true);
  assert.equal(job.skipped, 1);
  assert.equal(job.lastSkippedAt, '2026-12-01T12:02:00.000Z');
  await assert.rejects(cron.runNow(await app(h), job.id, () => undefined, new AbortController().signal), ConflictError);
  await sleep(1100);
  const [ended] = await cron.list(await app(h));
  assert.equal(ended.running, false);
  assert.match(ended.last?.stopped ?? '', /time limit of 1 s/);
});

test('state survives a restart of berth; runs due while it was down are missed once, not caught up, and the next runs on schedule', async (t) => {
  const { h, clock, scheduler } = await cronHarness(t);
  await scheduler().tick();
  clock.now = at('12:30:05');
  const restarted = scheduler();
  await restarted.tick();
  assert.equal(h.runtime.oneOffs.length, 0, 'no catch-up run');
  const [job] = await restarted.list(await app(h));
  assert.equal(job.missed, 1);
  assert.equal(job.lastMissedAt, '2026-12-01T12:01:00.000Z');
  assert.equal(job.nextRunAt, '2026-12-01T12:31:00.000Z');
  clock.now = at('12:31:00.200');
  await restarted.tick();
  await sleep(20);
  assert.equal(h.runtime.oneOffs.length, 1);
});

test('cron:run of an unknown id names the jobs there are; a deploy that changes app.json changes the jobs', async (t) => {
  const { h, jobs, scheduler } = await cronHarness(t);
  const cron = scheduler();
  const [job] = await cron.list(await app(h));
  await assert.rejects(cron.runNow(await app(h), 'nope', () => undefined, new AbortController().signal), (error: Error) => error instanceof NotFoundError && error.message.includes(`its jobs are ${job.id}`));
  const lines: string[] = [];
  h.runtime.oneOffScripts.set(EVERY_MINUTE, { lines: ['by hand'], exitCode: 0 });
  const result = await cron.runNow(await app(h), job.id, (line) => void lines.push(line), new AbortController().signal);
  assert.equal(result.exitCode, 0);
  assert.deepEqual(lines, ['by hand']);
  jobs.list = parseAppJson(JSON.stringify({ cron: [{ command: 'node nightly.js', schedule: '@daily' }] })).cron;
  await deployLive(h, '2222222bbbb');
  const after = await cron.list(await app(h));
  assert.deepEqual(after.map((j) => j.command), ['node nightly.js']);
  assert.equal(after[0].nextRunAt, '2026-12-02T00:00:00.000Z');
});
