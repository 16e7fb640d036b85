import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
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
  /**
   * The file's bytes up to maxBytes (undefined when the commit has no such file); `truncated` says
   * it was longer. A directory or submodule of that name throws notAFile: it is a mistake to name,
   * not a missing file.
   */
  readFile(file: string, maxBytes: number): Promise<{ content: Buffer; truncated: boolean } | undefined>;
  /** A tar of the commit's tree; `done` rejects when it could not be written whole. */
  archive(): { stream: Readable; done: Promise<void> };
  /**
   * Keeps the commit in the repository as release N's (refs/berth/releases/N), taking its objects
   * out of git's quarantine while a push's hook runs, so it outlives a push git rejects.
   */
  keep(release: number): Promise<void>;
  /** The bytes of every file in the commit's tree, as its archive holds them (without the tar's headers). */
  treeBytes(): Promise<number>;
}

/** The commit a release was made from is not in the repository: every later read of it would find "no such file". */
export class MissingCommitError extends BerthError {
  constructor(app: string, commit: string) {
    super(`${app}'s repository does not have commit ${commit.slice(0, 7)} (${commit}): its files (Dockerfile, Procfile, CHECKS) cannot be read`, `push it again (git push deploy main), then retry`);
    this.name = 'MissingCommitError';
  }
}

/** What a tree entry that is not a file is, in words a user knows. */
export type NotAFileKind = 'directory' | 'submodule';

/** Procfile and CHECKS are read as files; a directory or submodule in their place would otherwise count as "no such file". */
export function notAFile(file: string, kind: NotAFileKind, commit: string): BerthError {
  const what = kind === 'directory' ? 'a directory' : 'a git submodule';
  return new BerthError(
    `${file} in commit ${commit.slice(0, 7)} is ${what}, not a file`,
    `berth reads ${file} from a plain file of that name at the top of the repository: ${kind === 'directory' ? 'rename the directory' : 'remove the submodule'}, commit ${file} as a file and push again`,
  );
}

// git ls-tree's modes for a directory (tree) and a submodule (gitlink).
const NOT_A_FILE_MODES: Record<string, NotAFileKind> = { '040000': 'directory', '160000': 'submodule' };

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
    await this.verifyCommit();
    const mode = await this.entryMode(file);
    if (mode === undefined) return undefined;
    if (mode in NOT_A_FILE_MODES) throw notAFile(file, NOT_A_FILE_MODES[mode], this.commit);
    const { code, stdout, stderr, truncated } = await this.git(['cat-file', 'blob', `${this.commit}:${file}`], maxBytes);
    if (code !== 0) throw new Error(`git could not read ${file} of commit ${this.commit.slice(0, 7)}: ${stderr.trim()}`);
    return { content: stdout, truncated };
  }

  /** The mode of the commit's entry at `file` (100644, 040000, 160000...), undefined when there is none. */
  private async entryMode(file: string): Promise<string | undefined> {
    const { code, stdout } = await this.git(['ls-tree', '-z', this.commit, '--', file], 64 * 1024);
    const entry = code === 0 ? stdout.toString('utf8').split('\0').find((line) => line.endsWith(`\t${file}`)) : undefined;
    return entry?.split(' ')[0];
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

  /** Read from git's index of the tree (`ls-tree -l`), so nothing of the content is read or unpacked. */
  async treeBytes(): Promise<number> {
    const child = spawn('git', ['ls-tree', '-r', '-l', this.commit], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? 1));
    });
    let total = 0;
    // `MODE TYPE OBJECT SIZE<TAB>PATH`; a submodule's size is "-".
    for await (const line of readline.createInterface({ input: child.stdout })) total += Number(line.split('\t')[0].split(/\s+/)[3]) || 0;
    if ((await exited) !== 0) throw new Error(`git ls-tree ${this.commit} failed: ${stderr.trim()}`);
    return total;
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
