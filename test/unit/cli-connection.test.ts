import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_URL, resolveConnection } from '../../src/cli/client.js';
import { localFingerprintFile, localUrlFile, tokenFile } from '../../src/model/local-server.js';

const dataDirs: string[] = [];
after(() => dataDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':');
const NO_LOGIN = { servers: {} };

function localBerth(files: { url?: string; token?: string; fingerprint?: string }): string {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-unit-connection-'));
  dataDirs.push(dataDir);
  fs.mkdirSync(path.dirname(localUrlFile(dataDir)), { recursive: true });
  if (files.url) fs.writeFileSync(localUrlFile(dataDir), `${files.url}\n`);
  if (files.fingerprint) fs.writeFileSync(localFingerprintFile(dataDir), `${files.fingerprint}\n`);
  if (files.token) fs.writeFileSync(tokenFile(dataDir), `${files.token}\n`, { mode: 0o600 });
  return dataDir;
}

test('on the server, without --url or BERTH_URL, the client reads the local berth address and token', () => {
  const dataDir = localBerth({ url: 'http://127.0.0.1:7171', token: 'local-token' });
  assert.deepEqual(resolveConnection({}, { BERTH_DATA_DIR: dataDir }, NO_LOGIN), { url: 'http://127.0.0.1:7171', token: 'local-token', trust: { caFile: undefined } });
});

test('flags win over the environment, and the environment over the local files', () => {
  const dataDir = localBerth({ url: 'http://127.0.0.1:7171', token: 'local-token' });
  const env = { BERTH_DATA_DIR: dataDir, BERTH_URL: 'http://server:7070', BERTH_TOKEN: 'env-token' };
  assert.deepEqual(resolveConnection({}, env, NO_LOGIN), { url: 'http://server:7070', token: 'env-token', trust: { caFile: undefined } });
  const flagFile = path.join(dataDir, 'flag-token');
  fs.writeFileSync(flagFile, 'flag-token-0123456789\n', { mode: 0o600 });
  assert.deepEqual(resolveConnection({ url: 'https://other:1', tokenFile: flagFile }, env, NO_LOGIN), { url: 'https://other:1', token: 'flag-token-0123456789', trust: { caFile: undefined } });
});

test('a server named elsewhere never gets the local token', () => {
  const dataDir = localBerth({ token: 'local-token' });
  assert.throws(() => resolveConnection({}, { BERTH_DATA_DIR: dataDir, BERTH_URL: 'http://server:7070' }, NO_LOGIN), /no token/);
  assert.throws(() => resolveConnection({ url: 'http://server:7070' }, { BERTH_DATA_DIR: dataDir }, NO_LOGIN), /no token/);
});

test('without a local berth the client asks for a token and defaults to the local port', () => {
  const dataDir = localBerth({});
  assert.throws(() => resolveConnection({}, { BERTH_DATA_DIR: dataDir }, NO_LOGIN), /no token: set BERTH_TOKEN, or pass --token-file FILE/);
  assert.equal(resolveConnection({}, { BERTH_DATA_DIR: dataDir, BERTH_TOKEN: 't' }, NO_LOGIN).url, DEFAULT_URL);
  assert.equal(DEFAULT_URL, 'https://127.0.0.1:7070');
});

test('the local berth is verified by the fingerprint it wrote into its data dir, a named server only by CAs (BERTH_CA)', () => {
  const dataDir = localBerth({ url: 'https://127.0.0.1:7171', token: 'local-token', fingerprint: FINGERPRINT.toLowerCase() });
  assert.deepEqual(resolveConnection({}, { BERTH_DATA_DIR: dataDir, BERTH_CA: '/ca.pem' }, NO_LOGIN).trust, { fingerprint: FINGERPRINT, pinnedBy: 'local', caFile: '/ca.pem' });
  const named = resolveConnection({}, { BERTH_DATA_DIR: dataDir, BERTH_URL: 'https://127.0.0.1:7171', BERTH_TOKEN: 't', BERTH_CA: '/ca.pem' }, NO_LOGIN);
  assert.deepEqual(named.trust, { caFile: '/ca.pem' }, 'a URL the user names is not verified by what a local file says');
});

test('after berth login, its server is the default, with the fingerprint pinned for it and its saved token; a local berth comes after', () => {
  const dataDir = localBerth({ url: 'https://127.0.0.1:7171', token: 'local-token', fingerprint: FINGERPRINT });
  const login = { url: 'https://server:7070', servers: { 'https://server:7070': { fingerprint: FINGERPRINT, token: 'saved-token' }, 'https://other:7070': { token: 'other-token' } } };
  assert.deepEqual(resolveConnection({}, { BERTH_DATA_DIR: dataDir }, login), { url: 'https://server:7070', token: 'saved-token', trust: { fingerprint: FINGERPRINT, pinnedBy: 'login', caFile: undefined } });
  assert.equal(resolveConnection({}, { BERTH_DATA_DIR: dataDir, BERTH_TOKEN: 'env-token' }, login).token, 'env-token', 'a token given wins over the saved one');
  const other = resolveConnection({ url: 'https://other:7070/' }, { BERTH_DATA_DIR: dataDir }, login);
  assert.deepEqual(other, { url: 'https://other:7070', token: 'other-token', trust: { caFile: undefined } }, 'a server named by URL gets what was saved for it');
  assert.throws(() => resolveConnection({ url: 'https://third:7070' }, { BERTH_DATA_DIR: dataDir }, login), /no token/, 'and no other server gets a saved token');
});
