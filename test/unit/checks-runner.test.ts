// The check-deploy stage of the checks plugin against a real HTTP server on loopback, with the
// CHECKS file read from a commit held in memory: what a Dokku user's CHECKS does under berth.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CHECK_DEFAULTS } from '../../src/checks/runner.js';
import { checkedContainer, runCheckDeploy } from '../support/check-deploy.js';
import type { FakeEntry } from '../support/fake-commit.js';

let server: http.Server;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/found-without-location') return res.writeHead(302).end('moved somewhere');
    if (req.url === '/not-modified') return res.writeHead(304).end();
    if (req.url === '/moved') return res.writeHead(301, { location: '/health' }).end();
    if (req.url === '/health') return res.end('ok');
    res.writeHead(400).end('bad request');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(() => server.close());

/** Runs check-deploy against the server with this CHECKS (or entry in its place); resolves with what the pusher read. */
function runChecks(checks: string | FakeEntry): Promise<{ read: string; error?: Error & { hint?: string } }> {
  return runCheckDeploy(checkedContainer({ ip: '127.0.0.1', port: (server.address() as AddressInfo).port }), { CHECKS: checks });
}

test('a 3xx answer without Location passes, as under Dokku\'s curl --fail --location; one with Location is followed', async () => {
  const { read, error } = await runChecks('/found-without-location moved\n/not-modified\n/moved ok\n');
  assert.equal(error, undefined, read);
  assert.match(read, /GET \/found-without-location: ok, 302, found "moved"/);
  assert.match(read, /GET \/not-modified: ok, 304/);
  assert.match(read, /GET \/moved: ok, 200, found "ok"/);
});

test('a 4xx answer still fails, saying what passes', async () => {
  const { read, error } = await runChecks('ATTEMPTS=1\n/bad\n');
  assert.match(error?.message ?? '', /check GET \/bad \(CHECKS line 2\) failed: answered 400, expected 2xx or 3xx/);
  assert.match(read, /\[1\/1\] GET \/bad: failed, answered 400, expected 2xx or 3xx/);
});

test('Dokku\'s defaults: 30 s for each attempt, 5 attempts, 5 s between failed attempts', async () => {
  assert.deepEqual(CHECK_DEFAULTS, { timeoutSeconds: 30, attempts: 5, retryDelaySeconds: 5 });
  const { read, error } = await runChecks('/health ok\n');
  assert.equal(error, undefined, read);
  assert.match(read, /CHECKS: 1 check\(s\), up to 5 attempt\(s\) each, 30 s timeout/);
});

test('a CHECKS written as in Dokku\'s documentation, comments after the directives, is read', async () => {
  const { read, error } = await runChecks('WAIT=0     # no wait\nTIMEOUT=2  # Timeout after 2 s\nATTEMPTS=1  # attempt once\n/health ok # the health page\n');
  assert.equal(error, undefined, read);
  assert.match(read, /CHECKS: 1 check\(s\), up to 1 attempt\(s\) each, 2 s timeout/);
  assert.match(read, /\[1\/1\] GET \/health: ok, 200, found "ok"/);
});

test('a CHECKS that is a directory or a submodule fails the checks, naming what it is, instead of counting as absent', async () => {
  for (const kind of ['directory', 'submodule'] as const) {
    const { read, error } = await runChecks({ kind });
    assert.match(error?.message ?? '', new RegExp(`^CHECKS in commit c0ffee0 is (a|a git) ${kind}, not a file$`), read);
    assert.match(error?.hint ?? '', /commit CHECKS as a file and push again/);
    assert.doesNotMatch(read, /No CHECKS file/);
  }
});
