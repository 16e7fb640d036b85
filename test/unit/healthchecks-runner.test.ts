// The check-deploy stage with app.json's healthchecks, against a real HTTP server on loopback and a
// container whose commands (docker exec) answer as each test says.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ExecResult } from '../../src/runtime/runtime.js';
import { checkedContainer, runCheckDeploy } from '../support/check-deploy.js';
import { selfSignedCertificate } from '../support/tls.js';

let server: http.Server;
const seen: http.IncomingHttpHeaders[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/ready') return res.end('ready: yes');
    res.writeHead(404).end('no');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(() => server.close());

interface Run {
  files: Record<string, string>;
  process?: string;
  exec?: (command: string[]) => ExecResult;
}

async function runChecks({ files, process = 'web', exec = () => ({ exitCode: 0, output: '' }) }: Run): Promise<{ read: string; error?: Error & { hint?: string }; commands: string[][] }> {
  const commands: string[][] = [];
  const container = checkedContainer(
    { ip: '127.0.0.1', port: (server.address() as AddressInfo).port },
    {
      name: `unit_shop_${process}_1`,
      process,
      listening: async () => [{ address: '0.0.0.0', port: 9000 }],
      exec: async (command) => {
        commands.push(command);
        return exec(command);
      },
    },
  );
  return { ...(await runCheckDeploy(container, files)), commands };
}

const appJson = (healthchecks: unknown) => JSON.stringify({ healthchecks });

test('an app.json startup check with content passes, each attempt shown; CHECKS beside it is ignored and the pusher reads so', async () => {
  const { read, error } = await runChecks({ files: { 'app.json': appJson({ web: [{ type: 'startup', path: '/ready', content: 'yes', httpHeaders: [{ name: 'X-Probe', value: 'berth' }] }] }), CHECKS: '/nothing-here\n' } });
  assert.equal(error, undefined, read);
  assert.match(read, /CHECKS is ignored: app\.json has healthchecks for web/);
  assert.match(read, /app\.json: 1 startup check\(s\) for web/);
  assert.match(read, /\[1\/3\] GET \/ready: ok, 200, found "yes" \(\d+ ms\)/);
  assert.doesNotMatch(read, /nothing-here/);
  assert.equal(seen.at(-1)?.['x-probe'], 'berth');
});

test('content that is missing fails the check after its attempts, naming where in app.json it is', async () => {
  const { read, error } = await runChecks({ files: { 'app.json': appJson({ web: [{ path: '/ready', content: 'Goodbye', attempts: 2, wait: 0 }] }) } });
  assert.match(error?.message ?? '', /^check GET \/ready \(app\.json healthchecks\.web\[0\]\) failed: answered 200 but the body does not contain "Goodbye"$/);
  assert.match(error?.hint ?? '', /fix the app or its app\.json healthchecks/);
  assert.match(read, /\[1\/2\] GET \/ready: failed, .*retrying in 0 ms/);
});

test('a worker\'s command check runs inside its container and fails the deploy on a non-zero exit, with what it printed', async () => {
  const { read, error, commands } = await runChecks({
    process: 'worker',
    files: { 'app.json': appJson({ worker: [{ command: ['/app/worker-ok.sh'], attempts: 2, wait: 0 }] }) },
    exec: () => ({ exitCode: 3, output: 'starting\nqueue unreachable\n' }),
  });
  assert.deepEqual(commands, [['/app/worker-ok.sh'], ['/app/worker-ok.sh']]);
  assert.match(error?.message ?? '', /^check command \["\/app\/worker-ok\.sh"\] \(app\.json healthchecks\.worker\[0\]\) failed: exited 3: queue unreachable$/);
  assert.match(read, /\[2\/2\] command \["\/app\/worker-ok\.sh"\]: failed, exited 3: queue unreachable/);
});

test('a command that does not exit in time fails, saying so; one that exits 0 passes', async () => {
  const hung = await runChecks({ process: 'worker', files: { 'app.json': appJson({ worker: [{ command: ['sleep', '99'], attempts: 1, timeout: 1 }] }) }, exec: () => ({ exitCode: undefined, output: '' }) });
  assert.match(hung.error?.message ?? '', /failed: did not exit within 1\.0 s$/);
  const fine = await runChecks({ process: 'worker', files: { 'app.json': appJson({ worker: [{ command: ['true'] }, { uptime: 1 }, { listening: true, port: 9000 }] }) } });
  assert.equal(fine.error, undefined, fine.read);
  assert.match(fine.read, /\[1\/1\] up 1 s without a restart: ok, up/);
  assert.match(fine.read, /\[1\/3\] listening on 0\.0\.0\.0:9000: ok/);
});

test('a worker without app.json checks keeps the default check; one with only liveness checks says they start once live', async () => {
  const plain = await runChecks({ process: 'worker', files: {} });
  assert.match(plain.read, /worker does not serve HTTP and app\.json has no healthchecks for it/);
  const live = await runChecks({ files: { 'app.json': appJson({ web: [{ type: 'liveness', path: '/ready' }] }) } });
  assert.equal(live.error, undefined, live.read);
  assert.match(live.read, /app\.json has only liveness checks for web, which start once it is live/);
});

test('an app.json that is not JSON, or has a check type berth does not know, fails the checks naming the field', async () => {
  const broken = await runChecks({ files: { 'app.json': '{"healthchecks": ' } });
  assert.match(broken.error?.message ?? '', /^app\.json: is not JSON/);
  const unknown = await runChecks({ files: { 'app.json': appJson({ web: [{ type: 'warmup', path: '/' }] }) } });
  assert.match(unknown.error?.message ?? '', /^app\.json healthchecks\.web\[0\]\.type: "warmup" is not a check type berth knows/);
  assert.match(unknown.error?.hint ?? '', /fix app\.json/);
});

test('scheme https speaks TLS to the container, whose certificate names no address, with the Host header app.json gives', async (t) => {
  const { certPem, keyPem } = selfSignedCertificate(['shop.example.com']);
  const secure = https.createServer({ cert: certPem, key: keyPem }, (req, res) => res.end(`secure ${req.headers.host}`));
  await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
  t.after(() => secure.close());
  const securePort = (secure.address() as AddressInfo).port;
  const healthchecks = { web: [{ path: '/', scheme: 'https', port: securePort, content: 'secure shop.example.com', httpHeaders: [{ name: 'Host', value: 'shop.example.com' }], attempts: 1 }] };
  const { read, error } = await runChecks({ files: { 'app.json': appJson(healthchecks) } });
  assert.equal(error, undefined, read);
  assert.match(read, new RegExp(`\\[1/1\\] GET / \\(Host: shop\\.example\\.com, https, port ${securePort}\\): ok, 200, found "secure shop\\.example\\.com"`));
});
