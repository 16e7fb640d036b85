import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { drained } from '../log/output.js';

/** Past this, a one-off's log keeps no more of its output (the pusher or berth run still sees it all). */
export const ONE_OFF_LOG_MAX_BYTES = 1024 * 1024;
/** The newest logs of each group are kept: a cron job every minute must not fill the disk. */
export const ONE_OFF_LOGS_KEPT = 20;

/** Writes one one-off's output as it comes; `close` resolves once it is on disk. */
export interface OneOffLogWriter {
  line(text: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * What one-off containers printed, for `berth logs APP --run NAME` and `--cron ID` once the
 * container is gone (it is removed when it ends). Layout under the data dir:
 *   apps/APP/one-offs/GROUP/NAME.log    GROUP is `run` or `cron-ID`
 */
export class OneOffLogs {
  constructor(private readonly dataDir: string) {}

  async open(app: string, group: string, name: string): Promise<OneOffLogWriter> {
    const dir = this.groupDir(app, group);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await this.prune(app, group, ONE_OFF_LOGS_KEPT - 1);
    const stream = createWriteStream(path.join(dir, `${name}.log`), { mode: 0o600 });
    let written = 0;
    return {
      line: async (text) => {
        if (written > ONE_OFF_LOG_MAX_BYTES) return;
        written += Buffer.byteLength(text) + 1;
        stream.write(written > ONE_OFF_LOG_MAX_BYTES ? `... (output past ${ONE_OFF_LOG_MAX_BYTES / 1024} KiB is not kept)\n` : `${text}\n`);
        await drained(stream);
      },
      close: () => new Promise<void>((resolve) => stream.end(resolve)),
    };
  }

  /** The log's text, or undefined when there is none of that name. */
  async read(app: string, group: string, name: string): Promise<string | undefined> {
    if (!/^[a-z0-9_-]+$/i.test(name)) return undefined;
    return fs.readFile(path.join(this.groupDir(app, group), `${name}.log`), 'utf8').catch(() => undefined);
  }

  /** The names of the group's logs, oldest first. */
  async list(app: string, group: string): Promise<string[]> {
    const dir = this.groupDir(app, group);
    const files = (await fs.readdir(dir).catch(() => [] as string[])).filter((file) => file.endsWith('.log'));
    const dated = await Promise.all(files.map(async (file) => ({ file, at: (await fs.stat(path.join(dir, file)).catch(() => undefined))?.mtimeMs ?? 0 })));
    return dated.sort((a, b) => a.at - b.at || a.file.localeCompare(b.file)).map(({ file }) => file.replace(/\.log$/, ''));
  }

  private async prune(app: string, group: string, keep: number): Promise<void> {
    const names = await this.list(app, group);
    for (const name of names.slice(0, Math.max(0, names.length - keep))) await fs.rm(path.join(this.groupDir(app, group), `${name}.log`), { force: true });
  }

  private groupDir(app: string, group: string): string {
    return path.join(this.dataDir, 'apps', app, 'one-offs', group);
  }
}
