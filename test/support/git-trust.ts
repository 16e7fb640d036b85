import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let gitConfig: string | undefined;

/**
 * The tests' git trusts each berth's certificate the way the README tells a user to: with
 * `git config http.https://server:port/.sslCAInfo FILE` in the global config, here a file of this
 * test process's own (GIT_CONFIG_GLOBAL, including the user's real one), which every git the tests
 * run reads. GIT_SSL_CAINFO, when the environment sets it (this machine's does), wins over every
 * http.sslCAInfo, so it goes: a user's shell rarely sets it.
 */
export function trustForGit(origin: string, caFile: string): void {
  if (gitConfig === undefined) {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-git-')), 'gitconfig');
    const real = process.env.GIT_CONFIG_GLOBAL ?? path.join(os.homedir(), '.gitconfig');
    fs.writeFileSync(file, fs.existsSync(real) ? `[include]\n\tpath = ${real}\n` : '');
    process.env.GIT_CONFIG_GLOBAL = file;
    delete process.env.GIT_SSL_CAINFO;
    process.once('exit', () => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
    gitConfig = file;
  }
  execFileSync('git', ['config', '--file', gitConfig, `http.${origin}/.sslCAInfo`, caFile]);
}

/** The environment of a git that trusts no berth: the user who has not done what the README says. */
export function gitWithoutTrust(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
  delete env.GIT_CONFIG_GLOBAL;
  delete env.GIT_SSL_CAINFO;
  return env;
}
