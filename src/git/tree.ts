import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../errors.js';
import { adoptQuarantinedObjects, gitEnv, type QuarantineEnv } from './quarantine.js';
import { writeReleaseRef } from './release-refs.js';

/**
 * What a deploy reads of one commit: its Dockerfile, Procfile and CHECKS, and its whole tree as
 * the build context. The pipeline sees only this, so its unit tests need no git repository.
 */
export interface CommitReader {
  readonly commit: string;
  exists(file: string): Promise<boolean>;
  /** The file's bytes up to maxBytes (undefined when the commit has no such file); `truncated` says it was longer. */
  readFile(file: string, maxBytes: number): Promise<{ content: Buffer; truncated: boolean } | undefined>;
  /** A tar of the commit's tree; `done` rejects when it could not be written whole. */
  archive(): { stream: Readable; done: Promise<void> };
  /**
   * Keeps the commit in the repository as release N's (refs/berth/releases/N), taking its objects
   * out of git's quarantine while a push's hook runs, so it outlives a push git rejects.
   */
  keep(release: number): Promise<void>;
}

/** The commit a release was made from is not in the repository: every later read of it would find "no such file". */
export class MissingCommitError extends BerthError {
  constructor(app: string, commit: string) {
    super(`${app}'s repository does not have commit ${commit.slice(0, 7)} (${commit}): its files (Dockerfile, Procfile, CHECKS) cannot be read`, `push it again (git push deploy main), then retry`);
    this.name = 'MissingCommitError';
  }
}

/** Read access to one pushed commit of an app's bare repository. */
export class CommitTree implements CommitReader {
  constructor(
    readonly repoDir: string,
    readonly commit: string,
    private readonly quarantine: QuarantineEnv = {},
  ) {}

  private verified: Promise<void> | undefined;

  private env(): NodeJS.ProcessEnv {
    return gitEnv(this.repoDir, this.quarantine);
  }

  /** Once per tree: a missing commit is its own error, never "the commit has no such file". */
  private verifyCommit(): Promise<void> {
    this.verified ??= this.git(['cat-file', '-e', `${this.commit}^{commit}`], 0).then(({ code }) => {
      if (code !== 0) throw new MissingCommitError(path.basename(this.repoDir, '.git'), this.commit);
    });
    return this.verified;
  }

  async exists(file: string): Promise<boolean> {
    await this.verifyCommit();
    const { code } = await this.git(['cat-file', '-e', `${this.commit}:${file}`], 0);
    return code === 0;
  }

  async readFile(file: string, maxBytes: number): Promise<{ content: Buffer; truncated: boolean } | undefined> {
    if (!(await this.exists(file))) return undefined;
    const { code, stdout, stderr, truncated } = await this.git(['cat-file', 'blob', `${this.commit}:${file}`], maxBytes);
    if (code !== 0) throw new Error(`git could not read ${file} of commit ${this.commit.slice(0, 7)}: ${stderr.trim()}`);
    return { content: stdout, truncated };
  }

  async keep(release: number): Promise<void> {
    const quarantine = this.quarantine.GIT_QUARANTINE_PATH;
    if (quarantine) await adoptQuarantinedObjects(quarantine, path.join(this.repoDir, 'objects'));
    else await this.verifyCommit();
    await writeReleaseRef(this.repoDir, release, this.commit);
  }

  archive(): { stream: Readable; done: Promise<void> } {
    const child = spawn('git', ['archive', '--format=tar', this.commit], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git archive ${this.commit} failed: ${stderr.trim()}`))));
    });
    return { stream: child.stdout, done };
  }

  /** stderr is kept only when git fails, which it says in a line or two. */
  private git(args: string[], maxBytes: number): Promise<{ code: number; stdout: Buffer; stderr: string; truncated: boolean }> {
    return new Promise((resolve, reject) => {
      const child = spawn('git', args, { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      child.stdout.on('data', (chunk: Buffer) => {
        if (size >= maxBytes) {
          truncated = truncated || chunk.length > 0;
          return;
        }
        chunks.push(chunk.subarray(0, maxBytes - size));
        truncated = truncated || chunk.length > maxBytes - size;
        size += Math.min(chunk.length, maxBytes - size);
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(chunks), stderr, truncated }));
    });
  }
}

export async function readRef(repoDir: string, ref: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('git', ['rev-parse', '--verify', '--quiet', ref], { env: gitEnv(repoDir), stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? out.trim() : undefined));
  });
}
