import { spawn } from 'node:child_process';
import readline from 'node:readline';
import type { Readable } from 'node:stream';

/**
 * During pre-receive the pushed objects sit in git's quarantine folder; only these variables
 * make them visible to other git commands, so they travel with every call that reads the commit.
 */
export const QUARANTINE_ENV_KEYS = ['GIT_QUARANTINE_PATH', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES'] as const;

export type QuarantineEnv = Partial<Record<(typeof QUARANTINE_ENV_KEYS)[number], string>>;

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
  /** The bytes of every file in the commit's tree, as its archive holds them (without the tar's headers). */
  treeBytes(): Promise<number>;
}

/** Read access to one pushed commit of an app's bare repository. */
export class CommitTree implements CommitReader {
  constructor(
    readonly repoDir: string,
    readonly commit: string,
    private readonly quarantine: QuarantineEnv = {},
  ) {}

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_DIR: this.repoDir };
    for (const key of QUARANTINE_ENV_KEYS) {
      if (this.quarantine[key]) env[key] = this.quarantine[key];
      else delete env[key];
    }
    return env;
  }

  async exists(file: string): Promise<boolean> {
    const { code } = await this.git(['cat-file', '-e', `${this.commit}:${file}`], 0);
    return code === 0;
  }

  async readFile(file: string, maxBytes: number): Promise<{ content: Buffer; truncated: boolean } | undefined> {
    if (!(await this.exists(file))) return undefined;
    const { stdout, truncated } = await this.git(['cat-file', 'blob', `${this.commit}:${file}`], maxBytes);
    return { content: stdout, truncated };
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

  private git(args: string[], maxBytes: number): Promise<{ code: number; stdout: Buffer; truncated: boolean }> {
    return new Promise((resolve, reject) => {
      const child = spawn('git', args, { env: this.env(), stdio: ['ignore', 'pipe', 'ignore'] });
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
      child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(chunks), truncated }));
    });
  }
}

export async function readRef(repoDir: string, ref: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('git', ['rev-parse', '--verify', '--quiet', ref], { env: { ...process.env, GIT_DIR: repoDir }, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? out.trim() : undefined));
  });
}
