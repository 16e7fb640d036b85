/** Procfile: `TYPE: command` lines. `web` is the process behind the proxy; others run without it. */
export type Procfile = Record<string, string>;

export const PROCESS_TYPE = /^[a-z][a-z0-9-]{0,29}$/;

export class ProcfileError extends Error {}

export function parseProcfile(text: string): Procfile {
  const processes: Procfile = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const match = /^([^:\s]+)\s*:\s*(.+)$/.exec(line);
    if (!match || !PROCESS_TYPE.test(match[1])) {
      throw new ProcfileError(`Procfile line ${index + 1}: expected "TYPE: command" with TYPE in lower-case letters, digits and hyphens, got ${JSON.stringify(line.slice(0, 80))}`);
    }
    processes[match[1]] = match[2];
  });
  return processes;
}
