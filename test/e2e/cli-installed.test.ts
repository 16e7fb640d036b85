import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { COMMAND_NAMES } from '../../src/cli/registry.js';
import { BERTH_VERSION } from '../../src/paths.js';
import { installedBerth } from '../support/installed.js';
import { startBerth, type BerthInstance } from '../support/berth.js';

const run = promisify(execFile);

/** The installed command, from a folder that is not the checkout, with no server to talk to. */
async function berthWithoutServer(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, BERTH_URL: 'http://127.0.0.1:9', BERTH_TOKEN: '' };
  try {
    const { stdout, stderr } = await run('berth', args, { cwd: os.tmpdir(), env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the installed berth command, as a new user runs it', () => {
  test('berth is on the PATH and is this checkout', () => {
    assert.ok(installedBerth());
  });

  test('berth --version and berth version print the version', async () => {
    for (const args of [['--version'], ['version']]) {
      const result = await berthWithoutServer(...args);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), `berth ${BERTH_VERSION}`);
    }
  });

  test('berth help lists every command', async () => {
    const result = await berthWithoutServer('help');
    assert.equal(result.code, 0, result.stderr);
    for (const name of COMMAND_NAMES) assert.match(result.stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
  });

  test('every command answers --help without a server or a token', async () => {
    for (const name of COMMAND_NAMES.filter((n) => n !== 'help' && n !== 'version')) {
      const result = await berthWithoutServer(name, '--help');
      assert.equal(result.code, 0, `${name} --help: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`^Usage: berth ${name}\\b`), `${name} --help:\n${result.stdout}`);
    }
  });

  test('a command that needs the server says how to reach it when there is none', async () => {
    const tokenFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-cli-')), 'token');
    await fs.writeFile(tokenFile, 'some-token-0123456789\n', { mode: 0o600 });
    const result = await berthWithoutServer('apps:list', '--token-file', tokenFile);
    await fs.rm(path.dirname(tokenFile), { recursive: true, force: true });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /cannot reach berth at http:\/\/127\.0\.0\.1:9/);
    assert.match(result.stderr, /is berth serve running there\?/);
  });

  test('a token on the command line is refused, saying to use BERTH_TOKEN or --token-file, before anything is sent', async () => {
    for (const args of [['apps:list', '--token', 'some-token-0123456789'], ['config:set', 'shop', 'A=1', '--token=some-token-0123456789']]) {
      const result = await berthWithoutServer(...args);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /berth does not take the token on the command line, where every local user can read it \(ps\).*set BERTH_TOKEN, or put the token in a file \(chmod 600\) and pass --token-file FILE/);
      assert.doesNotMatch(result.stderr, /cannot reach berth/);
    }
  });

  describe('on the server, with nothing set', () => {
    let berth: BerthInstance;
    after(() => berth?.destroy());

    test('berth apps:list finds the berth of the data dir and its token by itself', async () => {
      // No BERTH_TOKEN for the server: it generates one into the data dir, as a first npm start does.
      berth = await startBerth({ env: { BERTH_TOKEN: '' } });
      const env: NodeJS.ProcessEnv = { ...process.env, BERTH_DATA_DIR: berth.dataDir };
      delete env.BERTH_URL;
      delete env.BERTH_TOKEN;
      const { stdout } = await run('berth', ['apps:list'], { cwd: os.tmpdir(), env });
      assert.match(stdout, /No apps yet/);
      await assert.rejects(run('berth', ['apps:list'], { cwd: os.tmpdir(), env: { ...env, BERTH_URL: berth.url } }), /no token/, 'a URL named by the user gets no token read from disk');
    });
  });
});
