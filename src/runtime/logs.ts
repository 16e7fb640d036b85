import type Docker from 'dockerode';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LineSplitter } from '../log/lines.js';

/** A longer line (output without newlines) is passed on in pieces of this size. */
const MAX_LOG_LINE_BYTES = 64 * 1024;
const FRAME_HEADER_BYTES = 8;
const STREAM_TYPES = new Set([0, 1, 2]);

/**
 * The engine frames stdout and stderr of a container without a TTY in one stream: 8 bytes
 * (stream type, three zeros, payload length) before each payload. This passes the payloads on as
 * they come, in one stream, without waiting for a whole frame; a stream that does not start like a
 * frame (a TTY's) passes as it is. Unlike docker-modem's demuxStream, it keeps back-pressure.
 */
export class DockerFrames extends Transform {
  private header = Buffer.alloc(0);
  private payloadLeft = 0;
  private unframed = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.unframed) {
        this.push(chunk.subarray(offset));
        break;
      }
      if (this.payloadLeft > 0) {
        const length = Math.min(this.payloadLeft, chunk.length - offset);
        this.push(chunk.subarray(offset, offset + length));
        this.payloadLeft -= length;
        offset += length;
        continue;
      }
      const taken = Math.min(FRAME_HEADER_BYTES - this.header.length, chunk.length - offset);
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + taken)]);
      offset += taken;
      if (this.header.length === FRAME_HEADER_BYTES) this.readHeader();
    }
    done();
  }

  private readHeader(): void {
    const header = this.header;
    this.header = Buffer.alloc(0);
    if (STREAM_TYPES.has(header[0]) && header[1] === 0 && header[2] === 0 && header[3] === 0) {
      this.payloadLeft = header.readUInt32BE(4);
      return;
    }
    this.unframed = true;
    this.push(header);
  }
}

/**
 * A container's output line by line, for a tail as for a follow. While the promise `onLine`
 * returns is pending, nothing more is read from the engine: a reader that falls behind (a slow
 * `berth logs -f` client) pauses the engine's stream instead of making berth buffer it.
 */
export async function readLogLines(docker: Docker, id: string, options: { tail: number; follow: boolean; signal?: AbortSignal }, onLine: (line: string) => void | Promise<void>): Promise<void> {
  const container = docker.getContainer(id);
  const query = { stdout: true, stderr: true, tail: options.tail };
  // dockerode answers a follow with a stream, and a one-off read with the whole output at once.
  const raw = options.follow ? ((await container.logs({ ...query, follow: true })) as unknown as Readable) : Readable.from([(await container.logs({ ...query, follow: false })) as Buffer]);
  await forEachOutputLine(raw, onLine, options.signal);
}

/** A container's framed output (logs or an attach) line by line, with back-pressure; resolves when it ends. */
export async function forEachOutputLine(raw: NodeJS.ReadableStream, onLine: (line: string) => void | Promise<void>, signal?: AbortSignal): Promise<void> {
  const readLines = async (lines: AsyncIterable<string>) => {
    for await (const line of lines) await onLine(line);
  };
  try {
    await pipeline(raw, new DockerFrames(), new LineSplitter(MAX_LOG_LINE_BYTES), readLines, { signal });
  } catch {
    // The container went away, the engine closed the stream, or the reader did: the output ends here.
  }
}
