// The git port's own bounds and refusals, with small limits, on loopback: what reaches the git and
// API handlers, and for how long a client may hold a connection without sending its request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createGitPortServer, type GitPortLimits } from '../../src/server/git-port.js';
import { basicAuthorization } from '../support/berth.js';

const TOKEN = 'unit-token-0123456789abcdef';
const AUTHORIZATION = basicAuthorization(`berth:${TOKEN}`);
const LIMITS: GitPortLimits = { headersMs: 300, bodyIdleMs: 300, requestMs: 600, connections: 3 };
const STREAM_MS = 1500;

let server: http.Server;
let port: number;
const handled: string[] = [];
const logged: string[] = [];

before(async () => {
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    handled.push(`${req.method} ${req.url}`);
    if (req.url === '/stream') {
      // An answer that goes on long after the request arrived, like a deploy or logs -f.
      res.write('start\n');
      await new Promise((resolve) => setTimeout(resolve, STREAM_MS));
      res.end('end\n');
      return;
    }
    let size = 0;
    for await (const chunk of req) size += (chunk as Buffer).length;
    res.end(`got ${size}\n`);
  };
  server = createGitPortServer({ token: TOKEN, handlers: { git: handler, api: handler }, fromContainer: async () => false, log: (line) => logged.push(line), limits: LIMITS });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

function request(path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A raw connection that writes `text`, then resolves with what came back and how long the server kept it open. */
function rawConnection(text: string, keepWriting?: { byte: string; everyMs: number; forMs: number }): Promise<{ answer: string; openMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    let writer: NodeJS.Timeout | undefined;
    if (keepWriting) {
      writer = setInterval(() => (Date.now() - started < keepWriting.forMs ? socket.write(keepWriting.byte) : clearInterval(writer)), keepWriting.everyMs);
    }
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(writer);
      resolve({ answer, openMs: Date.now() - started });
    });
  });
}

test('a request from a web page of another origin is refused with 403, before the token or any handler', async () => {
  handled.length = 0;
  for (const path of ['/api/apps/shop/config', '/shop.git/git-receive-pack']) {
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${port + 1}`]) {
      const answer = await request(path, { authorization: AUTHORIZATION, origin, 'content-type': 'text/plain' }, 'POST', '{"set": {"A": "1"}}');
      assert.equal(answer.status, 403, `${path} from ${origin}`);
      assert.match(answer.body, /requests from web pages of another origin .* are refused/);
    }
  }
  assert.deepEqual(handled, []);
  const sameOrigin = await request('/api/apps', { authorization: AUTHORIZATION, origin: `http://127.0.0.1:${port}` });
  assert.equal(sameOrigin.status, 200, 'a page of berth\'s own address is not refused');
});

test('headers that never finish are cut after the headers limit', { timeout: 10_000 }, async () => {
  const { answer, openMs } = await rawConnection('GET /api/apps HTTP/1.1\r\nHost: berth\r\nX-Slow: ');
  assert.ok(openMs < LIMITS.headersMs + 2000, `the connection stayed open ${openMs} ms`);
  assert.match(answer, /^HTTP\/1\.1 408/);
});

test('a request body that stops arriving is cut after the idle limit; one that keeps coming is not', { timeout: 10_000 }, async () => {
  const head = `POST /shop.git/git-receive-pack HTTP/1.1\r\nHost: berth\r\nAuthorization: ${AUTHORIZATION}\r\nContent-Length: 1000\r\n\r\n`;
  const stalled = await rawConnection(`${head}0123456789`);
  assert.ok(stalled.openMs < LIMITS.bodyIdleMs + 1500, `the connection stayed open ${stalled.openMs} ms`);
  assert.match(stalled.answer, /^HTTP\/1\.1 408[\s\S]*the request body stopped arriving/);
  const trickling = await rawConnection(`POST /shop.git/x HTTP/1.1\r\nHost: berth\r\nAuthorization: ${AUTHORIZATION}\r\nContent-Length: 5\r\nConnection: close\r\n\r\n`, { byte: 'x', everyMs: 100, forMs: 550 });
  assert.match(trickling.answer, /^HTTP\/1\.1 200[\s\S]*got 5/, 'a body that arrives in time is read whole');
});

test('an answer that streams for longer than the request limit is not cut', async () => {
  const answer = await request('/stream', { authorization: AUTHORIZATION });
  assert.equal(answer.status, 200);
  assert.equal(answer.body, 'start\nend\n');
  assert.ok(STREAM_MS > LIMITS.requestMs);
});

test('a request without the token is answered 401 and its connection closed', { timeout: 10_000 }, async () => {
  const { answer } = await rawConnection(`POST /api/apps HTTP/1.1\r\nHost: berth\r\nContent-Length: 100000\r\n\r\n{"name":`);
  assert.match(answer, /^HTTP\/1\.1 401[\s\S]*Connection: close/i);
});

test('connections over the cap are closed at once, and berth logs it', { timeout: 10_000 }, async () => {
  logged.length = 0;
  const held = await Promise.all(Array.from({ length: LIMITS.connections }, () => new Promise<net.Socket>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', () => undefined);
  })));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const extra = await rawConnection('GET /api/apps HTTP/1.1\r\nHost: berth\r\n\r\n');
  for (const socket of held) socket.destroy();
  assert.equal(extra.answer, '', 'the connection over the cap got no answer');
  assert.ok(extra.openMs < 1000);
  assert.match(logged.join('\n'), /refused a connection from 127\.0\.0\.1: 3 connections are open, the most the git port takes/);
});

/** An upgrade request (a websocket's handshake) to a git port of its own: the status berth answers with. */
function upgrade(upgradePort: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: upgradePort, path: '/api/apps/shop/run', headers: { connection: 'upgrade', upgrade: 'websocket', ...headers }, agent: false });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a websocket (berth run -i) passes the same checks as a request: no token or a foreign origin is refused before the handler', async (t) => {
  const upgraded: string[] = [];
  const refuse = async (_req: http.IncomingMessage, res: http.ServerResponse) => void res.end();
  const own = createGitPortServer({
    token: TOKEN,
    handlers: { git: refuse, api: refuse, upgrade: (req, socket) => upgraded.push(req.url ?? '') && socket.end('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n') },
    fromContainer: async () => false,
    log: () => undefined,
  });
  await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
  t.after(() => own.close());
  const ownPort = (own.address() as AddressInfo).port;
  assert.equal(await upgrade(ownPort, {}), 401);
  assert.equal(await upgrade(ownPort, { authorization: AUTHORIZATION, origin: 'https://evil.example' }), 403);
  assert.deepEqual(upgraded, []);
  assert.equal(await upgrade(ownPort, { authorization: AUTHORIZATION }), 101);
  assert.deepEqual(upgraded, ['/api/apps/shop/run']);
});
