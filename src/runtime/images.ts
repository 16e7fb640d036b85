import type Docker from 'dockerode';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { isStatus } from './engine.js';
import { describe } from '../errors.js';
import { LineSplitter } from '../log/lines.js';
import { imageRepository, LABEL } from '../model/naming.js';
import type { ImageFile } from './runtime.js';
import { ImageBuildError, type ImageBuild } from './runtime.js';

/** One event of the engine's progress stream (a build's, a push's or a pull's). */
export interface ProgressEvent {
  stream?: string;
  status?: string;
  /** The layer a status is about. */
  id?: string;
  /** A push's result: the digest of the manifest it pushed. */
  aux?: { Digest?: string };
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Output without a newline (a progress bar) is passed on in pieces of this size, so the partial
 * line never grows: joining every event to a growing remainder made such a build quadratic.
 */
const MAX_PARTIAL_CHARS = 8 * 1024;
/** One event of the engine's progress stream; the engine's own are a few KiB, anything longer is no event. */
const MAX_EVENT_BYTES = 1024 * 1024;

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
  const failure = await followBuild(progress, build.onLine);
  if (failure) throw new ImageBuildError('failed', failure);
}

/**
 * dockerode reports most build failures (a failing RUN, a missing COPY source) only inside the
 * progress stream while the call itself succeeds, so the stream is the verdict. It is read one
 * newline-delimited event at a time, each bounded, and nothing is kept once passed on (docker-modem's
 * followProgress kept every event until the build ended); while onLine's reader is behind, the
 * stream waits, so whatever the build prints, berth holds a few events of it.
 */
async function followBuild(progress: NodeJS.ReadableStream, onLine: (line: string) => void | Promise<void>): Promise<string | undefined> {
  let failure: string | undefined;
  let partial = '';
  const readEvents = async (events: AsyncIterable<string>) => {
    for await (const text of events) {
      const event = parseEvent(text);
      if (!event) continue;
      const failed = eventFailure(event);
      if (failed !== undefined) {
        failure = failed;
        continue;
      }
      const split = splitOutput(partial, event.stream ?? (event.status ? `${event.status}\n` : ''));
      partial = split.partial;
      for (const line of split.lines) if (line.trim()) await onLine(line.trimEnd());
    }
  };
  try {
    await pipeline(progress, new LineSplitter(MAX_EVENT_BYTES), readEvents);
  } catch (error) {
    return failure ?? describe(error);
  }
  if (partial.trim()) await onLine(partial.trimEnd());
  return failure;
}

/** What the engine says went wrong in a build, pull or push event; undefined when nothing did. */
export function eventFailure(event: ProgressEvent): string | undefined {
  if (!event.error && !event.errorDetail) return undefined;
  return (event.errorDetail?.message ?? event.error ?? 'unknown error').trim();
}

/** An empty line, or a piece of one that was over MAX_EVENT_BYTES, is no event. */
export function parseEvent(text: string): ProgressEvent | undefined {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as ProgressEvent;
  } catch {
    return undefined;
  }
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

/** The engine's id of the image (sha256:...), which names its content; undefined when there is no such image. */
export async function imageDigest(docker: Docker, tag: string): Promise<string | undefined> {
  return docker.getImage(tag).inspect().then((info) => info.Id, () => undefined);
}

/** Pulls the image from its registry; rejects with the engine's own reason (no such image, no network, no access). */
export async function pullImage(docker: Docker, reference: string, signal: AbortSignal): Promise<void> {
  const progress = await docker.pull(reference, { abortSignal: signal });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(progress, (error: Error | null, events: ProgressEvent[]) => {
      const failed = events?.map(eventFailure).find((why) => why !== undefined);
      if (error || failed !== undefined) reject(error ?? new Error(failed));
      else resolve();
    });
  });
}

/** The first maxBytes of the entry the tar holds (its only one), or what it is when it is no file. */
async function firstEntry(archive: NodeJS.ReadableStream, maxBytes: number): Promise<ImageFile> {
  const extract = tar.extract();
  let found: ImageFile = { kind: 'missing' };
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on('data', (data: unknown) => {
      const chunk = data as Buffer;
      if (bytes < maxBytes) chunks.push(chunk.subarray(0, maxBytes - bytes));
      bytes += chunk.length;
    });
    stream.on('end', () => {
      if (found.kind === 'missing') found = header.type === 'file' ? { kind: 'file', content: Buffer.concat(chunks), truncated: bytes > maxBytes } : { kind: 'other', type: header.type ?? 'unknown' };
      next();
    });
  });
  await pipeline(archive, extract);
  return found;
}

/**
 * One file of an image, read from a container made (never started) from it and removed after;
 * a relative path is under the image's WORKDIR.
 */
export async function readImageFile(docker: Docker, instance: string, image: string, file: string, maxBytes: number): Promise<ImageFile> {
  const workdir = (await docker.getImage(image).inspect()).Config?.WorkingDir || '/';
  const container = await docker.createContainer({ Image: image, Cmd: ['true'], Entrypoint: [], Labels: { [LABEL.instance]: instance }, NetworkDisabled: true });
  try {
    const archive = await container.getArchive({ path: file.startsWith('/') ? file : `${workdir.replace(/\/$/, '')}/${file}` });
    return await firstEntry(archive, maxBytes);
  } catch (error) {
    if (isStatus(error, 404)) return { kind: 'missing' };
    throw error;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
