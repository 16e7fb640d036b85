import { isValidProcessType, PROCESS_TYPE_RULE } from '../model/app.js';

/** Procfile: `TYPE: command` lines. `web` is the process behind the proxy; others run without it. */
export type Procfile = Record<string, string>;

export class ProcfileError extends Error {}

export function parseProcfile(text: string): Procfile {
  const processes: Procfile = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const match = /^([^:\s]+)\s*:\s*(.+)$/.exec(line);
    if (!match || !isValidProcessType(match[1])) {
      throw new ProcfileError(`Procfile line ${index + 1}: expected "TYPE: command" with TYPE in ${PROCESS_TYPE_RULE}, got ${JSON.stringify(line.slice(0, 80))}`);
    }
    processes[match[1]] = match[2];
  });
  return processes;
}
