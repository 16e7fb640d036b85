import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createApiHandler } from '../../src/api/router.js';
import { AppService, type AppServiceDeps } from '../../src/apps/service.js';
import { AppLocks } from '../../src/deploy/lock.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { DEFAULTS } from '../../src/server/options.js';
import { Store } from '../../src/store/store.js';

// The store and the lock are real, and the engine has no containers: every request here is
// answered or refused before the service would reach nginx or the pipeline, left out on purpose.
let dataDir: string;
let store: Store;
let server: http.Server;

/** A request as the CLI sends it: a change as JSON, unless `contentType` says otherwise (null: none). */
async function call(method: string, urlPath: string, body?: string, contentType: string | null = 'application/json'): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const headers: Record<string, string> = method !== 'GET' && contentType !== null ? { 'content-type': contentType } : {};
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${urlPath}`, { method, body, headers });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
}

before(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-router-'));
  store = new Store(dataDir);
  await store.createApp('shop');
  const runtime = { appContainers: async () => [] } as Partial<Runtime> as Runtime;
  const deps = { options: { ...DEFAULTS, dataDir }, runtime, store, locks: new AppLocks() } as Partial<AppServiceDeps> as AppServiceDeps;
  const handle = createApiHandler(new AppService(deps), Date.now());
  server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  server.closeAllConnections();
  server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

test('GET endpoints answer from the table with the response the endpoint names', async () => {
  const info = await call('GET', '/api/apps/shop');
  assert.equal(info.status, 200);
  assert.equal((info.json.app as { name: string }).name, 'shop');
  assert.deepEqual((await call('GET', '/api/apps/shop/domains')).json, { default: 'shop.localhost', domains: [] });
  assert.deepEqual((await call('GET', '/api/apps/shop/config')).json, { config: {} });
});

test('an unknown path is a 404 naming it; a known one with another method a 405 with Allow', async () => {
  const unknown = await call('GET', '/api/apps/shop/nope');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error, 'no API endpoint /api/apps/shop/nope');
  const wrongMethod = await call('PUT', '/api/apps/shop/config', '{}');
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'GET, POST');
  assert.equal(wrongMethod.json.error, 'PUT is not allowed on /api/apps/shop/config');
  assert.equal((await call('GET', '/api/apps/%E0%A4%A/config')).status, 400);
});

test('a streamed operation on an unknown app is a 404 with the JSON error, not a stream', async () => {
  for (const [method, urlPath, body] of [
    ['POST', '/api/apps/nope/config', '{"set": {"A": "1"}}'],
    ['POST', '/api/apps/nope/ps/restart', undefined],
    ['POST', '/api/apps/nope/rollback', '{}'],
    ['POST', '/api/apps/nope/checks/run', undefined],
    ['GET', '/api/apps/nope/logs?lines=5', undefined],
  ] as const) {
    const answer = await call(method, urlPath, body);
    assert.equal(answer.status, 404, urlPath);
    assert.equal(answer.headers.get('content-type'), 'application/json');
    assert.deepEqual(answer.json, { error: 'no app named nope', hint: 'see berth apps:list, or create it with berth apps:create' });
  }
});

test('bad input to a streamed operation is a 400 from the one validation, and nothing is stored', async () => {
  const refused: Array<[string, string]> = [
    ['/api/apps/shop/config', '{"set": {"1BAD": "x"}}'],
    ['/api/apps/shop/config', '{"set": {"A": "a\\u0000b"}}'],
    ['/api/apps/shop/config', '{}'],
    ['/api/apps/shop/config', '{"set": {"N": 5}}'],
    ['/api/apps/shop/config', 'not json'],
    ['/api/apps/shop/scale', '{"formation": {"web": 0}}'],
    ['/api/apps/shop/scale', '{"formation": {"we;b": 1}}'],
    ['/api/apps/shop/rollback', '{"release": "3"}'],
  ];
  for (const [urlPath, body] of refused) {
    const answer = await call('POST', urlPath, body);
    assert.equal(answer.status, 400, `${urlPath} ${body}: ${JSON.stringify(answer.json)}`);
    assert.equal(typeof answer.json.error, 'string');
  }
  assert.equal((await call('GET', '/api/apps/shop/logs?lines=lots')).status, 400);
  const app = await store.getApp('shop');
  assert.deepEqual([app?.config, app?.formation], [{}, { web: 1 }]);
});

test('an operation that needs a deployed app is a 409 before it starts', async () => {
  for (const urlPath of ['/api/apps/shop/ps/restart', '/api/apps/shop/ps/stop', '/api/apps/shop/rollback']) {
    const answer = await call('POST', urlPath, '{}');
    assert.equal(answer.status, 409, urlPath);
    assert.match(String(answer.json.error), /shop has not been deployed yet/);
    assert.match(String(answer.json.hint), /git push/);
  }
  assert.deepEqual(await store.listReleases('shop'), []);
});

test('a request that changes something is taken as JSON only: a form, text or no type is a 415, and nothing is stored', async () => {
  const changes: Array<[string, string, string | undefined]> = [
    ['POST', '/api/apps/shop/config', '{"set": {"PWNED": "1"}}'],
    ['POST', '/api/apps/shop/domains', '{"domain": "evil.example.com"}'],
    ['POST', '/api/apps/shop/checks/disable', undefined],
    ['POST', '/api/apps', '{"name": "pwned"}'],
    ['DELETE', '/api/apps/shop', '{"confirm": "shop"}'],
  ];
  for (const [method, urlPath, body] of changes) {
    for (const contentType of [null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      const answer = await call(method, urlPath, body, contentType);
      assert.equal(answer.status, 415, `${method} ${urlPath} as ${contentType}`);
      assert.match(String(answer.json.error), new RegExp(`^${method} ${urlPath} needs Content-Type: application/json`));
      assert.match(String(answer.json.hint), /as the berth CLI does/);
    }
  }
  const app = await store.getApp('shop');
  assert.deepEqual([app?.config, app?.domains, app?.checks], [{}, [], 'enabled']);
  assert.deepEqual(await store.listApps(), ['shop']);
  assert.equal((await call('POST', '/api/apps/shop/checks/disable', undefined, 'application/json; charset=utf-8')).status, 200, 'a charset is fine');
  assert.equal((await call('POST', '/api/apps/shop/checks/enable', undefined)).status, 200);
});

test('certs:add, certs:auto and proxy:set bodies of the wrong shape are a 400 that shows the shape, and nothing is stored', async () => {
  const refused: Array<[string, string, RegExp]> = [
    ['/api/apps/shop/certs', '{}', /give the certificate chain and its key as PEM text/],
    ['/api/apps/shop/certs', '{"cert": "x", "key": 5}', /give the certificate chain and its key as PEM text/],
    ['/api/apps/shop/certs/auto', '{"on": "yes"}', /on must be true or false/],
    ['/api/apps/shop/proxy', '{}', /give the settings as booleans/],
    ['/api/apps/shop/proxy', '{"hsts": "on"}', /give the settings as booleans/],
    ['/api/apps/shop/proxy', '{"redirectHttps": false, "gzip": true}', /give the settings as booleans/],
  ];
  for (const [urlPath, body, error] of refused) {
    const answer = await call('POST', urlPath, body);
    assert.equal(answer.status, 400, `${urlPath} ${body}: ${JSON.stringify(answer.json)}`);
    assert.match(String(answer.json.error), error);
  }
  assert.deepEqual((await store.getApp('shop'))?.proxy, { redirectHttps: true, hsts: false });
  assert.equal((await call('GET', '/api/apps/nope/certs')).status, 404);
});
