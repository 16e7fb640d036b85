import { BerthError } from '../errors.js';
import type { CommitReader } from '../git/tree.js';
import { isValidProcessType, PROCESS_TYPE_RULE } from '../model/app.js';

const PROCFILE = 'Procfile';
const PROCFILE_MAX_BYTES = 64 * 1024;

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

/** The commit's Procfile, {} when it has none; one that does not parse fails the deploy, naming the line. */
export async function readProcfile(tree: Pick<CommitReader, 'readFile'>): Promise<Procfile> {
  const file = await tree.readFile(PROCFILE, PROCFILE_MAX_BYTES);
  if (!file) return {};
  try {
    return parseProcfile(file.content.toString('utf8'));
  } catch (error) {
    if (error instanceof ProcfileError) throw new BerthError(error.message, 'fix the Procfile and push again');
    throw error;
  }
}
