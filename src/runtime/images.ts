import type Docker from 'dockerode';
import { describe } from '../errors.js';
import { imageRepository, LABEL } from '../model/naming.js';
import { ImageBuildError, type ImageBuild } from './runtime.js';

interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Output without a newline (a progress bar) is passed on in pieces of this size, so the partial
 * line never grows: joining every event to a growing remainder made such a build quadratic.
 */
const MAX_PARTIAL_CHARS = 8 * 1024;

export async function buildImage(docker: Docker, build: ImageBuild): Promise<void> {
  let progress: NodeJS.ReadableStream;
  try {
    // tar streams are Readables; dockerode's types ask for the older stream interface.
    progress = await docker.buildImage(build.context as unknown as NodeJS.ReadableStream, {
      t: build.tag,
      labels: build.labels,
      rm: true,
      forcerm: true,
      abortSignal: build.signal,
    });
  } catch (error) {
    build.context.destroy();
    throw new ImageBuildError('refused', describe(error));
  }
  const failure = await followBuild(docker, progress, build.onLine);
  if (failure) throw new ImageBuildError('failed', failure);
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

export async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  return docker.getImage(tag).inspect().then(() => true, () => false);
}

export async function removeImage(docker: Docker, tag: string): Promise<void> {
  await docker.getImage(tag).remove({ force: false });
}

function listAppImages(docker: Docker, instance: string, app: string): Promise<Docker.ImageInfo[]> {
  return docker.listImages({ filters: { label: [`${LABEL.instance}=${instance}`, `${LABEL.app}=${app}`] } });
}

/** A cached rebuild gives two releases the same image id, so images are told apart by tag. */
export async function appImageTags(docker: Docker, instance: string, app: string): Promise<string[]> {
  const repository = `${imageRepository(instance, app)}:`;
  return (await listAppImages(docker, instance, app)).flatMap((image) => image.RepoTags ?? []).filter((tag) => tag.startsWith(repository));
}

export async function removeAppImages(docker: Docker, instance: string, app: string): Promise<number> {
  const images = await listAppImages(docker, instance, app);
  for (const image of images) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  return images.length;
}
