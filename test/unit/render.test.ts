import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProxyConfigError, renderEdgeMain } from '../../src/proxy/render.js';
import { certificateId, emptyAppRoute, emptyRouteTable, parseRouteTable, renderRouteTable, type AppRoute, type RouteTable } from '../../src/proxy/route-table.js';
import { expectedEdgeEntries, loadInEdgeLua } from '../support/edge-lua.js';
import { assertNginxAccepts, createNginxPrefix, edgeMainSpec } from '../support/nginx.js';
import { selfSignedCertificate } from '../support/tls.js';

const MAIN = await edgeMainSpec('/var/lib/berth/nginx/edge');
const CERT = selfSignedCertificate(['www.example.com', 'myapp.localhost']);

function table(change: Partial<AppRoute> = {}): RouteTable {
  const routes = emptyRouteTable();
  routes.apps.set('myapp', {
    ...emptyAppRoute(),
    release: 7,
    upstreams: [{ host: '172.18.0.5', port: 5000 }, { host: '172.18.0.6', port: 5001 }],
    hosts: ['myapp.localhost', 'www.example.com'],
    options: { redirectHttps: false, hsts: true },
    certificate: { id: certificateId(CERT.certPem, CERT.keyPem), hosts: ['www.example.com'], ...CERT },
    ...change,
  });
  routes.apps.set('unrouted', { ...emptyAppRoute(), options: { redirectHttps: true, hsts: true } });
  routes.challenges.set('tok_en-1', 'tok_en-1.thumb-print_2');
  return routes;
}

test('the edge listens for HTTP, and for HTTPS with HTTP/2, loads the Lua module and the route table, and passes the forwarding and websocket headers', () => {
  const text = renderEdgeMain(MAIN);
  assert.match(text, /^load_module \/usr\/lib\/nginx\/modules\/ndk_http_module\.so;\nload_module \/usr\/lib\/nginx\/modules\/ngx_http_lua_module\.so;$/m);
  assert.match(text, /listen 8080 default_server;/);
  assert.match(text, /listen 8443 ssl http2 default_server;/);
  assert.match(text, /require\("berth_edge"\)\.init\(\s+"\/var\/lib\/berth\/nginx\/edge\/private\/routes", 8443, "localhost"\)/);
  assert.match(text, /listen unix:\/var\/lib\/berth\/nginx\/edge\/private\/admin\.sock;/);
  assert.match(text, /keepalive_timeout 1s;/);
  assert.doesNotMatch(text, /keepalive_time /, 'no periodic recycling of upstream connections');
  for (const header of ['Host $host', 'X-Forwarded-For $proxy_add_x_forwarded_for', 'X-Forwarded-Proto $scheme', 'Upgrade $http_upgrade', 'Connection $berth_connection_upgrade']) {
    assert.ok(text.includes(`proxy_set_header ${header};`), `missing ${header}`);
  }
});

test('the main config refuses values that would break out of a directive', () => {
  for (const change of [{ prefix: '/tmp/x; error_log /etc/passwd' }, { routesFile: '/tmp/x") os.exit(1) --' }, { httpsPort: 8080 }, { httpsPort: 0 }, { drainTimeoutSeconds: 1e21 }, { domain: 'a.com"' }, { loadModules: ['include /etc/passwd;'] }, { adminSocket: `/${'a'.repeat(120)}.sock` }]) {
    assert.throws(() => renderEdgeMain({ ...MAIN, ...change }), ProxyConfigError, JSON.stringify(change));
  }
});

test('the route table reads back as it was written, certificate and ACME answers included', () => {
  const routes = table();
  const text = renderRouteTable(routes);
  assert.ok(!text.includes('PRIVATE KEY'), 'PEM is base64-encoded onto one line');
  assert.deepEqual(parseRouteTable(text), routes);
});

test('a held app (stop-first) reads back held, and berth_edge.lua stores it as hold=SECONDS', () => {
  const routes = table({ upstreams: [], holdSeconds: 30 });
  const text = renderRouteTable(routes);
  assert.match(text, /^app myapp 7 redirect-https=off hsts=on hold=30 myapp\.localhost,www\.example\.com$/m);
  assert.deepEqual(parseRouteTable(text), routes);
  assert.deepEqual(loadInEdgeLua([text]), { entries: expectedEdgeEntries(routes), refused: [] });
});

const refused: [string, (routes: RouteTable) => void][] = [
  ['a held app that also has containers', (routes) => (routes.apps.get('myapp')!.holdSeconds = 30)],
  ['a hold of 0 seconds', (routes) => Object.assign(routes.apps.get('myapp')!, { upstreams: [], holdSeconds: 0 })],
  ['an app name with a space', (routes) => routes.apps.set('my app', emptyAppRoute())],
  ['a host name that adds a field', (routes) => (routes.apps.get('myapp')!.hosts = ['a.com b.com'])],
  ['a host name with a comma', (routes) => (routes.apps.get('myapp')!.hosts = ['a.com,b.com'])],
  ['a container address that is not IPv4', (routes) => (routes.apps.get('myapp')!.upstreams = [{ host: '::1', port: 5000 }])],
  ['a port out of range', (routes) => (routes.apps.get('myapp')!.upstreams = [{ host: '10.0.0.1', port: 70000 }])],
  ['a routed app without containers', (routes) => (routes.apps.get('myapp')!.upstreams = [])],
  ['a routed app without host names', (routes) => (routes.apps.get('myapp')!.hosts = [])],
  ['release 0', (routes) => (routes.apps.get('myapp')!.release = 0)],
  ['a certificate for a host name with a newline', (routes) => (routes.apps.get('myapp')!.certificate!.hosts = ['a.com\napp x'])],
  ['an ACME token with a space', (routes) => routes.challenges.set('a b', 'a.b')],
  ['a key authorization that is not TOKEN.THUMBPRINT', (routes) => routes.challenges.set('a', 'a b')],
];
for (const [what, spoil] of refused) {
  test(`the route table refuses ${what}`, () => {
    const routes = table();
    spoil(routes);
    assert.throws(() => renderRouteTable(routes), ProxyConfigError);
  });
}

test('a route table berth did not write is refused naming the line, never its content', () => {
  const text = renderRouteTable(table());
  assert.throws(() => parseRouteTable(`${text}app evil\n`), (error: Error) => /^line \d+: not a record of the route table$/.test(error.message));
  const spoiled = text.replace(/^(certificate \S+ \S+ \S+ )(\S+)/m, '$1not*base64');
  assert.throws(() => parseRouteTable(spoiled), (error: Error) => /^line \d+: a PEM field is not base64$/.test(error.message));
});

test('nginx -t accepts the main config, with the longest host name in the route table', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-render-'));
  try {
    const prefix = path.join(dir, 'edge');
    createNginxPrefix(prefix);
    const spec = { ...MAIN, prefix, routesFile: path.join(prefix, 'private', 'routes'), adminSocket: path.join(prefix, 'private', 'admin.sock'), placeholderCert: path.join(prefix, 'private', 'placeholder.crt'), placeholderKey: path.join(prefix, 'private', 'placeholder.key') };
    const mainFile = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(mainFile, renderEdgeMain(spec));
    assertNginxAccepts(prefix, mainFile);
    const longestHostName = [...Array(3).fill('a'.repeat(63)), 'b'.repeat(61)].join('.');
    const routes = table({ hosts: ['myapp.localhost', longestHostName] });
    assert.deepEqual(loadInEdgeLua([renderRouteTable(routes)]), { entries: expectedEdgeEntries(routes), refused: [] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("berth_edge.lua holds exactly what the table says, and a second table replaces the first (what is gone is deleted)", () => {
  const first = table();
  const second = table({ release: 8, hosts: ['myapp.localhost'], upstreams: [{ host: '172.18.0.9', port: 5000 }], certificate: undefined });
  second.apps.delete('unrouted');
  second.challenges.clear();
  const loaded = loadInEdgeLua([renderRouteTable(first)]);
  assert.deepEqual(loaded, { entries: expectedEdgeEntries(first), refused: [] });
  assert.equal(loaded.entries['sni:www.example.com'], first.apps.get('myapp')!.certificate!.id, 'the certificate is served for the app\'s own host name');
  assert.equal(loaded.entries['sni:myapp.localhost'], undefined, 'a host name the certificate does not name gets none');
  assert.deepEqual(loadInEdgeLua([renderRouteTable(first), renderRouteTable(second)]), { entries: expectedEdgeEntries(second), refused: [] });
});

test('berth_edge.lua refuses a table with a line it does not know, naming the line only, and changes nothing', () => {
  const text = renderRouteTable(table());
  const loaded = loadInEdgeLua([text, `${text.replace('app myapp 7', 'app myapp 8')}route evil.example.com 10.0.0.1:80\n`]);
  assert.deepEqual(loaded.refused, [`line ${text.split('\n').length}: unknown record`]);
  assert.deepEqual(loaded.entries, expectedEdgeEntries(table()), 'release 7 is still routed');
});
