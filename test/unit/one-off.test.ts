import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { shellLine } from '../../src/model/one-off.js';
import { ONE_OFF_LOGS_KEPT, OneOffLogs } from '../../src/store/one-off-logs.js';

test('one word of berth run is a shell line; several reach the command as the words they were', () => {
  assert.equal(shellLine(['rake db:migrate && echo $HOME']), 'rake db:migrate && echo $HOME');
  const words = ['printf', '%s|', "it's", 'two words', '$HOME', '`id`', ''];
  const printed = execFileSync('/bin/sh', ['-c', shellLine(words)], { encoding: 'utf8' });
  assert.equal(printed, "it's|two words|$HOME|`id`||");
});

test('one-off logs keep the newest runs of a group, and read none by a name that is not one', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-one-off-logs-'));
  try {
    const logs = new OneOffLogs(dir);
    for (let i = 0; i < ONE_OFF_LOGS_KEPT + 3; i++) {
      const log = await logs.open('app', 'cron-abc', `run${String(i).padStart(3, '0')}`);
      await log.line(`line of ${i}`);
      await log.close();
    }
    const kept = await logs.list('app', 'cron-abc');
    assert.equal(kept.length, ONE_OFF_LOGS_KEPT);
    assert.equal(kept.at(-1), `run${String(ONE_OFF_LOGS_KEPT + 2).padStart(3, '0')}`);
    assert.equal(await logs.read('app', 'cron-abc', kept.at(-1)!), `line of ${ONE_OFF_LOGS_KEPT + 2}\n`);
    assert.equal(await logs.read('app', 'cron-abc', '../../../etc/passwd'), undefined);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
