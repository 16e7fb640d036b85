import type Docker from 'dockerode';
import readline from 'node:readline';
import { PassThrough } from 'node:stream';

type LogStream = NodeJS.ReadableStream & { destroy(): void };

/**
 * A container's output line by line. The engine frames stdout and stderr of a container without a
 * TTY in one stream; dockerode's demuxStream takes the frames apart, for a tail as for a follow.
 */
export async function readLogLines(docker: Docker, id: string, options: { tail: number; follow: boolean; signal?: AbortSignal }, onLine: (line: string) => void): Promise<void> {
  const container = docker.getContainer(id);
  const query = { stdout: true, stderr: true, tail: options.tail };
  // dockerode answers a follow with a stream, and a one-off read with the whole output at once.
  const raw = options.follow ? ((await container.logs({ ...query, follow: true })) as LogStream) : bufferStream((await container.logs({ ...query, follow: false })) as Buffer);
  const text = new PassThrough();
  docker.modem.demuxStream(raw, text, text);
  raw.on('end', () => text.end());
  raw.on('error', () => text.end());
  options.signal?.addEventListener('abort', () => raw.destroy(), { once: true });
  const reader = readline.createInterface({ input: text });
  reader.on('line', onLine);
  await new Promise<void>((resolve) => reader.on('close', resolve));
}

function bufferStream(buffer: Buffer): LogStream {
  const stream = new PassThrough();
  stream.end(buffer);
  return stream;
}
