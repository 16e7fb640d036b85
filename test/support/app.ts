import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/paths.js';

const run = promisify(execFile);

export const SAMPLE_APP_DIR = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'sample-app');

/** A file's new content, a symbolic link, or null to delete it. */
export type FileChange = string | { symlinkTo: string } | null;

export interface PushResult {
  code: number;
  output: string;
}

/** A local git checkout of an app that tests change, commit and push with the real git client. */
export class AppRepo {
  private constructor(readonly dir: string) {}

  /** Starts from the sample app, with files overridden (null deletes a file). */
  static async create(files: Record<string, FileChange> = {}): Promise<AppRepo> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-app-'));
    await fs.cp(SAMPLE_APP_DIR, dir, { recursive: true });
    const repo = new AppRepo(dir);
    await repo.git('init', '-q', '-b', 'main');
    await repo.commit(files, 'initial');
    return repo;
  }

  async git(...args: string[]): Promise<string> {
    const { stdout } = await run('git', ['-c', 'user.email=test@berth', '-c', 'user.name=berth test', ...args], { cwd: this.dir });
    return stdout;
  }

  async commit(files: Record<string, FileChange>, message: string): Promise<string> {
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(this.dir, name);
      await fs.rm(file, { force: true });
      if (content === null) continue;
      await fs.mkdir(path.dirname(file), { recursive: true });
      if (typeof content === 'string') await fs.writeFile(file, content);
      else await fs.symlink(content.symlinkTo, file);
    }
    await this.git('add', '-A');
    await this.git('commit', '-q', '--allow-empty', '-m', message);
    return (await this.git('rev-parse', 'HEAD')).trim();
  }

  async resetTo(commit: string): Promise<void> {
    await this.git('reset', '-q', '--hard', commit);
  }

  /** Runs `git push` and returns its exit code and everything it printed, never throwing; onOutput sees it live. */
  push(remote: string, refspec = 'main', onOutput?: (text: string) => void): Promise<PushResult> {
    return new Promise((resolve) => {
      const child = spawn('git', ['push', remote, refspec], { cwd: this.dir, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
      let output = '';
      const collect = (c: Buffer) => {
        output += c.toString();
        onOutput?.(output);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('close', (code) => resolve({ code: code ?? 1, output }));
    });
  }

  async remove(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

export async function remoteHead(remote: string, branch = 'main'): Promise<string | undefined> {
  const { stdout } = await run('git', ['ls-remote', remote, `refs/heads/${branch}`]);
  return stdout.split(/\s+/)[0] || undefined;
}

/** An app repository from the sample app with `files`, pushed once to `remote`, which must take it. */
export async function pushedApp(remote: string, files: Record<string, FileChange> = {}): Promise<AppRepo> {
  const repo = await AppRepo.create(files);
  const first = await repo.push(remote);
  if (first.code !== 0) {
    await repo.remove();
    throw new Error(`the first push to ${remote} failed:\n${first.output}`);
  }
  return repo;
}
