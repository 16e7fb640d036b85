import { Readable } from 'node:stream';
import { CommitTree, type CommitReader } from '../git/tree.js';
import type { Store } from '../store/store.js';

/**
 * What a release deployed from an image (deploy:image) has instead of a commit: no files. It runs
 * the image's own command (no Procfile), is checked by staying up for --settle seconds (no
 * CHECKS), and has no app.json; its release record has an empty commit.
 */
export class NoFiles implements CommitReader {
  readonly commit = '';

  async exists(): Promise<boolean> {
    return false;
  }

  async readFile(): Promise<undefined> {
    return undefined;
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

/** The files of a release that served: its commit's, or none for a release deployed from an image. */
export function releaseFiles(store: Store, app: string, release: { commit: string }): CommitReader {
  return release.commit ? new CommitTree(store.repoDir(app), release.commit) : new NoFiles();
}
