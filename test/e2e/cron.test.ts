// Cron jobs as a user meets them: app.json pushed with git, real containers, the installed berth.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppRepo, remoteHead } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli, berthJson } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { recordReliability, whileServing } from '../support/reliability.js';
import type { CronJobInfo } from '../../src/model/api.js';

const APP = 'scheduled';
const HOST = `${APP}.localhost`;
const MINUTELY = 'echo "cron ran at $(date -u +%H:%M) with $GREETING"';
const BY_HAND = 'echo by hand; exit 4';

describe('cron: app.json jobs of the live release, in one-off containers', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  const jobs = async () => (await berthJson<{ jobs: CronJobInfo[] }>(berth, ['cron:list', APP])).jobs;
  const job = async (command: string) => (await jobs()).find((j) => j.command === command)!;

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
    assert.equal((await berthCli(berth, ['apps:create', APP])).code, 0);
    assert.equal((await berthCli(berth, ['config:set', APP, 'GREETING=hello'])).code, 0);
    const appJson = JSON.stringify({ cron: [{ command: MINUTELY, schedule: '* * * * *' }, { command: BY_HAND, schedule: '@daily' }] });
    repo = await AppRepo.create({ 'app.json': appJson });
    const pushed = await repo.push(berth.remote(APP));
    assert.equal(pushed.code, 0, pushed.output);
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  test('a job with schedule * * * * * runs on its minute; cron:list shows its exit code and duration, logs --cron its output', async () => {
    const listed = await berthCli(berth, ['cron:list', APP]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /NEXT RUN/);
    const first = await job(MINUTELY);
    assert.equal(first.schedule, '* * * * *');
    assert.equal(new Date(first.nextRunAt).getUTCSeconds(), 0, 'on a minute, UTC');
    const deadline = Date.parse(first.nextRunAt) + 30_000;
    let ran = first;
    while (ran.last?.exitCode == null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      ran = await job(MINUTELY);
    }
    assert.equal(ran.last?.exitCode, 0, 'it ran within its minute');
    assert.equal(ran.last?.trigger, 'schedule');
    assert.ok(Date.parse(ran.last!.startedAt) - Date.parse(first.nextRunAt) < 5_000, 'it started on time');
    assert.ok(ran.last!.durationMs! >= 0);
    const logs = await berthCli(berth, ['logs', APP, '--cron', ran.id]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /cron ran at \d\d:\d\d with hello/);
  });

  test('cron:run runs a job now with its output and exit code; an unknown id is a clear error', async () => {
    const daily = await job(BY_HAND);
    const ran = await berthCli(berth, ['cron:run', APP, daily.id]);
    assert.equal(ran.code, 4, ran.stderr);
    assert.match(ran.stdout, /by hand/);
    const listed = await job(BY_HAND);
    assert.equal(listed.last?.exitCode, 4);
    assert.equal(listed.last?.trigger, 'manual');
    const unknown = await berthCli(berth, ['cron:run', APP, 'nope']);
    assert.equal(unknown.code, 4);
    assert.match(unknown.stderr, /scheduled has no cron job nope: its jobs are/);
    assert.match(unknown.stderr, /berth cron:list scheduled/);
    await recordReliability({ area: 'Hostile and broken input', fault: 'cron:run of an unknown job id', berthDid: 'refused it naming the jobs there are, ran nothing', served: 0, lost: 0 });
  });

  test('a cron schedule that does not parse fails the push naming the field, and nothing live changes', async () => {
    const live = await remoteHead(berth.remote(APP));
    await repo.commit({ 'app.json': JSON.stringify({ cron: [{ command: 'echo never', schedule: '61 * * * *' }] }) }, 'bad schedule');
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () => repo.push(berth.remote(APP)));
    assert.notEqual(watched.result.code, 0);
    assert.match(watched.result.output, /app.json cron\[0\].schedule: "61 \* \* \* \*" does not parse/);
    assert.equal(await remoteHead(berth.remote(APP)), live);
    assert.deepEqual((await jobs()).map((j) => j.command).sort(), [BY_HAND, MINUTELY].sort(), 'the live jobs are unchanged');
    assert.equal((await getThroughNginx(berth.httpPort, HOST)).status, 200);
    await recordReliability({ area: 'Hostile and broken input', fault: 'an app.json cron schedule that does not parse (61 * * * *)', berthDid: 'failed the push naming app.json cron[0].schedule; the live release and its jobs stayed', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
    await repo.resetTo(live!);
  });
});
