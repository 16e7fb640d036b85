import { Readable } from 'node:stream';
import { notAFile, type CommitReader, type NotAFileKind } from '../../src/git/tree.js';

/** A commit entry that is not a file: a directory or a submodule in place of a file berth reads. */
export interface FakeEntry {
  kind: NotAFileKind;
}

/** A commit whose files live in memory; its "archive" is their names and contents as text, which the fake runtime only reads. */
export class FakeCommit implements CommitReader {
  /** The releases this commit was kept as, in order. */
  readonly kept: number[] = [];
  /** Set it to make keep() fail, as a full disk would. */
  keepFailure: Error | undefined;

  constructor(
    readonly commit: string,
    private readonly files: Record<string, string | FakeEntry>,
  ) {}

  async exists(file: string): Promise<boolean> {
    return file in this.files;
  }

  async readFile(file: string, maxBytes: number): Promise<{ content: Buffer; truncated: boolean } | undefined> {
    if (!(file in this.files)) return undefined;
    const entry = this.files[file];
    if (typeof entry !== 'string') throw notAFile(file, entry.kind, this.commit);
    const content = Buffer.from(entry);
    return { content: content.subarray(0, maxBytes), truncated: content.length > maxBytes };
  }

  async treeBytes(): Promise<number> {
    return Object.values(this.files).reduce((sum, content) => sum + (typeof content === 'string' ? Buffer.byteLength(content) : 0), 0);
  }

  archive(): { stream: Readable; done: Promise<void> } {
    const text = Object.entries(this.files).map(([name, content]) => `${name}\n${typeof content === 'string' ? content : content.kind}\n`);
    return { stream: Readable.from(text), done: Promise.resolve() };
  }

  async keep(release: number): Promise<void> {
    if (this.keepFailure) throw this.keepFailure;
    this.kept.push(release);
  }
}
