import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { BerthError } from '../errors.js';

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
  /**
   * The file's bytes up to maxBytes (undefined when the commit has no such file); `truncated` says
   * it was longer. A directory or submodule of that name throws notAFile: it is a mistake to name,
   * not a missing file.
   */
  readFile(file: string, maxBytes: number): Promise<{ content: Buffer; truncated: boolean } | undefined>;
  /** A tar of the commit's tree; `done` rejects when it could not be written whole. */
  archive(): { stream: Readable; done: Promise<void> };
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
    const mode = await this.entryMode(file);
    if (mode === undefined) return undefined;
    if (mode in NOT_A_FILE_MODES) throw notAFile(file, NOT_A_FILE_MODES[mode], this.commit);
    const { stdout, truncated } = await this.git(['cat-file', 'blob', `${this.commit}:${file}`], maxBytes);
    return { content: stdout, truncated };
  }

  /** The mode of the commit's entry at `file` (100644, 040000, 160000...), undefined when there is none. */
  private async entryMode(file: string): Promise<string | undefined> {
    const { code, stdout } = await this.git(['ls-tree', '-z', this.commit, '--', file], 64 * 1024);
    const entry = code === 0 ? stdout.toString('utf8').split('\0').find((line) => line.endsWith(`\t${file}`)) : undefined;
    return entry?.split(' ')[0];
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
