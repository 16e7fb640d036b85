import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { tightenDataDir } from '../../src/store/permissions.js';

const modeOf = async (file: string) => (await fs.lstat(file)).mode & 0o7777;

test('a data dir open to others is made the owner\'s alone; passages keep only their x bit; executables stay executable', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-perms-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const file = (name: string) => path.join(dataDir, name);
  await fs.mkdir(file('apps/shop/releases'), { recursive: true, mode: 0o755 });
  await fs.mkdir(file('nginx/edge/private'), { recursive: true, mode: 0o755 });
  await fs.mkdir(file('plugins/hook'), { recursive: true, mode: 0o775 });
  await fs.writeFile(file('apps/shop/app.json'), '{}', { mode: 0o644 });
  await fs.writeFile(file('plugins/hook/pre-deploy'), '#!/bin/sh\n', { mode: 0o755 });
  await fs.symlink('/etc/hostname', file('apps/link'));
  const socket = net.createServer().listen(file('nginx/edge/private/admin.sock'));
  t.after(() => socket.close());
  await new Promise((resolve) => socket.once('listening', resolve));
  await fs.chmod(file('nginx/edge/private/admin.sock'), 0o666);
  await fs.chmod(dataDir, 0o755);
  await fs.chmod(file('apps'), 0o777);

  const changed = await tightenDataDir(dataDir, [file('nginx'), file('nginx/edge')]);
  assert.ok(changed >= 7, `changed ${changed}`);
  assert.equal(await modeOf(dataDir), 0o711);
  assert.equal(await modeOf(file('nginx')), 0o711);
  assert.equal(await modeOf(file('nginx/edge')), 0o711);
  assert.equal(await modeOf(file('nginx/edge/private/admin.sock')), 0o666, 'a socket is left as nginx made it');
  assert.equal(await modeOf(file('nginx/edge/private')), 0o700);
  for (const dir of ['apps', 'apps/shop', 'apps/shop/releases', 'plugins', 'plugins/hook']) assert.equal(await modeOf(file(dir)), 0o700, dir);
  assert.equal(await modeOf(file('apps/shop/app.json')), 0o600);
  assert.equal(await modeOf(file('plugins/hook/pre-deploy')), 0o700);
  assert.equal((await fs.stat(file('apps/link'))).mode & 0o777, (await fs.stat('/etc/hostname')).mode & 0o777, 'a link is not followed');
  assert.equal(await tightenDataDir(dataDir, [file('nginx'), file('nginx/edge')]), 0, 'a tight data dir is left as it is');
});

test('what apps keep in their storage is theirs: the storage folder is tightened, nothing below it', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-perms-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const file = (name: string) => path.join(dataDir, name);
  await fs.mkdir(file('storage/shop/uploads'), { recursive: true, mode: 0o755 });
  await fs.writeFile(file('storage/shop/uploads/photo.jpg'), 'x', { mode: 0o644 });
  await fs.chmod(file('storage'), 0o755);
  await tightenDataDir(dataDir, [], file('storage'));
  assert.equal(await modeOf(file('storage')), 0o700);
  assert.equal(await modeOf(file('storage/shop/uploads')), 0o755);
  assert.equal(await modeOf(file('storage/shop/uploads/photo.jpg')), 0o644);
});
