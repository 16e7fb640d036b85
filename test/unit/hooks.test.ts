import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DeployOutput } from '../../src/log/output.js';
import { executableHandler } from '../../src/plugins/executable.js';
import type { TriggerContext } from '../../src/plugins/types.js';

function context(output: DeployOutput): TriggerContext {
  return {
    trigger: 'pre-deploy',
    app: 'shop',
    release: 7,
    commit: 'abc1234',
    image: 'berth/shop:7',
    container: { id: 'c0ffee', name: 'berth-shop-web-7', process: 'web', ip: '172.20.0.9', port: 5000, health: async () => ({ running: true, startedAt: new Date().toISOString(), restartCount: 0, exitCode: 0, oomKilled: false, error: '' }), listening: async () => [], exec: async () => ({ exitCode: 0, output: '' }) },
    previous: undefined,
    failure: undefined,
    source: { readFile: async () => undefined },
    checks: { listenTimeoutSeconds: 1, defaultSettleSeconds: 1 },
    logger: output,
    signal: new AbortController().signal,
  };
}

test('an executable hook gets PATH, HOME, the locale and the BERTH_* variables, never the token or the rest of the server\'s environment', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-unit-hook-'));
  const serverEnv = { BERTH_TOKEN: 'the-push-token-0123456789', DATABASE_PASSWORD: 'hunter2', LANG: 'C.UTF-8', TZ: 'Europe/Paris' };
  const saved = Object.fromEntries(Object.keys(serverEnv).map((key) => [key, process.env[key]]));
  t.after(async () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await fs.rm(dir, { recursive: true, force: true });
  });
  Object.assign(process.env, serverEnv);
  const hook = path.join(dir, 'pre-deploy');
  await fs.writeFile(hook, '#!/bin/sh\nenv\n', { mode: 0o755 });
  const lines: string[] = [];
  const output = new DeployOutput({ write: (line) => lines.push(line.trim()) });
  await executableHandler(hook, dir)(context(output));
  const env = new Map(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  assert.equal(env.get('PATH'), process.env.PATH);
  assert.equal(env.get('LANG'), 'C.UTF-8');
  assert.equal(env.get('TZ'), 'Europe/Paris');
  assert.equal(env.get('BERTH_APP'), 'shop');
  assert.equal(env.get('BERTH_CONTAINER_ADDRESS'), '172.20.0.9:5000');
  assert.ok(!lines.some((line) => line.includes('the-push-token') || line.includes('hunter2')), lines.join('\n'));
  const allowed = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|DOCKER_[A-Z_]+|BERTH_[A-Z_]+|PWD|SHLVL|_|OLDPWD)$/;
  assert.deepEqual([...env.keys()].filter((key) => !allowed.test(key)), []);
});
