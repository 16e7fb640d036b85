import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createGitPortServer } from '../../src/server/git-port.js';

const TOKEN = 'unit-token-0123456789';

/** The git port with handlers that answer 200, where `fromContainer` says whether the (loopback) client is a container. */
async function gitPort(t: import('node:test').TestContext, fromContainer: boolean) {
  const handled: string[] = [];
  const ok = async (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    handled.push(req.url ?? '');
    res.end('ok');
  };
  const asked: string[] = [];
  const server = createGitPortServer({ token: TOKEN, handlers: { git: ok, api: ok }, fromContainer: async (address) => (asked.push(address), fromContainer), log: () => undefined });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const get = async (urlPath: string) => {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${urlPath}`, { headers: { authorization: `Basic ${Buffer.from(`berth:${TOKEN}`).toString('base64')}` } });
    return { status: response.status, text: await response.text(), connection: response.headers.get('connection') };
  };
  return { get, handled, asked };
}

test('a request from a container is refused before its token is looked at, and its connection closed', async (t) => {
  const { get, handled, asked } = await gitPort(t, true);
  const api = await get('/api/status');
  assert.equal(api.status, 403);
  assert.match(JSON.parse(api.text).error, /requests from containers and build steps are refused \(127\.0\.0\.1 is on a Docker network\)/);
  assert.equal(api.connection, 'close');
  const git = await get('/shop.git/info/refs?service=git-receive-pack');
  assert.equal(git.status, 403);
  assert.match(git.text, /^berth: requests from containers and build steps are refused/);
  assert.deepEqual(handled, []);
  assert.deepEqual(asked, ['127.0.0.1', '127.0.0.1']);
});

test('any other request goes on to the token and the handlers', async (t) => {
  const { get, handled } = await gitPort(t, false);
  assert.equal((await get('/api/status')).status, 200);
  assert.deepEqual(handled, ['/api/status']);
});
