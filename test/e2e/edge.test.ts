import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { runWrk } from '../../bench/wrk.js';
import { childPids } from '../../src/host/processes.js';
import { AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthOk } from '../support/cli.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { startLoad, type LoadResult } from '../support/load.js';
import { recordReliability } from '../support/reliability.js';

const APP = 'steady';
const HOST = `${APP}.localhost`;
const ROUNDS = 3;

async function edgePids(berth: BerthInstance): Promise<number[]> {
  const master = Number((await fs.readFile(path.join(berth.dataDir, 'nginx', 'edge', 'run', 'nginx.pid'), 'utf8')).trim());
  return [master, ...(await childPids(master))].sort();
}

function failuresOf(results: [string, LoadResult][]): string[] {
  return results.flatMap(([name, result]) => result.failures.map((failure) => `${name}: ${failure.kind}`));
}

describe('the edge is never reloaded: other apps, domains and first deploys change nothing for the clients of a live app', () => {
  let berth: BerthInstance;
  const repos: AppRepo[] = [];

  const cli = (args: string[]) => berthOk(berth, args);

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
    const repo = await AppRepo.create();
    repos.push(repo);
    const first = await repo.push(berth.remote(APP));
    assert.equal(first.code, 0, first.output);
  });

  after(async () => {
    await berth?.destroy();
    for (const repo of repos) await repo.remove();
  });

  test(`strict keep-alive GET and POST load (Node clients and wrk, no retries) while ${ROUNDS} apps are created, deployed, given domains and destroyed: no request fails and nginx keeps its master and workers`, async () => {
    const pids = await edgePids(berth);
    const loads = {
      'GET keep-alive': startLoad({ port: berth.httpPort, host: HOST, connections: 4, method: 'GET', keepAlive: true }),
      'POST keep-alive': startLoad({ port: berth.httpPort, host: HOST, connections: 2, method: 'POST', keepAlive: true, bodyBytes: 2048 }),
    };
    const started = Date.now();
    let wrkSeconds = 0;
    const operations: string[] = [];
    const work = (async () => {
      for (let round = 1; round <= ROUNDS; round++) {
        const other = `other${round}`;
        await cli(['apps:create', other]);
        const repo = await AppRepo.create({ 'version.txt': `${other}\n` });
        repos.push(repo);
        const push = await repo.push(berth.remote(other));
        assert.equal(push.code, 0, push.output);
        await cli(['domains:add', other, `www.${other}.test`]);
        assert.match((await getThroughNginx(berth.httpPort, `www.${other}.test`)).body, new RegExp(`Hello from ${other}`));
        await cli(['domains:add', APP, `shop${round}.steady.test`]);
        assert.match((await getThroughNginx(berth.httpPort, `shop${round}.steady.test`)).body, /Hello from/);
        if (round > 1) await cli(['domains:remove', APP, `shop${round - 1}.steady.test`]);
        await cli(['domains:remove', other, `www.${other}.test`]);
        if (round > 1) await cli(['apps:destroy', `other${round - 1}`, '--force']);
        operations.push(`apps:create ${other}`, `first push of ${other}`, 'domains:add x2', ...(round > 1 ? ['domains:remove x2', `apps:destroy other${round - 1}`] : ['domains:remove']));
      }
      wrkSeconds = Math.ceil((Date.now() - started) / 1000);
    })();
    // wrk runs beside the Node clients for as long as the work is expected to take: it never retries, and counts every reset.
    const wrk = runWrk(`http://127.0.0.1:${berth.httpPort}/`, HOST, { kind: 'get', connections: 8, threads: 1 }, 20);
    let results: [string, LoadResult][] = [];
    try {
      await work;
    } finally {
      results = await Promise.all(Object.entries(loads).map(async ([name, load]) => [name, await load.stop()] as [string, LoadResult]));
    }
    const wrkResult = await wrk;
    const wrkFailed = Object.values(wrkResult.errors).reduce((sum, count) => sum + count, 0);
    const served = results.reduce((sum, [, result]) => sum + result.ok, 0) + wrkResult.requests - wrkFailed;
    const failures = [...failuresOf(results), ...(wrkFailed ? [`wrk: ${JSON.stringify(wrkResult.errors)}`] : [])];
    await recordReliability({
      area: 'The edge, never reloaded',
      fault: `${operations.length} operations on other apps and on the live app's host names (${operations.join(', ')}) under keep-alive GET and POST load`,
      berthDid: 'each one changed the route table in the edge\'s memory through its admin socket; the nginx master and its workers stayed the same processes (no reload, so no idle keep-alive connection was closed)',
      served,
      lost: failures.length,
    });
    assert.deepEqual(failures, [], `requests failed while other apps and domains changed (wrk ran ${wrkSeconds} s of load alongside)`);
    assert.ok(served > 1000, `only ${served} requests were made`);
    assert.deepEqual(await edgePids(berth), pids, 'the same nginx master and workers: nothing was reloaded');
    assert.equal((await getThroughNginx(berth.httpPort, 'other1.localhost')).status, 404, 'a destroyed app gets no more requests');
    assert.equal((await getThroughNginx(berth.httpPort, 'shop1.steady.test')).status, 404, 'a removed domain gets no more requests');
  });

  test('berth status shows the one edge nginx', async () => {
    const status = await cli(['status']);
    assert.match(status, /nginx edge:\s+running, pid \d+/);
    assert.doesNotMatch(status, /nginx switch/);
  });
});
