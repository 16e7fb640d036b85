// Real ACME against Let's Encrypt's pebble, offline: berth's certificates (acme-client, the store,
// the renewal schedule), its admin API and the installed berth CLI, everything up to the edge. The
// edge is stood in for: a small HTTP server on the port pebble validates answers http-01 from what
// berth told the proxy through setChallenge (the fake proxy keeps it), and a TLS server with what
// berth handed to setCertificate shows that curl verifies the result against pebble's root.
// test/e2e/certs.test.ts does the same through berth serve and the real edge.
import { CronScheduler } from '../../src/deploy/cron.js';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { createApiHandler } from '../../src/api/router.js';
import { AppService } from '../../src/apps/service.js';
import { loadAcmeCa } from '../../src/certs/acme.js';
import { startCertificates } from '../../src/certs/start.js';
import { CertStore } from '../../src/certs/store.js';
import { AppLocks } from '../../src/deploy/lock.js';
import type { HookTarget } from '../../src/git/repos.js';
import type { CertificateInfo, StatusInfo } from '../../src/model/api.js';
import type { DataPlane } from '../../src/proxy/data-plane.js';
import type { ServedCertificate } from '../../src/proxy/reverse-proxy.js';
import { sleep } from '../../src/time.js';
import type { BerthInstance } from '../support/berth.js';
import { berthCli, type CliResult } from '../support/cli.js';
import { APP, harness, type Harness } from '../support/deploy-harness.js';
import { FakeProxy } from '../support/fake-proxy.js';
import { startPebble, type Pebble, type PebbleOptions } from '../support/pebble.js';
import { freePort } from '../support/ports.js';

const run = promisify(execFile);
// Never run: no repository is created here.
const HOOK: HookTarget = { curl: '/bin/false', awk: ['/bin/false'], socketPath: '/nonexistent/hooks.sock' };

/** The fake proxy with the parts of the edge that berth status and domains:add read. */
class StandInEdge extends FakeProxy {
  readonly edge = { masterPid: async () => process.pid, prefix: '/nonexistent' };
  readonly switchTier = this.edge;

  async updateHostNames(): Promise<void> {}
}

interface AcmeBerth {
  pebble: Pebble;
  h: Harness;
  proxy: StandInEdge;
  dataDir: string;
  cli(...args: string[]): Promise<CliResult>;
  json<T>(...args: string[]): Promise<T>;
  served(): ServedCertificate | undefined;
  logged: string[];
}

/** http-01 answers at /.well-known/acme-challenge/TOKEN, from what berth gave setChallenge: what the edge does. */
async function answerChallenges(t: TestContext, proxy: FakeProxy, port: number): Promise<void> {
  const server = http.createServer((req, res) => {
    const token = /^\/\.well-known\/acme-challenge\/([\w-]+)$/.exec(req.url ?? '')?.[1];
    const answer = token && proxy.challenges.get(token);
    res.writeHead(answer ? 200 : 404, { 'content-type': 'text/plain' }).end(answer || 'no such challenge');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
}

/** berth's service behind its admin API, with pebble as its ACME server, for the installed CLI to call. */
async function acmeBerth(t: TestContext, pebbleOptions: Omit<PebbleOptions, 'httpPort'> = {}, domains = ['shop.example.com']): Promise<AcmeBerth> {
  const httpPort = await freePort();
  const pebble = await startPebble({ httpPort, ...pebbleOptions });
  t.after(() => pebble.stop());
  const h = await harness(t);
  const proxy = new StandInEdge();
  h.proxy = proxy;
  await h.store.updateApp(APP, (app) => (app.domains = domains));
  await answerChallenges(t, proxy, httpPort);
  const locks = new AppLocks();
  const logged: string[] = [];
  const options = { ...h.options, acmeDirectory: pebble.directoryUrl, acmeEmail: 'ops@example.com' };
  const certs = await startCertificates({ options, acmeCa: await loadAcmeCa(pebble.caFile), certStore: new CertStore(options.dataDir), store: h.store, proxy, locks, log: (line) => logged.push(line) });
  t.after(() => certs.stop());
  const service = new AppService({ options, runtime: h.runtime, store: h.store, proxy: proxy as unknown as DataPlane, pipeline: h.pipeline(), locks, hook: HOOK, certs: certs.certificates, cron: new CronScheduler({ options, runtime: h.runtime, store: h.store, log: () => undefined }) });
  const handle = createApiHandler(service, Date.now());
  const api = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => (api.closeAllConnections(), api.close(resolve))));
  // berthCli needs only the address and token of a berth serve; this API is the test's own, plain HTTP on loopback.
  const port = (api.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const target = { gitPort: port, url, token: 'this-api-asks-for-none-0000' } as unknown as BerthInstance;
  const env = { BERTH_URL: url };
  return {
    pebble,
    h,
    proxy,
    dataDir: h.options.dataDir,
    cli: (...args) => berthCli(target, args, env),
    json: async <T>(...args: string[]) => {
      const result = await berthCli(target, [...args, '--json'], env);
      if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
      return JSON.parse(result.stdout) as T;
    },
    served: () => proxy.certificates.get(APP),
    logged,
  };
}

/** Serves the certificate as the edge would, and asks for https://HOST/ with curl trusting only pebble's root. */
async function curlVerifies(t: TestContext, pebble: Pebble, certificate: ServedCertificate, host: string): Promise<string> {
  const server = https.createServer({ cert: certificate.certPem, key: certificate.keyPem }, (_req, res) => res.end('served over TLS'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  const port = (server.address() as AddressInfo).port;
  const { stdout } = await run('curl', ['--silent', '--show-error', '--fail', '--cacert', await pebble.rootFile(), '--resolve', `${host}:${port}:127.0.0.1`, `https://${host}:${port}/`]);
  return stdout;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function serial(certificate: ServedCertificate | undefined): string | undefined {
  return certificate && new X509Certificate(certificate.certPem).serialNumber;
}

test('certs:auto gets a certificate from pebble (which rejects 5% of good nonces) for every name of the app; curl verifies it against pebble\'s root', async (t) => {
  const berth = await acmeBerth(t, {}, ['shop.example.com', 'www.example.com']);
  const auto = await berth.cli('certs:auto', APP);
  assert.equal(auto.code, 0, auto.stderr + auto.stdout);
  assert.match(auto.stdout, new RegExp(`Ordering a certificate for shop\\.example\\.test, shop\\.example\\.com, www\\.example\\.com from ${berth.pebble.directoryUrl.replace(/[.]/g, '\\.')}`));
  assert.match(auto.stdout, /www\.example\.com: validated \(http-01\)/);
  assert.match(auto.stdout, /Issued by Pebble Intermediate CA \w+ for shop\.example\.test, shop\.example\.com, www\.example\.com, valid until/);
  assert.match(auto.stdout, /auto: +on/);
  const served = berth.served();
  assert.deepEqual(served?.hosts, ['shop.example.test', 'shop.example.com', 'www.example.com']);
  assert.equal(await curlVerifies(t, berth.pebble, served!, 'www.example.com'), 'served over TLS');
  assert.equal(berth.proxy.challenges.size, 0, 'every challenge answer was taken back');
  assert.equal(berth.proxy.argsOf('setChallenge').length, 6, 'three names, each set and removed');
  const dir = path.join(berth.dataDir, 'certs');
  for (const file of ['account-key.pem', ...(await fs.readdir(path.join(dir, APP))).map((name) => path.join(APP, name))]) {
    assert.equal((await fs.stat(path.join(dir, file))).mode & 0o777, 0o600, file);
  }
  const info = await berth.json<CertificateInfo>('certs:info', APP);
  assert.equal(info.state, 'valid');
  assert.match(info.certificate!.issuer, /^Pebble Intermediate CA/);
  const status = await berth.cli('status');
  assert.match(status.stdout, /shop +- +- +enabled +valid until \d{4}-\d\d-\d\dT\d\d:\d\dZ \(auto\)/);
});

test('domains:add on an auto app answers at once and re-issues in the background for the new set of names', async (t) => {
  const berth = await acmeBerth(t, { nonceRejectPercent: 0 });
  assert.equal((await berth.cli('certs:auto', APP)).code, 0);
  const added = await berth.cli('domains:add', APP, 'api.example.com');
  assert.equal(added.code, 0, added.stderr);
  const covering = await waitFor('a certificate for api.example.com', 15_000, () => (berth.served()?.hosts.includes('api.example.com') ? berth.served() : undefined));
  assert.deepEqual(covering.hosts, ['shop.example.test', 'shop.example.com', 'api.example.com']);
  assert.equal(await curlVerifies(t, berth.pebble, covering, 'api.example.com'), 'served over TLS');
  assert.match(berth.logged.join('\n'), /shop: Getting a certificate for shop \(its certificate does not cover api\.example\.com\)/);
});

test('a short-lived certificate renews by itself at two thirds of its life', async (t) => {
  const berth = await acmeBerth(t, { validitySeconds: 12, nonceRejectPercent: 0 });
  assert.equal((await berth.cli('certs:auto', APP)).code, 0);
  const first = serial(berth.served());
  const info = await berth.json<CertificateInfo>('certs:info', APP);
  const lifetime = Date.parse(info.certificate!.notAfter) - Date.parse(info.certificate!.notBefore);
  assert.ok(lifetime <= 12_000, `pebble made it valid for ${lifetime} ms`);
  assert.equal(Date.parse(info.certificate!.renewsAt) - Date.parse(info.certificate!.notBefore), Math.round((lifetime * 2) / 3), 'at two thirds of its life');
  await waitFor('a renewal', 20_000, () => serial(berth.served()) !== first);
  assert.match(berth.logged.join('\n'), /shop: Getting a certificate for shop \(its certificate expires on /);
  assert.equal((await berth.json<CertificateInfo>('certs:info', APP)).state, 'valid');
});

test('a name that does not resolve to this server: certs:auto fails naming it and why, nothing is served, and certs:info and status show the error', async (t) => {
  const berth = await acmeBerth(t, { nonceRejectPercent: 0 }, ['elsewhere.example.com']);
  await berth.pebble.resolve('elsewhere.example.com', '127.0.0.2');
  const auto = await berth.cli('certs:auto', APP);
  assert.equal(auto.code, 1, auto.stdout);
  assert.match(auto.stderr, /getting a certificate for shop failed: the ACME server could not validate elsewhere\.example\.com: .*127\.0\.0\.2.*connection refused; berth tries again at /);
  assert.match(auto.stderr, /elsewhere\.example\.com must resolve \(DNS A\/AAAA records\) to this server/);
  assert.equal(berth.served(), undefined);
  const info = await berth.json<CertificateInfo>('certs:info', APP);
  assert.equal(info.state, 'failing');
  assert.equal(info.auto, true);
  assert.ok(Date.parse(info.nextAttemptAt!) - Date.parse(info.lastError!.at) === 10 * 60_000);
  const human = await berth.cli('certs:info', APP);
  assert.match(human.stdout, /last error: +\S+: getting|last error: +\S+: the ACME server could not validate elsewhere\.example\.com/);
  const status = await berth.json<StatusInfo>('status');
  assert.equal(status.apps[0].certificate?.state, 'failing');
  assert.match((await berth.cli('status')).stdout, /Certificates that need attention:\n {2}shop: failing: the ACME server could not validate elsewhere\.example\.com/);
});

test('a renewal that fails keeps the old certificate served, retries with back-off, and recovers when the name points here again', async (t) => {
  // Every renewal validates again: a reused authorization would renew without asking the name.
  // 30 s certificates renew 20 s into their life: on a busy machine certs:auto itself can take
  // several seconds, and the name must point elsewhere before the first renewal starts.
  const berth = await acmeBerth(t, { validitySeconds: 30, nonceRejectPercent: 0, authzReusePercent: 0 });
  assert.equal((await berth.cli('certs:auto', APP)).code, 0);
  const first = berth.served();
  await berth.pebble.resolve('shop.example.com', '127.0.0.2');
  const failing = await waitFor('a failed renewal', 35_000, async () => {
    const info = await berth.json<CertificateInfo>('certs:info', APP);
    return info.lastError ? info : undefined;
  });
  assert.equal(serial(berth.served()), serial(first), 'the old certificate serves on');
  assert.match(failing.lastError!.message, /could not validate shop\.example\.com/);
  const lifetime = Date.parse(failing.certificate!.notAfter) - Date.parse(failing.certificate!.notBefore);
  assert.equal(Date.parse(failing.nextAttemptAt!) - Date.parse(failing.lastError!.at), lifetime / 10, 'a tenth of its lifetime, not 10 minutes');
  await berth.pebble.resolve('shop.example.com', '127.0.0.1');
  await waitFor('a renewal after the name points here again', 15_000, () => serial(berth.served()) !== serial(first));
  const info = await berth.json<CertificateInfo>('certs:info', APP);
  assert.equal(info.lastError, null);
  assert.equal(info.state, 'valid');
});
