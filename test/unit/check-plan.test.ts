// What berth checks on a container, from app.json's healthchecks and CHECKS: which wins, Dokku's
// defaults, what gates the deploy and what runs once live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAppJson } from '../../src/build/app-json.js';
import { parseChecks } from '../../src/checks/parser.js';
import { HEALTHCHECK_DEFAULTS, planChecks } from '../../src/checks/plan.js';

const CHECKS = parseChecks('WAIT=2\nATTEMPTS=4\n/health ok\n');

function plan(healthchecks: unknown, processType = 'web', checksFile = CHECKS) {
  return planChecks({ appJson: parseAppJson(JSON.stringify({ healthchecks })), checksFile, processType, port: 5000 });
}

test('app.json\'s web checks win over CHECKS, and the pusher is told CHECKS is ignored', () => {
  const planned = plan({ web: [{ type: 'startup', path: '/ready', content: 'yes' }] });
  assert.equal(planned.source, 'app.json');
  assert.equal(planned.gate.length, 1);
  assert.equal(planned.waitBeforeSeconds, 0, 'CHECKS\'s WAIT goes with it');
  assert.match(planned.notes.join('\n'), /CHECKS is ignored: app\.json has healthchecks for web/);
  assert.deepEqual(planned.gate[0].probe, { kind: 'http', scheme: 'http', tls: false, host: undefined, path: '/ready', port: 5000, expected: 'yes', headers: [] });
  assert.equal(planned.gate[0].origin, 'app.json healthchecks.web[0]');
});

test('CHECKS applies to web when app.json has no checks for it, with Dokku\'s CHECKS defaults and its WAIT', () => {
  const planned = plan({ worker: [{ command: ['true'] }] });
  assert.equal(planned.source, 'CHECKS');
  assert.deepEqual(planned.notes, []);
  assert.equal(planned.waitBeforeSeconds, 2);
  assert.deepEqual({ ...planned.gate[0], probe: undefined }, { type: 'startup', label: 'GET /health', origin: 'CHECKS line 3', probe: undefined, attempts: 4, timeoutSeconds: 30, waitSeconds: 2, initialDelaySeconds: 0 });
});

test('docker-container-healthchecker\'s defaults for app.json checks: 3 attempts, 5 s timeout, 5 s between, no initial delay', () => {
  assert.deepEqual(HEALTHCHECK_DEFAULTS, { attempts: 3, timeoutSeconds: 5, waitSeconds: 5, initialDelaySeconds: 0 });
  const [check] = plan({ web: [{ path: '/' }] }).gate;
  assert.equal(check.type, 'startup', 'a check without a type is a startup check');
  assert.deepEqual([check.attempts, check.timeoutSeconds, check.waitSeconds, check.initialDelaySeconds], [3, 5, 5, 0]);
  const [given] = plan({ web: [{ path: '/', attempts: 7, timeout: 2, wait: 1, initialDelay: 4 }] }).gate;
  assert.deepEqual([given.attempts, given.timeoutSeconds, given.waitSeconds, given.initialDelaySeconds], [7, 2, 1, 4]);
});

test('startup checks gate first, then readiness, each in app.json\'s order; liveness checks run once live', () => {
  const planned = plan({
    web: [
      { type: 'liveness', path: '/live' },
      { type: 'readiness', command: ['/app/ready'] },
      { type: 'startup', path: '/a' },
      { type: 'startup', listening: true },
    ],
  });
  assert.deepEqual(planned.gate.map((check) => check.label), ['GET /a', 'listening on 0.0.0.0:5000', 'command ["/app/ready"]']);
  assert.deepEqual(planned.liveness.map((check) => check.label), ['GET /live']);
});

test('worker checks: command, uptime (one look, as Dokku\'s) and listening; CHECKS never applies to a worker', () => {
  const planned = plan({ worker: [{ command: ['/app/check', '--quick'] }, { uptime: 3, attempts: 9 }, { listening: true, port: 9000 }] }, 'worker');
  assert.deepEqual(planned.gate.map((check) => check.probe), [
    { kind: 'command', command: ['/app/check', '--quick'] },
    { kind: 'uptime', seconds: 3 },
    { kind: 'listening', port: 9000 },
  ]);
  assert.equal(planned.gate[1].attempts, 1);
  assert.equal(plan({}, 'worker').source, 'none');
  assert.deepEqual(plan({}, 'worker').notes, []);
});

test('an HTTP check\'s port, scheme https (TLS to the container) and headers, a Host header naming the host', () => {
  const [check] = plan({ web: [{ path: '/h', port: 8443, scheme: 'https', httpHeaders: [{ name: 'Host', value: 'shop.example.com' }, { name: 'X-Probe', value: '1' }] }] }).gate;
  assert.deepEqual(check.probe, { kind: 'http', scheme: 'https', tls: true, host: 'shop.example.com', path: '/h', port: 8443, expected: undefined, headers: [{ name: 'X-Probe', value: '1' }] });
  assert.equal(check.label, 'GET /h (Host: shop.example.com, https, port 8443)');
});

test('a check with a name says it where it fails', () => {
  const [check] = plan({ web: [{ name: 'db reachable', command: ['/app/db-ping'] }] }).gate;
  assert.equal(check.origin, 'app.json healthchecks.web[0] ("db reachable")');
});
