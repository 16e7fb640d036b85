import { Readable } from 'node:stream';
import { BerthError } from '../errors.js';
import { CommitTree, type CommitReader } from '../git/tree.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';

/**
 * What a release deployed from an image (deploy:image) has instead of a commit: the Procfile,
 * CHECKS and app.json in the image's working directory (WORKDIR, else /), as Dokku's
 * git:from-image reads them. The image is never built from, so it has no tree to archive;
 * its release record has an empty commit.
 */
export class ImageFiles implements CommitReader {
  readonly commit = '';
  /** Each read copies the file out of a container made from the image; the stages of one deploy read the same files. */
  private readonly reads = new Map<string, Promise<{ content: Buffer; truncated: boolean } | undefined>>();

  constructor(
    private readonly runtime: Runtime,
    private readonly image: string,
  ) {}

  async exists(file: string): Promise<boolean> {
    return (await this.runtime.readImageFile(this.image, file, 0)).kind !== 'missing';
  }

  readFile(file: string, maxBytes: number): Promise<{ content: Buffer; truncated: boolean } | undefined> {
    const key = `${maxBytes} ${file}`;
    if (!this.reads.has(key)) this.reads.set(key, this.read(file, maxBytes));
    return this.reads.get(key)!;
  }

  private async read(file: string, maxBytes: number): Promise<{ content: Buffer; truncated: boolean } | undefined> {
    const found = await this.runtime.readImageFile(this.image, file, maxBytes);
    if (found.kind === 'missing') return undefined;
    if (found.kind === 'other') throw new BerthError(`${file} in the image ${this.image} is a ${found.type}, not a file`, `berth reads ${file} from a plain file in the image's working directory: fix the image and deploy it again`);
    return { content: found.content, truncated: found.truncated };
  }

  archive(): { stream: Readable; done: Promise<void> } {
    return { stream: Readable.from([]), done: Promise.resolve() };
  }

  /** Nothing to keep: the image itself is the release, kept as INSTANCE/APP:RELEASE. */
  async keep(): Promise<void> {}

  async treeBytes(): Promise<number> {
    return 0;
  }
}

/** The files of a release: its commit's, or its image's for a release deployed from an image. */
export function releaseFiles(store: Store, runtime: Runtime, app: string, release: { commit: string; image: string }): CommitReader {
  return release.commit ? new CommitTree(store.repoDir(app), release.commit) : new ImageFiles(runtime, release.image);
}
