import { Readable } from 'node:stream';
import type { CommitReader } from '../../src/git/tree.js';

/** A commit whose files live in memory; its "archive" is their names and contents as text, which the fake runtime only reads. */
export class FakeCommit implements CommitReader {
  constructor(
    readonly commit: string,
    private readonly files: Record<string, string>,
  ) {}

  async exists(file: string): Promise<boolean> {
    return file in this.files;
  }

  async readFile(file: string, maxBytes: number): Promise<{ content: Buffer; truncated: boolean } | undefined> {
    if (!(file in this.files)) return undefined;
    const content = Buffer.from(this.files[file]);
    return { content: content.subarray(0, maxBytes), truncated: content.length > maxBytes };
  }

  async treeBytes(): Promise<number> {
    return Object.values(this.files).reduce((sum, content) => sum + Buffer.byteLength(content), 0);
  }

  archive(): { stream: Readable; done: Promise<void> } {
    const text = Object.entries(this.files).map(([name, content]) => `${name}\n${content}\n`);
    return { stream: Readable.from(text), done: Promise.resolve() };
  }
}
