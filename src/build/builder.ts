import type Docker from 'dockerode';
import { BerthError, describe, throwIfStopped } from '../errors.js';
import type { PushedTree } from '../git/tree.js';
import type { Logger } from '../log/output.js';

export interface BuildRequest {
  docker: Docker;
  tree: PushedTree;
  image: string;
  labels: Record<string, string>;
  logger: Logger;
  signal: AbortSignal;
}

interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

const DOCKERFILE = 'Dockerfile';
const TAIL_LINES = 15;
/**
 * Output without a newline (a progress bar) is passed on in pieces of this size, so the partial
 * line never grows: joining every event to a growing remainder made such a build quadratic.
 */
const MAX_PARTIAL_CHARS = 8 * 1024;

/** Builds the pushed commit's tree with its Dockerfile; the build's own lines stream to the pusher. */
export async function buildImage(request: BuildRequest): Promise<void> {
  const { tree, logger } = request;
  if (!(await tree.exists(DOCKERFILE))) {
    throw new BerthError(
      `commit ${tree.commit.slice(0, 7)} has no ${DOCKERFILE} at the root of the repository`,
      `berth builds every app from ./${DOCKERFILE}: add one, commit it and push again`,
    );
  }
  const archive = tree.archive();
  let progress: NodeJS.ReadableStream;
  try {
    progress = await request.docker.buildImage(archive.stream as unknown as NodeJS.ReadableStream, {
      t: request.image,
      labels: request.labels,
      rm: true,
      forcerm: true,
      abortSignal: request.signal,
    });
  } catch (error) {
    archive.stream.destroy();
    throwIfStopped(request.signal);
    throw new BerthError(`the Docker engine refused the build: ${describe(error)}`, `check ${DOCKERFILE} for syntax errors`);
  }
  const recent: string[] = [];
  const failure = await followBuild(request.docker, progress, (line) => {
    logger.info(line);
    recent.push(line);
    if (recent.length > TAIL_LINES) recent.shift();
  });
  await archive.done.catch((error: unknown) => {
    if (!failure) throw error;
  });
  throwIfStopped(request.signal);
  if (failure) {
    throw new BerthError(`the image build failed: ${failure}`, 'fix the failing Dockerfile step shown above and push again');
  }
}

/**
 * dockerode reports most build failures (a failing RUN, a missing COPY source) only inside the
 * progress stream while the call itself succeeds, so the stream is the verdict.
 */
function followBuild(docker: Docker, progress: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<string | undefined> {
  let failure: string | undefined;
  let partial = '';
  return new Promise((resolve) => {
    docker.modem.followProgress(
      progress,
      (error: Error | null) => {
        if (partial.trim()) onLine(partial.trimEnd());
        resolve(failure ?? (error ? describe(error) : undefined));
      },
      (event: ProgressEvent) => {
        if (event.error || event.errorDetail) {
          failure = (event.errorDetail?.message ?? event.error ?? 'unknown error').trim();
          return;
        }
        const split = splitOutput(partial, event.stream ?? (event.status ? `${event.status}\n` : ''));
        partial = split.partial;
        for (const line of split.lines) if (line.trim()) onLine(line.trimEnd());
      },
    );
  });
}

/** The whole lines of `partial + chunk`, and the rest; a rest longer than MAX_PARTIAL_CHARS counts as a line. */
export function splitOutput(partial: string, chunk: string): { lines: string[]; partial: string } {
  const lines = (partial + chunk).split('\n');
  const rest = lines.pop() ?? '';
  return rest.length > MAX_PARTIAL_CHARS ? { lines: [...lines, rest], partial: '' } : { lines, partial: rest };
}
