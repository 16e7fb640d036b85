import { BerthError, throwIfStopped } from '../errors.js';
import type { CommitReader } from '../git/tree.js';
import type { Logger } from '../log/output.js';
import { ImageBuildError, type Runtime } from '../runtime/runtime.js';
import { formatSize } from '../size.js';

export interface BuildRequest {
  runtime: Runtime;
  tree: CommitReader;
  image: string;
  labels: Record<string, string>;
  logger: Logger;
  signal: AbortSignal;
}

const DOCKERFILE = 'Dockerfile';

/** Builds the pushed commit's tree with its Dockerfile; the build's own lines stream to the pusher. */
export async function buildImage(request: BuildRequest): Promise<void> {
  const { tree, logger, signal } = request;
  if (!(await tree.exists(DOCKERFILE))) {
    throw new BerthError(
      `commit ${tree.commit.slice(0, 7)} has no ${DOCKERFILE} at the root of the repository`,
      `berth builds every app from ./${DOCKERFILE}: add one, commit it and push again`,
    );
  }
  const archive = tree.archive();
  // The build's output waits while the pusher is behind, so a build that prints without end costs berth nothing.
  const onLine = (line: string) => {
    logger.info(line);
    return logger.ready();
  };
  try {
    await request.runtime.buildImage({ context: archive.stream, tag: request.image, labels: request.labels, signal, onLine });
  } catch (error) {
    // The archive's own error only matters when the build had none: the engine stops reading it on failure.
    await archive.done.catch(() => undefined);
    throwIfStopped(signal);
    throw buildError(error);
  }
  await archive.done;
  throwIfStopped(signal);
}

/**
 * The build context is the commit's whole tree, which can be far larger than its pack (a file of
 * zeros packs to almost nothing): it is refused, before anything runs, when it is over the limit.
 */
export async function checkContextSize(tree: CommitReader, maxBytes: number): Promise<void> {
  const bytes = await tree.treeBytes();
  if (bytes <= maxBytes) return;
  throw new BerthError(
    `the build context (the files of commit ${tree.commit.slice(0, 7)}) holds ${formatSize(bytes)}, over the limit of ${formatSize(maxBytes)}`,
    'keep large files out of the repository, or ask the operator to raise --max-push-size (BERTH_MAX_PUSH_SIZE)',
  );
}

function buildError(error: unknown): unknown {
  if (!(error instanceof ImageBuildError)) return error;
  if (error.kind === 'refused') return new BerthError(`the Docker engine refused the build: ${error.message}`, `check ${DOCKERFILE} for syntax errors`);
  return new BerthError(`the image build failed: ${error.message}`, 'fix the failing Dockerfile step shown above and push again');
}
