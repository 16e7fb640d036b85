import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { request } from 'undici';
import { AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { startLoad, type LoadResult } from '../support/load.js';
import { openWebsocket } from '../support/websocket.js';

const docker = new Docker();
const APP = 'steady';
const HOST = `${APP}.localhost`;
const SWITCHED = /now sends every new request to release (\d+)/;

async function liveReleases(instance: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`berth.instance=${instance}`, `berth.app=${APP}`] } });
  return list.map((c) => c.Labels['berth.release']).sort();
}

/** Pushes a new version and notes when berth said the switch was complete. */
async function deploy(berth: BerthInstance, repo: AppRepo, version: string, onLine?: (output: string) => void): Promise<{ switchedAt: number; output: string }> {
  await repo.commit({ 'version.txt': `${version}\n` }, version);
  let switchedAt = 0;
  const push = await repo.push(berth.remote(APP), 'main', (output) => {
    if (!switchedAt && SWITCHED.test(output)) switchedAt = Date.now();
    onLine?.(output);
  });
  assert.equal(push.code, 0, push.output);
  assert.ok(switchedAt > 0, push.output);
  return { switchedAt, output: push.output };
}

function assertNoFailures(name: string, result: LoadResult): void {
  assert.deepEqual(result.failures, [], `${name}: ${result.failures.length} failed requests (${[...new Set(result.failures.map((f) => f.kind))].join(', ')})`);
}

describe('zero-downtime: deploys under load lose nothing', () => {
  let berth: BerthInstance;
  let repo: AppRepo;

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
    repo = await AppRepo.create();
    const first = await repo.push(berth.remote(APP));
    assert.equal(first.code, 0, first.output);
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  test('GET and POST on keep-alive connections and new connections per request see no failure through 3 deploys', async () => {
    const loads = {
      'GET keep-alive': startLoad({ port: berth.httpPort, host: HOST, connections: 6, method: 'GET', keepAlive: true }),
      'POST keep-alive': startLoad({ port: berth.httpPort, host: HOST, connections: 4, method: 'POST', keepAlive: true, bodyBytes: 4096 }),
      'GET new connection': startLoad({ port: berth.httpPort, host: HOST, connections: 2, method: 'GET', keepAlive: false }),
    };
    const switches: { version: string; at: number }[] = [];
    let results: (readonly [string, LoadResult])[] = [];
    try {
      for (const version of ['v2', 'v3', 'v4']) {
        const { switchedAt } = await deploy(berth, repo, version);
        switches.push({ version, at: switchedAt });
      }
    } finally {
      results = await Promise.all(Object.entries(loads).map(async ([name, load]) => [name, await load.stop()] as const));
    }
    let total = 0;
    for (const [name, result] of results) {
      assertNoFailures(name, result);
      total += result.ok;
      // A request sent after berth reported a switch must be answered by that release or a later one.
      for (const sample of result.samples) {
        const current = switches.filter((s) => s.at < sample.startedAt).pop();
        if (current) assert.ok(sample.release! >= current.version, `${name}: a request sent after the switch to ${current.version} was answered by ${sample.release}`);
      }
    }
    assert.ok(total >= 300, `only ${total} requests were made`);
    assert.deepEqual(await liveReleases(berth.instance), ['4']);
  });

  test('a request in flight at the switch completes; a websocket stays open until the old release is retired', async () => {
    const socket = await openWebsocket(berth.httpPort, HOST);
    assert.equal(socket.greeting, 'v4');
    let slow: Promise<{ status: number; body: string }> | undefined;
    const pushStarted = Date.now();
    const { switchedAt, output } = await deploy(berth, repo, 'v5', (text) => {
      if (!slow && text.includes('-----> Checking')) {
        slow = request(`http://127.0.0.1:${berth.httpPort}/slow?ms=5000`, { headers: { host: HOST } }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
      }
    });
    const pushEnded = Date.now();
    assert.ok(slow, output);
    const long = await slow;
    assert.equal(long.status, 200);
    assert.equal(long.body, 'slow v4');
    const closed = await socket.closed;
    assert.ok(closed.clean, `the websocket ended with ${closed.error}`);
    assert.ok(closed.at > switchedAt, 'the websocket was closed before the switch');
    assert.ok(closed.at <= pushEnded, 'the websocket outlived the retirement of its release');
    assert.ok(pushEnded - pushStarted >= 5000, 'retirement did not wait for the long request');
    assert.match(output, /Retiring steady release 4/);
    assert.deepEqual(await liveReleases(berth.instance), ['5']);
    assert.match((await (await request(`http://127.0.0.1:${berth.httpPort}/`, { headers: { host: HOST } })).body.text()), /Hello from v5/);
  });
});
