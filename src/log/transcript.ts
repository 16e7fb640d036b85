/** How much of one deploy's output berth keeps (in memory, then as its deploy log). */
export const DEPLOY_LOG_MAX_BYTES = 512 * 1024;
/** A single line longer than this (a minified file echoed by a build) is kept cut. */
const MAX_LINE_CHARS = 8 * 1024;
/** The tail array is compacted once this many dropped lines sit at its front. */
const COMPACT_AFTER = 1024;

/**
 * The lines a pusher read, bounded: the first half of the cap keeps the head of the output, the
 * second half its newest lines, so a runaway build log costs berth no more than the cap and the
 * stored log still shows how the deploy began and how it ended.
 */
export class Transcript {
  private readonly head: string[] = [];
  private headBytes = 0;
  private tail: string[] = [];
  private tailStart = 0;
  private tailBytes = 0;
  private dropped = 0;

  constructor(private readonly maxBytes = DEPLOY_LOG_MAX_BYTES) {}

  add(text: string): void {
    const line = text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)} [... line cut ...]` : text;
    const bytes = Buffer.byteLength(line) + 1;
    const half = this.maxBytes / 2;
    if (this.tail.length === 0 && this.headBytes + bytes <= half) {
      this.head.push(line);
      this.headBytes += bytes;
      return;
    }
    this.tail.push(line);
    this.tailBytes += bytes;
    while (this.tailBytes > half && this.tail.length - this.tailStart > 1) {
      this.tailBytes -= Buffer.byteLength(this.tail[this.tailStart]) + 1;
      this.tailStart++;
      this.dropped++;
    }
    if (this.tailStart > COMPACT_AFTER && this.tailStart * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailStart);
      this.tailStart = 0;
    }
  }

  text(): string {
    const tail = this.tail.slice(this.tailStart);
    const gap = this.dropped ? [`[... ${this.dropped} line(s) left out: a deploy log keeps its first and last ${this.maxBytes / 2 / 1024} KiB ...]`] : [];
    const lines = [...this.head, ...gap, ...tail];
    return lines.length ? lines.join('\n') + '\n' : '';
  }
}
