import { Transform, type TransformCallback } from 'node:stream';

const NEWLINE = 0x0a;

/**
 * A byte stream as lines (strings, without `\n` or a trailing `\r`). A line longer than maxBytes
 * comes out in pieces of maxBytes, so what is held never grows past one piece whatever the source
 * prints (output without newlines included), and as a stream it passes back-pressure on: when
 * nobody reads the lines, the source is paused instead of buffered.
 */
export class LineSplitter extends Transform {
  private parts: Buffer[] = [];
  private held = 0;

  constructor(private readonly maxBytes: number) {
    super({ readableObjectMode: true, readableHighWaterMark: 4 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      const room = this.maxBytes - this.held;
      if (end - start > room) {
        this.hold(chunk.subarray(start, start + room));
        this.pushLine();
        start += room;
        continue;
      }
      this.hold(chunk.subarray(start, end));
      if (newline === -1) break;
      this.pushLine();
      start = newline + 1;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.held > 0) this.pushLine();
    done();
  }

  private hold(part: Buffer): void {
    if (part.length === 0) return;
    this.parts.push(part);
    this.held += part.length;
  }

  private pushLine(): void {
    const text = Buffer.concat(this.parts, this.held).toString('utf8');
    this.parts = [];
    this.held = 0;
    this.push(text.endsWith('\r') ? text.slice(0, -1) : text);
  }
}
