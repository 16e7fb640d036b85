// app.json as Dokku writes it: what berth reads (scripts, cron, healthchecks), what it leaves
// alone (Heroku's other keys), and each thing it cannot take refused naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppJsonError, nextRun, NO_APP_JSON, parseAppJson, readAppJson } from '../../src/build/app-json.js';
import { BerthError } from '../../src/errors.js';

const refused = (document: unknown, field: string, message: RegExp) =>
  assert.throws(
    () => parseAppJson(typeof document === 'string' ? document : JSON.stringify(document)),
    (error: unknown) => error instanceof AppJsonError && error.field === field && message.test(error.message),
    `${field} should be refused with ${message}`,
  );

test('Dokku\'s example app.json: scripts, cron and healthchecks read, Heroku\'s keys left alone', () => {
  const read = parseAppJson(
    JSON.stringify({
      name: 'shop',
      env: { SECRET: { required: true } },
      formation: { web: { quantity: 1 } },
      scripts: { dokku: { predeploy: 'python manage.py migrate', postdeploy: 'python manage.py warm_cache' } },
      cron: [{ command: 'python manage.py clearsessions', schedule: '*/5 * * * *' }, { command: 'backup', schedule: '@daily', concurrency_policy: 'forbid' }],
      healthchecks: {
        web: [
          { type: 'startup', name: 'ready', path: '/health/ready', content: 'ok', attempts: 3, timeout: 5, wait: 2, initialDelay: 1, port: 5000, httpHeaders: [{ name: 'X-Forwarded-Proto', value: 'https' }] },
          { type: 'liveness', path: '/health/live' },
        ],
        worker: [{ type: 'startup', command: ['/app/worker-ok.sh', '--quick'] }, { uptime: 5 }],
      },
    }),
  );
  assert.equal(read.predeploy, 'python manage.py migrate');
  assert.equal(read.postdeploy, 'python manage.py warm_cache');
  assert.deepEqual(read.cron.map(({ field, command, schedule }) => [field, command, schedule]), [['cron[0]', 'python manage.py clearsessions', '*/5 * * * *'], ['cron[1]', 'backup', '@daily']]);
  assert.match(read.cron[0].id, /^[0-9a-f]{10}$/);
  assert.equal(parseAppJson(JSON.stringify({ cron: [{ command: 'python manage.py clearsessions', schedule: '*/5  *  * * *' }] })).cron[0].id, read.cron[0].id, 'the id stays while schedule and command do');
  const [ready, live] = read.healthchecks.web;
  assert.deepEqual([ready.type, ready.path, ready.content, ready.attempts, ready.timeoutSeconds, ready.waitSeconds, ready.initialDelaySeconds, ready.port], ['startup', '/health/ready', 'ok', 3, 5, 2, 1, 5000]);
  assert.deepEqual(ready.headers, [{ name: 'X-Forwarded-Proto', value: 'https' }]);
  assert.deepEqual([live.type, live.attempts, live.timeoutSeconds], ['liveness', undefined, undefined], 'what is not given is left to the consumer\'s defaults');
  assert.deepEqual(read.healthchecks.worker.map((check) => [check.type, check.command, check.uptime]), [['startup', ['/app/worker-ok.sh', '--quick'], undefined], ['startup', undefined, 5]]);
  assert.deepEqual(parseAppJson('{}'), NO_APP_JSON);
});

test('what berth cannot take is refused naming the field', () => {
  refused('{"scripts": ', '', /^app\.json: is not JSON/);
  refused([], '', /must be a JSON object, not a list/);
  refused({ scripts: { dokku: { predeploy: 42 } } }, 'scripts.dokku.predeploy', /must be text, not number 42/);
  refused({ scripts: { dokku: { predeploy: '  ' } } }, 'scripts.dokku.predeploy', /is empty/);
  refused({ cron: {} }, 'cron', /must be a list/);
  refused({ cron: [{ schedule: '@daily' }] }, 'cron[0].command', /is missing/);
  refused({ cron: [{ command: 'x', schedule: '61 * * * *' }] }, 'cron[0].schedule', /"61 \* \* \* \*" does not parse: .*0-59/);
  refused({ cron: [{ command: 'x', schedule: '* * *' }] }, 'cron[0].schedule', /give five fields/);
  refused({ cron: [{ command: 'x', schedule: '@reboot' }] }, 'cron[0].schedule', /one of @yearly/);
  refused({ cron: [{ command: 'x', schedule: '0 * * * *', concurrency_policy: 'allow' }] }, 'cron[0].concurrency_policy', /never runs two copies/);
  refused({ cron: [{ command: 'x', schedule: '@daily' }, { command: 'x', schedule: '@daily' }] }, 'cron[1]', /the same job as cron\[0\]/);
  refused({ healthchecks: { web: [{ type: 'ready', path: '/' }] } }, 'healthchecks.web[0].type', /"ready" is not a check type berth knows: startup, readiness, liveness/);
  refused({ healthchecks: { 'we b': [] } }, 'healthchecks.we b', /is not a process type/);
  refused({ healthchecks: { web: { path: '/' } } }, 'healthchecks.web', /must be a list of checks/);
  refused({ healthchecks: { web: [{ type: 'startup' }] } }, 'healthchecks.web[0]', /needs exactly one of "path".*it has none/);
  refused({ healthchecks: { web: [{ path: '/', command: ['true'] }] } }, 'healthchecks.web[0]', /it has several/);
  refused({ healthchecks: { web: [{ path: 'health' }] } }, 'healthchecks.web[0].path', /is not a path/);
  refused({ healthchecks: { web: [{ path: '/', attempts: 0 }] } }, 'healthchecks.web[0].attempts', /whole number from 1 to 100/);
  refused({ healthchecks: { web: [{ path: '/', timeout: 2.5 }] } }, 'healthchecks.web[0].timeout', /whole number/);
  refused({ healthchecks: { web: [{ command: 'true' }] } }, 'healthchecks.web[0].command', /non-empty list of strings/);
  refused({ healthchecks: { web: [{ uptime: 5, content: 'ok' }] } }, 'healthchecks.web[0].content', /only goes with "path"/);
  refused({ healthchecks: { web: [{ path: '/', httpHeaders: [{ name: 'X', value: 'a\r\nb' }] }] } }, 'healthchecks.web[0].httpHeaders[0]', /without line breaks/);
});

test('a schedule\'s next run is in UTC', () => {
  assert.equal(nextRun('*/5 * * * *', new Date('2026-12-01T10:03:30Z')).toISOString(), '2026-12-01T10:05:00.000Z');
  assert.equal(nextRun('0 3 * * *', new Date('2026-12-01T10:03:30Z')).toISOString(), '2026-12-02T03:00:00.000Z');
});

test('read from the commit: none is none; too large or broken fails the deploy with the field and what to do', async () => {
  const tree = (content: string | undefined) => ({ commit: 'abcdef1234567', readFile: async () => (content === undefined ? undefined : { content: Buffer.from(content), truncated: false }) });
  assert.deepEqual(await readAppJson(tree(undefined)), NO_APP_JSON);
  await assert.rejects(readAppJson(tree('{"cron": 1}')), (error: unknown) => error instanceof BerthError && /^app\.json cron: must be a list/.test(error.message) && /fix app\.json/.test(error.hint ?? ''));
  await assert.rejects(readAppJson(tree(' '.repeat(300 * 1024))), /larger than 256 KiB/);
});
