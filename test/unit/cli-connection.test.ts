import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_URL, resolveConnection } from '../../src/cli/client.js';
import { localUrlFile, tokenFile } from '../../src/model/local-server.js';

const dataDirs: string[] = [];
after(() => dataDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function localBerth(files: { url?: string; token?: string }): string {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-unit-connection-'));
  dataDirs.push(dataDir);
  if (files.url) {
    fs.mkdirSync(path.dirname(localUrlFile(dataDir)), { recursive: true });
    fs.writeFileSync(localUrlFile(dataDir), `${files.url}\n`);
  }
  if (files.token) fs.writeFileSync(tokenFile(dataDir), `${files.token}\n`, { mode: 0o600 });
  return dataDir;
}

test('on the server, without --url or BERTH_URL, the client reads the local berth address and token', () => {
  const dataDir = localBerth({ url: 'http://127.0.0.1:7171', token: 'local-token' });
  assert.deepEqual(resolveConnection({}, { BERTH_DATA_DIR: dataDir }), { url: 'http://127.0.0.1:7171', token: 'local-token' });
});

test('flags win over the environment, and the environment over the local files', () => {
  const dataDir = localBerth({ url: 'http://127.0.0.1:7171', token: 'local-token' });
  const env = { BERTH_DATA_DIR: dataDir, BERTH_URL: 'http://server:7070', BERTH_TOKEN: 'env-token' };
  assert.deepEqual(resolveConnection({}, env), { url: 'http://server:7070', token: 'env-token' });
  const flagFile = path.join(dataDir, 'flag-token');
  fs.writeFileSync(flagFile, 'flag-token-0123456789\n', { mode: 0o600 });
  assert.deepEqual(resolveConnection({ url: 'https://other:1', tokenFile: flagFile }, env), { url: 'https://other:1', token: 'flag-token-0123456789' });
});

test('a server named elsewhere never gets the local token', () => {
  const dataDir = localBerth({ token: 'local-token' });
  assert.throws(() => resolveConnection({}, { BERTH_DATA_DIR: dataDir, BERTH_URL: 'http://server:7070' }), /no token/);
  assert.throws(() => resolveConnection({ url: 'http://server:7070' }, { BERTH_DATA_DIR: dataDir }), /no token/);
});

test('without a local berth the client asks for a token and defaults to the local port', () => {
  const dataDir = localBerth({});
  assert.throws(() => resolveConnection({}, { BERTH_DATA_DIR: dataDir }), /no token: set BERTH_TOKEN, or pass --token-file FILE/);
  assert.equal(resolveConnection({}, { BERTH_DATA_DIR: dataDir, BERTH_TOKEN: 't' }).url, DEFAULT_URL);
});
