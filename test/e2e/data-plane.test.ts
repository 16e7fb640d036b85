import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { childPids, hasExited } from '../../src/host/processes.js';
import { DataPlane } from '../../src/proxy/data-plane.js';
import { getThroughNginx } from '../support/http.js';
import { startLoad, type LoadResult } from '../support/load.js';
import { freePort } from '../support/ports.js';
import { recordReliability } from '../support/reliability.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tls.js';

const run = promisify(execFile);
const APP = 'tier';
const HOST = `${APP}.localhost`;
const WWW = 'www.tier.test';

function listen(server: net.Server, port: number, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

/** Listens once the port is free: a process killed with SIGKILL lets go of its sockets only when it has exited. */
async function listenWhenFree(server: net.Server, port: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await listen(server, port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

interface Upstream {
  port: number;
  close(): void;
}

/** An upstream that answers every request (after reading its body) with its name and the X-Forwarded-Proto it was given; /slow?ms=N waits first. */
async function upstream(name: string): Promise<Upstream> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const wait = Number(/[?&]ms=(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
      setTimeout(() => res.end(`${name} proto=${req.headers['x-forwarded-proto']}`), wait);
    });
  });
  await listen(server, 0, '127.0.0.1');
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** The TLS handshake for `servername`: the certificate the edge served, or the error that ended the handshake. */
function handshake(port: number, servername: string): Promise<{ fingerprint: string; alpn: string | false } | { error: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve({ fingerprint: socket.getPeerX509Certificate()!.fingerprint256, alpn: socket.alpnProtocol ?? false });
      socket.end();
    });
    socket.on('error', (error) => resolve({ error: error.message }));
  });
}

const fingerprintOf = (certificate: TestCertificate) => new X509Certificate(certificate.certPem).fingerprint256;

async function edgePids(dir: string): Promise<number[]> {
  const master = Number((await fs.readFile(path.join(dir, 'nginx', 'edge', 'run', 'nginx.pid'), 'utf8')).trim());
  return [master, ...(await childPids(master))].sort();
}

function assertNoFailures(name: string, result: LoadResult): void {
  assert.deepEqual(result.failures, [], `${name}: ${result.failures.length} failed requests (${[...new Set(result.failures.map((f) => f.kind))].join(', ')})`);
}

describe('the edge with real nginx: routes, certificates and ACME answers change in memory, never by a reload', () => {
  let dir: string;
  let httpPort: number;
  let httpsPort: number;
  let proxy: DataPlane;
  let one: Upstream;
  let two: Upstream;
  const certificate = selfSignedCertificate([HOST, WWW]);
  const renewed = selfSignedCertificate([HOST, WWW]);
  const switchTo = (release: number, target: Upstream, serverNames = [HOST]) => proxy.switchApp({ app: APP, release, serverNames, upstreams: [{ host: '127.0.0.1', port: target.port }] });

  before(async () => {
    // The berth-test- prefix lets the test runner stop this nginx should the test not get to.
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-plane-'));
    await fs.chmod(dir, 0o711);
    [httpPort, httpsPort] = [await freePort(), await freePort()];
    proxy = await DataPlane.create({ bin: 'nginx', dir: path.join(dir, 'nginx'), httpPort, httpsPort, domain: 'localhost', drainTimeoutSeconds: 5 });
    await proxy.ensureRunning();
    [one, two] = [await upstream('one'), await upstream('two')];
    await switchTo(1, one);
  });

  after(async () => {
    try {
      process.kill(Number((await fs.readFile(path.join(dir, 'nginx', 'edge', 'run', 'nginx.pid'), 'utf8')).trim()), 'SIGQUIT');
    } catch {
      // not running
    }
    one?.close();
    two?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('under keep-alive GET and POST load over HTTP and HTTPS, switches, other apps, host names, certificates and ACME answers change without a failed request or a reload', async () => {
    await proxy.setCertificate(APP, { hosts: [HOST], ...certificate });
    await proxy.setAppOptions(APP, { redirectHttps: false, hsts: false });
    const pids = await edgePids(dir);
    const loads = {
      'GET keep-alive': startLoad({ port: httpPort, host: HOST, connections: 4, method: 'GET', keepAlive: true }),
      'POST keep-alive': startLoad({ port: httpPort, host: HOST, connections: 2, method: 'POST', keepAlive: true, bodyBytes: 4096 }),
      'HTTPS GET keep-alive': startLoad({ port: httpsPort, host: HOST, connections: 2, method: 'GET', keepAlive: true, tls: { ca: certificate.certPem + renewed.certPem } }),
    };
    let changes = 0;
    try {
      for (let round = 0; round < 10; round++) {
        await switchTo(round + 2, round % 2 ? one : two);
        await proxy.switchApp({ app: `other${round}`, release: 1, serverNames: [`other${round}.localhost`], upstreams: [{ host: '127.0.0.1', port: one.port }] });
        await proxy.updateHostNames(`other${round}`, [`other${round}.localhost`, `www.other${round}.test`]);
        await proxy.setCertificate(APP, { hosts: [HOST], ...(round % 2 ? certificate : renewed) });
        await proxy.setChallenge(`token${round}`, `token${round}.thumbprint`);
        if (round > 0) await proxy.removeApp(`other${round - 1}`);
        changes += 6;
        assert.equal((await getThroughNginx(httpPort, `www.other${round}.test`)).body, 'one proto=http');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      const results = await Promise.all(Object.entries(loads).map(async ([name, load]) => [name, await load.stop()] as const));
      const served = results.reduce((sum, [, result]) => sum + result.ok, 0);
      const lost = results.reduce((sum, [, result]) => sum + result.failures.length, 0);
      await recordReliability({ area: 'The edge, never reloaded', fault: `${changes} route changes in 10 rounds (a switch, a new app, its host names, a renewed certificate, an ACME answer, a removed app) under keep-alive GET and POST load over HTTP and HTTPS`, berthDid: 'wrote each change to the edge\'s route table in memory through its admin socket; the nginx master and workers stayed the same processes (no reload)', served, lost });
      for (const [name, result] of results) assertNoFailures(name, result);
      assert.ok(served > 300, `only ${served} requests were made`);
    }
    assert.deepEqual(await edgePids(dir), pids, 'the same nginx master and workers: nothing was reloaded');
    assert.equal((await getThroughNginx(httpPort, 'other8.localhost')).status, 404, 'a removed app gets no more requests');
  });

  test('HTTPS: the certificate of the SNI name from memory, HTTP/2, X-Forwarded-Proto https; a replaced certificate is served from the next handshake; an unknown name fails the handshake', async () => {
    await switchTo(20, one, [HOST, WWW]);
    await proxy.setCertificate(APP, { hosts: [HOST, WWW], ...certificate });
    assert.deepEqual(await handshake(httpsPort, WWW), { fingerprint: fingerprintOf(certificate), alpn: 'h2' });
    await proxy.setCertificate(APP, { hosts: [HOST, WWW], ...renewed });
    assert.deepEqual(await handshake(httpsPort, HOST.toUpperCase()), { fingerprint: fingerprintOf(renewed), alpn: 'h2' });
    const caFile = path.join(dir, 'ca.pem');
    await fs.writeFile(caFile, renewed.certPem);
    const { stdout } = await run('curl', ['-sS', '--http2', '--cacert', caFile, '--resolve', `${WWW}:${httpsPort}:127.0.0.1`, '-w', ' HTTP/%{http_version}', `https://${WWW}:${httpsPort}/`]);
    assert.equal(stdout, 'one proto=https HTTP/2', 'curl verified the certificate and spoke HTTP/2');
    for (const unknown of ['unknown.localhost', 'other3.localhost']) assert.ok('error' in (await handshake(httpsPort, unknown)), `${unknown} got a certificate`);
    await proxy.updateHostNames(APP, [HOST]);
    assert.ok('error' in (await handshake(httpsPort, WWW)), 'a host name the app no longer has gets no certificate');
    await proxy.setCertificate(APP, undefined);
    assert.ok('error' in (await handshake(httpsPort, HOST)), 'a removed certificate is no longer served');
  });

  test('a held app (stop-first): HTTP/1.1 and HTTP/2 requests, a POST among them, wait at the edge until the next switch and reach the new upstream; held past its time, a 503 with Retry-After', async () => {
    await switchTo(30, one, [HOST, WWW]);
    await proxy.setCertificate(APP, { hosts: [HOST, WWW], ...certificate });
    await proxy.setAppOptions(APP, { redirectHttps: false, hsts: false });
    const caFile = path.join(dir, 'held-ca.pem');
    await fs.writeFile(caFile, certificate.certPem);
    await proxy.holdApp(APP, 10);
    const heldAt = Date.now();
    const plain = getThroughNginx(httpPort, HOST);
    const post = run('curl', ['-sS', '-X', 'POST', '--data-binary', 'x'.repeat(2000), '-H', `Host: ${HOST}`, `http://127.0.0.1:${httpPort}/`]);
    const h2 = run('curl', ['-sS', '--http2', '--cacert', caFile, '--resolve', `${WWW}:${httpsPort}:127.0.0.1`, '-w', ' HTTP/%{http_version}', `https://${WWW}:${httpsPort}/`]);
    await new Promise((r) => setTimeout(r, 800));
    await switchTo(31, two, [HOST, WWW]);
    assert.deepEqual([(await plain).body, (await post).stdout, (await h2).stdout], ['two proto=http', 'two proto=http', 'two proto=https HTTP/2']);
    assert.ok(Date.now() - heldAt >= 800, 'the requests waited for the switch');
    await proxy.holdApp(APP, 1);
    const late = await getThroughNginx(httpPort, HOST);
    assert.equal(late.status, 503);
    assert.equal(late.headers['retry-after'], '5');
    assert.match(late.body, /^tier is being deployed \(stop-first\) and its new release was not serving within 1 s/);
    await switchTo(32, one, [HOST, WWW]);
    assert.equal((await getThroughNginx(httpPort, HOST)).body, 'one proto=http');
  });

  test('plain HTTP answers 308 to HTTPS once the host name has a certificate, except ACME challenges; redirect-https off keeps both; HSTS only when asked', async () => {
    await switchTo(21, one, [HOST, WWW]);
    assert.equal((await getThroughNginx(httpPort, HOST, '/a?b=c')).status, 200, 'no certificate, no redirect');
    await proxy.setCertificate(APP, { hosts: [HOST], ...certificate });
    await proxy.setAppOptions(APP, { redirectHttps: true, hsts: false });
    const redirected = await getThroughNginx(httpPort, HOST, '/a?b=c');
    assert.equal(redirected.status, 308);
    assert.equal(redirected.headers.location, `https://${HOST}:${httpsPort}/a?b=c`);
    assert.equal((await getThroughNginx(httpPort, WWW)).status, 200, 'a host name without a certificate is not redirected');
    await proxy.setChallenge('abc_DEF-123', 'abc_DEF-123.thumb');
    const challenge = await getThroughNginx(httpPort, HOST, '/.well-known/acme-challenge/abc_DEF-123');
    assert.deepEqual([challenge.status, challenge.body], [200, 'abc_DEF-123.thumb'], 'an ACME challenge is answered before any redirect');
    assert.equal((await getThroughNginx(httpPort, 'any.host.example', '/.well-known/acme-challenge/abc_DEF-123')).body, 'abc_DEF-123.thumb', 'on every host name');
    await proxy.setChallenge('abc_DEF-123', undefined);
    const unasked = await getThroughNginx(httpPort, HOST, '/.well-known/acme-challenge/abc_DEF-123');
    assert.deepEqual([unasked.status, unasked.body], [200, 'one proto=http'], 'a challenge berth did not ask for goes to the app, unredirected, so an app can answer its own');
    const caFile = path.join(dir, 'ca.pem');
    await fs.writeFile(caFile, certificate.certPem);
    const httpsHeaders = async () => (await run('curl', ['-sS', '-D', '-', '-o', '/dev/null', '--cacert', caFile, '--resolve', `${HOST}:${httpsPort}:127.0.0.1`, `https://${HOST}:${httpsPort}/`])).stdout;
    assert.doesNotMatch(await httpsHeaders(), /strict-transport-security/i);
    await proxy.setAppOptions(APP, { redirectHttps: false, hsts: true });
    assert.equal((await getThroughNginx(httpPort, HOST)).status, 200, 'redirect-https off serves plain HTTP');
    assert.doesNotMatch(JSON.stringify((await getThroughNginx(httpPort, HOST)).headers), /strict-transport-security/i, 'no HSTS over plain HTTP');
    assert.match(await httpsHeaders(), /^strict-transport-security: max-age=31536000\r$/im);
  });

  test('an nginx started while berth is away (after a reboot) serves the routes berth last wrote, certificate included', async () => {
    await switchTo(30, two, [HOST]);
    await proxy.setCertificate(APP, { hosts: [HOST], ...certificate });
    await proxy.setAppOptions(APP, { redirectHttps: false, hsts: false });
    const [master] = await edgePids(dir);
    process.kill(-master, 'SIGKILL');
    const prefix = path.join(dir, 'nginx', 'edge');
    await fs.rm(path.join(prefix, 'private', 'admin.sock'), { force: true });
    const started = spawn('nginx', ['-p', prefix, '-e', path.join(prefix, 'logs', 'error.log'), '-c', path.join(prefix, 'nginx.conf')], { stdio: 'ignore' });
    await new Promise((resolve) => started.once('exit', resolve));
    const deadline = Date.now() + 5000;
    while ((await getThroughNginx(httpPort, HOST).catch(() => undefined))?.status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await getThroughNginx(httpPort, HOST)).body, 'two proto=http');
    assert.deepEqual(await handshake(httpsPort, HOST), { fingerprint: fingerprintOf(certificate), alpn: 'h2' });
    assert.equal(await proxy.isRunning(), true);
  });

  test("keys are in no file nginx's workers can read, and no log; only berth's user reaches the admin socket", async () => {
    const priv = path.join(dir, 'nginx', 'edge', 'private');
    assert.equal((await fs.stat(priv)).mode & 0o777, 0o700);
    for (const file of ['routes', 'placeholder.key', 'placeholder.crt']) assert.equal((await fs.stat(path.join(priv, file))).mode & 0o777, 0o600, file);
    const [master, ...workers] = await edgePids(dir);
    const uidOf = async (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
    if ((await uidOf(master)) === 0) for (const worker of workers) assert.notEqual(await uidOf(worker), 0, 'the workers do not run as root');
    const keyBody = certificate.keyPem.split('\n')[1];
    const logs = await fs.readFile(path.join(dir, 'nginx', 'edge', 'logs', 'error.log'), 'utf8');
    assert.ok(!logs.includes(keyBody) && !logs.includes(Buffer.from(certificate.keyPem).toString('base64').slice(0, 40)), 'no key in the error log');
    if (process.getuid?.() === 0) {
      const nobody = await new Promise<number>((resolve) => spawn('curl', ['-s', '--unix-socket', path.join(priv, 'admin.sock'), '-X', 'PUT', '--data-binary', '', 'http://edge/routes'], { uid: 65534, gid: 65534, stdio: 'ignore' }).once('exit', (code) => resolve(code ?? -1)));
      assert.equal(nobody, 7, 'another user cannot connect to the admin socket (curl: could not connect)');
    }
  });

  test('a certificate whose key does not belong to it, or that is no PEM, is refused naming the app and never the key, and nothing changes', async () => {
    await switchTo(35, one, [HOST]);
    await proxy.setCertificate(APP, { hosts: [HOST], ...certificate });
    const routes = path.join(dir, 'nginx', 'edge', 'private', 'routes');
    const before = await fs.readFile(routes, 'utf8');
    const refusals: [TestCertificate, RegExp][] = [
      [{ certPem: certificate.certPem, keyPem: renewed.keyPem }, /^the key given for tier does not belong to its certificate$/],
      [{ certPem: certificate.certPem, keyPem: 'not a key' }, /^the key for tier's certificate is not a PEM private key$/],
      [{ certPem: 'not a certificate', keyPem: certificate.keyPem }, /^the certificate for tier is not a PEM certificate/],
    ];
    for (const [given, message] of refusals) {
      await assert.rejects(proxy.setCertificate(APP, { hosts: [HOST], ...given }), (error: Error) => message.test(error.message) && !error.message.includes(certificate.keyPem.split('\n')[1]));
    }
    assert.equal(await fs.readFile(routes, 'utf8'), before);
    assert.deepEqual(await handshake(httpsPort, HOST), { fingerprint: fingerprintOf(certificate), alpn: 'h2' });
  });

  test('drain: waits while a request to the old container is open, then until the edge holds no idle connection to it (within about a second)', async () => {
    await switchTo(40, one);
    await proxy.setCertificate(APP, undefined);
    const load = startLoad({ port: httpPort, host: HOST, connections: 4, method: 'GET', keepAlive: true });
    await new Promise((r) => setTimeout(r, 300));
    const slow = getThroughNginx(httpPort, HOST, '/slow?ms=1500');
    await new Promise((r) => setTimeout(r, 100));
    await switchTo(41, two);
    let loaded: LoadResult | undefined;
    const drained = await proxy.drain({ upstreams: [{ host: '127.0.0.1', port: one.port }] }, 5000).finally(async () => {
      loaded = await load.stop();
    });
    assert.equal((await slow).body, 'one proto=http');
    assertNoFailures('GET keep-alive', loaded!);
    assert.equal(drained.connectionsLeft, 0);
    assert.ok(drained.waitedMs >= 1200 && drained.waitedMs < 3500, `drained in ${drained.waitedMs} ms`);
    const open = net.connect(one.port, '127.0.0.1');
    await new Promise((resolve) => open.once('connect', resolve));
    const bounded = await proxy.drain({ upstreams: [{ host: '127.0.0.1', port: one.port }] }, 300);
    open.destroy();
    assert.equal(bounded.connectionsLeft, 1, 'a connection that stays open is reported when the drain time is up');
  });

  test('a change nginx cannot take (the edge dead and its port taken) throws and leaves the app routed as before, in the file too', async () => {
    await switchTo(50, one);
    const [master] = await edgePids(dir);
    process.kill(-master, 'SIGKILL');
    const squatter = net.createServer();
    await listenWhenFree(squatter, httpPort);
    try {
      await assert.rejects(switchTo(51, two), /the edge nginx failed to start/);
      assert.equal(await proxy.routedRelease(APP), 50);
      assert.match(await fs.readFile(path.join(dir, 'nginx', 'edge', 'private', 'routes'), 'utf8'), new RegExp(`^app ${APP} 50 `, 'm'));
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    await proxy.ensureRunning();
    assert.equal((await getThroughNginx(httpPort, HOST)).body, 'one proto=http', 'requests still reach release 50');
  });
});

describe('upgrading from an older berth (an edge nginx in front of a switch nginx per app socket)', () => {
  let dir: string;
  let target: Upstream;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-upgrade-'));
    await fs.chmod(dir, 0o711);
    target = await upstream('one');
  });

  after(async () => {
    for (const tier of ['edge', 'switch']) {
      try {
        process.kill(Number((await fs.readFile(path.join(dir, 'nginx', tier, 'run', 'nginx.pid'), 'utf8')).trim()), 'SIGQUIT');
      } catch {
        // not running
      }
    }
    target?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** The two nginx tiers as the previous berth left them, serving HOST through the app's socket. */
  async function olderBerth(httpPort: number): Promise<void> {
    const nginxDir = path.join(dir, 'nginx');
    const socket = path.join(nginxDir, 'sockets', `${APP}.sock`);
    const prefixOf = (tier: string) => path.join(nginxDir, tier);
    const tiers = {
      switch: `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
pid ${prefixOf('switch')}/run/nginx.pid;
events {}
stream { server { listen unix:${socket}; proxy_pass 127.0.0.1:${target.port}; } }`,
      edge: `pid ${prefixOf('edge')}/run/nginx.pid;
events {}
http {
  access_log off;
  client_body_temp_path ${prefixOf('edge')}/tmp/b;
  proxy_temp_path ${prefixOf('edge')}/tmp/p;
  upstream app { server unix:${socket}; keepalive 64; }
  server { listen ${httpPort}; server_name ${HOST}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}`,
    };
    await fs.mkdir(path.dirname(socket), { recursive: true, mode: 0o711 });
    for (const [tier, config] of Object.entries(tiers)) {
      const prefix = prefixOf(tier);
      for (const sub of ['run', 'logs', 'tmp', 'apps']) await fs.mkdir(path.join(prefix, sub), { recursive: true, mode: 0o711 });
      await fs.writeFile(path.join(prefix, 'apps', `${APP}.conf`), '# an app file of the older berth\n');
      await fs.writeFile(path.join(prefix, 'nginx.conf'), `${config}\n`);
      await run('nginx', ['-p', prefix, '-e', path.join(prefix, 'logs', 'error.log'), '-c', path.join(prefix, 'nginx.conf')]);
    }
    assert.equal((await getThroughNginx(httpPort, HOST)).body, 'one proto=undefined', 'the older berth serves');
  }

  test("the edge goes straight from the older berth's routes to the route table berth seeds from its records: no request is refused or unrouted, and the switch nginx finishes and goes", async () => {
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    await olderBerth(httpPort);
    const switchMaster = Number((await fs.readFile(path.join(dir, 'nginx', 'switch', 'run', 'nginx.pid'), 'utf8')).trim());
    const edgeMaster = Number((await fs.readFile(path.join(dir, 'nginx', 'edge', 'run', 'nginx.pid'), 'utf8')).trim());
    const logged: string[] = [];
    const proxy = await DataPlane.create({ bin: 'nginx', dir: path.join(dir, 'nginx'), httpPort, httpsPort, domain: 'localhost', drainTimeoutSeconds: 5, log: (line) => logged.push(line) });
    assert.equal(proxy.hasRouteTable, false);
    const load = startLoad({ port: httpPort, host: HOST, connections: 3, method: 'GET', keepAlive: false });
    await new Promise((r) => setTimeout(r, 300));
    proxy.seed([{ app: APP, release: 4, serverNames: [HOST], upstreams: [{ host: '127.0.0.1', port: target.port }] }]);
    await proxy.ensureRunning();
    await new Promise((r) => setTimeout(r, 500));
    const result = await load.stop();
    await recordReliability({ area: 'The edge, never reloaded', fault: 'berth upgraded in place from the two nginx tiers (edge and switch) while clients connect', berthDid: 'seeded the route table from its records before the edge first loaded it, reloaded the edge once into the new config (the only reload, a new main config) and sent the switch nginx SIGQUIT: it finished its requests and exited', served: result.ok, lost: result.failures.length });
    assertNoFailures('GET, a connection each', result);
    assert.equal(Number((await fs.readFile(path.join(dir, 'nginx', 'edge', 'run', 'nginx.pid'), 'utf8')).trim()), edgeMaster, 'the same edge master, reloaded once into the new config');
    assert.equal((await getThroughNginx(httpPort, HOST)).body, 'one proto=http', 'the edge routes to the container itself');
    assert.equal(await proxy.routedRelease(APP), 4);
    const deadline = Date.now() + 7000;
    while (!(await hasExited(switchMaster)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await hasExited(switchMaster), 'the switch nginx exited');
    for (const gone of ['switch', 'sockets', 'edge/apps']) await assert.rejects(fs.stat(path.join(dir, 'nginx', gone)), `${gone} is removed`);
    assert.match(logged.join('\n'), /the switch nginx of an older berth \(pid \d+\) finishes its open requests and exits/);
  });
});
