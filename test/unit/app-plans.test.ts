import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planConfigChange } from '../../src/apps/config.js';
import { planRollback } from '../../src/apps/releases.js';
import { ConflictError, InputError, NotFoundError } from '../../src/errors.js';
import type { AppRecord, ReleaseRecord, ReleaseStatus } from '../../src/store/store.js';

function release(id: number, status: ReleaseStatus): ReleaseRecord {
  return { id, commit: `c${id}`, image: `berth/shop:${id}`, status, description: 'push', createdAt: '', liveAt: undefined, finishedAt: undefined, stageMs: {}, failure: undefined };
}

function app(live: number | undefined): AppRecord {
  return {
    name: 'shop',
    createdAt: '',
    config: { KEEP: '1', DROP: '2' },
    domains: [],
    formation: { web: 1 },
    checks: 'enabled',
    stopped: false,
    deploy: { order: 'start-first' },
    resources: { app: {}, processes: {} },
    proxy: { redirectHttps: true, hsts: false },
    storage: [],
    scheduler: 'local',
    nextRelease: 6,
    live: live === undefined ? undefined : { release: live, commit: `c${live}`, image: `berth/shop:${live}`, containers: [] },
  };
}

// Newest first, as the store lists them: 5 live, 4 failed, 3 retired, 2 retired without its image, 1 retired.
const RELEASES = [release(5, 'live'), release(4, 'failed'), release(3, 'retired'), { ...release(2, 'retired'), image: undefined }, release(1, 'retired')];

test('a rollback goes to the newest release that served before, or to the one asked for', () => {
  const { to, from } = planRollback(app(5), RELEASES, undefined);
  assert.deepEqual([to.id, from], [3, 5]);
  assert.equal(planRollback(app(5), RELEASES, 1).to.image, 'berth/shop:1');
});

test('a rollback that cannot happen says why, before anything runs', () => {
  const refused = (live: number | undefined, target: number | undefined, kind: typeof ConflictError, pattern: RegExp) =>
    assert.throws(() => planRollback(app(live), RELEASES, target), (error: Error) => error instanceof kind && pattern.test(error.message));
  refused(undefined, undefined, ConflictError, /shop has not been deployed yet/);
  refused(5, 9, NotFoundError, /shop has no release 9/);
  refused(5, 5, ConflictError, /cannot roll shop back to release 5: it is the live release/);
  refused(5, 4, ConflictError, /cannot roll shop back to release 4: it never went live \(failed\)/);
  refused(5, 2, ConflictError, /cannot roll shop back to release 2: its image is no longer kept/);
  assert.throws(() => planRollback(app(5), [{ ...release(3, 'retired'), image: 'berth/shop:5' }], 3), /cannot roll shop back to release 3: it runs the image that is live now/);
  assert.throws(() => planRollback(app(5), [release(5, 'live'), release(4, 'failed')], undefined), /shop has no earlier release to roll back to/);
});

test('a config change is checked whole before it applies, and says what it does', () => {
  const plan = planConfigChange({ ADD: 'x=y' }, ['DROP']);
  assert.equal(plan.summary, 'set ADD, unset DROP');
  const record = app(5);
  plan.apply(record);
  assert.deepEqual(record.config, { KEEP: '1', ADD: 'x=y' });
  for (const [set, unset] of [[{ GOOD: '1', '1BAD': 'x' }, []], [{ NUL: 'a\0b' }, []], [{}, ['not valid']], [{}, []]] as const) {
    assert.throws(() => planConfigChange(set, [...unset]), InputError, JSON.stringify([set, unset]));
  }
});
