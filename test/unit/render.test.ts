import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { streamModuleDirective } from '../../src/proxy/modules.js';
import { ProxyConfigError, renderEdgeApp, renderEdgeMain, renderSwitchApp, renderSwitchMain, type EdgeAppSpec, type SwitchAppSpec } from '../../src/proxy/render.js';
import { assertNginxAccepts, createNginxPrefix } from '../support/nginx.js';

const edge: EdgeAppSpec = {
  app: 'myapp',
  httpPort: 8080,
  serverNames: ['myapp.localhost', 'www.example.com'],
  socket: '/var/lib/berth/nginx/sockets/myapp.sock',
  connectionLifetimeMs: 300,
};

const switchSpec: SwitchAppSpec = {
  app: 'myapp',
  release: 7,
  socket: '/var/lib/berth/nginx/sockets/myapp.sock',
  upstreams: [{ host: '172.18.0.5', port: 5000 }],
};

test('the edge sends the app host names to its socket with the forwarding and websocket headers', () => {
  const text = renderEdgeApp(edge);
  assert.match(text, /upstream berth-myapp \{\s+server unix:\/var\/lib\/berth\/nginx\/sockets\/myapp\.sock;/);
  assert.match(text, /keepalive_time 300ms;/);
  assert.match(text, /server_name myapp\.localhost www\.example\.com;/);
  assert.match(text, /listen 8080;/);
  assert.match(text, /proxy_pass http:\/\/berth-myapp;/);
  for (const header of ['Host $host', 'X-Forwarded-For $proxy_add_x_forwarded_for', 'X-Forwarded-Proto $scheme', 'Upgrade $http_upgrade', 'Connection $berth_connection_upgrade']) {
    assert.ok(text.includes(`proxy_set_header ${header};`), `missing ${header}`);
  }
});

test('the switch tier forwards the app socket to every live container of the release', () => {
  const text = renderSwitchApp({ ...switchSpec, upstreams: [{ host: '10.0.0.1', port: 5000 }, { host: '10.0.0.2', port: 5001 }] });
  assert.match(text, /release 7/);
  assert.match(text, /server 10\.0\.0\.1:5000 max_fails=0;\s+server 10\.0\.0\.2:5001 max_fails=0;/);
  assert.match(text, /listen unix:\/var\/lib\/berth\/nginx\/sockets\/myapp\.sock;/);
  assert.match(text, /proxy_pass berth-myapp;/);
});

const refusedEdge: [string, Partial<EdgeAppSpec>][] = [
  ['an app name with a semicolon', { app: 'my;app' }],
  ['an upper-case app name', { app: 'MyApp' }],
  ['a host name that injects a directive', { serverNames: ['a.com; return 200 x'] }],
  ['a host name with a brace', { serverNames: ['a.com}'] }],
  ['no host names', { serverNames: [] }],
  ['a socket path with a space', { socket: '/tmp/my dir/a.sock' }],
  ['a socket path longer than a unix socket allows', { socket: `/${'a'.repeat(120)}.sock` }],
  ['a socket path that names a folder', { socket: '/var/lib/berth/nginx/sockets/' }],
  ['a connection lifetime that prints in exponent notation', { connectionLifetimeMs: 1e21 }],
];
for (const [what, change] of refusedEdge) {
  test(`the edge refuses ${what}`, () => assert.throws(() => renderEdgeApp({ ...edge, ...change }), ProxyConfigError));
}

const refusedSwitch: [string, Partial<SwitchAppSpec>][] = [
  ['a container address that is not IPv4', { upstreams: [{ host: 'evil;', port: 5000 }] }],
  ['a port out of range', { upstreams: [{ host: '10.0.0.1', port: 70000 }] }],
  ['no upstreams', { upstreams: [] }],
  ['a release that is not a number', { release: 0 }],
  ['a relative socket path', { socket: 'sockets/a.sock' }],
];
for (const [what, change] of refusedSwitch) {
  test(`the switch tier refuses ${what}`, () => assert.throws(() => renderSwitchApp({ ...switchSpec, ...change }), ProxyConfigError));
}

test('the main configs refuse a prefix that would break out of the directive', () => {
  const main = { prefix: '/var/lib/berth/nginx/edge', httpPort: 80, domain: 'localhost', drainTimeoutSeconds: 30, includes: [] };
  assert.doesNotThrow(() => renderEdgeMain(main));
  assert.throws(() => renderEdgeMain({ ...main, prefix: '/tmp/x; error_log /etc/passwd' }), ProxyConfigError);
  assert.throws(() => renderEdgeMain({ ...main, includes: ['relative/path.conf'] }), ProxyConfigError);
  assert.throws(() => renderEdgeMain({ ...main, drainTimeoutSeconds: 1e21 }), ProxyConfigError);
  assert.throws(() => renderSwitchMain({ prefix: '/tmp/x', drainTimeoutSeconds: 30, loadStreamModule: 'include /etc/passwd;', includes: [] }), ProxyConfigError);
});

test('nginx -t accepts the rendered edge and switch configs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-render-'));
  try {
    for (const tier of ['edge', 'switch']) createNginxPrefix(path.join(dir, tier));
    const socket = path.join(dir, 'myapp.sock');
    const edgeApp = path.join(dir, 'edge', 'myapp.conf');
    const longestHostName = [...Array(3).fill('a'.repeat(63)), 'b'.repeat(61)].join('.');
    fs.writeFileSync(edgeApp, renderEdgeApp({ ...edge, socket, serverNames: [...edge.serverNames, longestHostName] }));
    fs.writeFileSync(path.join(dir, 'edge', 'nginx.conf'), renderEdgeMain({ prefix: path.join(dir, 'edge'), httpPort: 8080, domain: 'localhost', drainTimeoutSeconds: 30, includes: [edgeApp] }));
    assertNginxAccepts(path.join(dir, 'edge'), path.join(dir, 'edge', 'nginx.conf'));
    const switchApp = path.join(dir, 'switch', 'myapp.conf');
    fs.writeFileSync(switchApp, renderSwitchApp({ ...switchSpec, socket }));
    const loadStreamModule = await streamModuleDirective('nginx');
    fs.writeFileSync(path.join(dir, 'switch', 'nginx.conf'), renderSwitchMain({ prefix: path.join(dir, 'switch'), drainTimeoutSeconds: 30, loadStreamModule, includes: [switchApp] }));
    assertNginxAccepts(path.join(dir, 'switch'), path.join(dir, 'switch', 'nginx.conf'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
