import type { Writable } from 'node:stream';
import { Transcript } from './transcript.js';

/**
 * What a pusher reads: Heroku/Dokku-style lines. Every line goes to the live sink (the git
 * client, through the pre-receive hook) and is kept so the deploy log can be stored.
 */
export interface LineSink {
  write(line: string): void;
  /** Resolves once the reader has taken what was written: a reader can be slower than a chatty source. */
  drained?(): Promise<void>;
}

export interface Logger {
  section(text: string): void;
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
  /**
   * Resolves once whoever reads these lines has caught up. A source that prints a lot (a build,
   * container output) waits for it before it reads on, so a slow reader never makes berth buffer.
   */
  ready(): Promise<void>;
}

const pendingDrains = new WeakMap<Writable, Promise<void>>();

/** Resolves at once when `stream` takes more, else when it drains or closes; every waiter shares one wait. */
export function drained(stream: Writable): Promise<void> {
  if (!stream.writableNeedDrain || stream.destroyed || stream.writableEnded) return Promise.resolve();
  let pending = pendingDrains.get(stream);
  if (!pending) {
    pending = new Promise<void>((resolve) => {
      const done = () => {
        stream.off('drain', done);
        stream.off('close', done);
        pendingDrains.delete(stream);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
    });
    pendingDrains.set(stream, pending);
  }
  return pending;
}

const PREFIX = {
  section: '-----> ',
  info: '       ',
  warn: ' !     ',
  error: ' !     ',
} as const;

export class DeployOutput implements Logger {
  private readonly transcriptLines = new Transcript();

  /** keepTranscript: false for endless streams (berth logs -f), which nobody stores. */
  constructor(
    private readonly sink?: LineSink,
    private readonly keepTranscript = true,
  ) {}

  section(text: string): void {
    this.write(PREFIX.section, text);
  }
  info(text: string): void {
    this.write(PREFIX.info, text);
  }
  warn(text: string): void {
    this.write(PREFIX.warn, text);
  }
  error(text: string): void {
    this.write(PREFIX.error, text);
  }

  /** A line as it is, without a stage prefix: container output for `berth logs`. */
  raw(text: string): void {
    this.write('', text);
  }

  ready(): Promise<void> {
    return this.sink?.drained?.() ?? Promise.resolve();
  }

  transcript(): string {
    return this.transcriptLines.text();
  }

  private write(prefix: string, text: string): void {
    for (const raw of text.split(/\r?\n/)) {
      const line = prefix + stripControl(raw);
      if (this.keepTranscript) this.transcriptLines.add(line);
      this.sink?.write(line);
    }
  }
}

/** Build and app output can carry terminal escapes; the pusher's terminal should not obey them. */
function stripControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
