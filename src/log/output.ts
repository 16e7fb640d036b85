import { Transcript } from './transcript.js';

/**
 * What a pusher reads: Heroku/Dokku-style lines. Every line goes to the live sink (the git
 * client, through the pre-receive hook) and is kept so the deploy log can be stored.
 */
export type LineSink = (line: string) => void;

export interface Logger {
  section(text: string): void;
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
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

  transcript(): string {
    return this.transcriptLines.text();
  }

  private write(prefix: string, text: string): void {
    for (const raw of text.split(/\r?\n/)) {
      const line = prefix + stripControl(raw);
      if (this.keepTranscript) this.transcriptLines.add(line);
      this.sink?.(line);
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
