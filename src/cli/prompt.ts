/** Questions the client asks on a terminal (and never elsewhere: a script gets a usage error naming the flag instead). */
import readline from 'node:readline/promises';
import { CliError, EXIT } from './exit.js';

/** The answer, trimmed; Ctrl-C is a CliError that says `cancelled` what did not happen. */
export async function askOnTerminal(question: string, cancelled: string): Promise<string> {
  const prompt = readline.createInterface({ input: process.stdin, output: process.stderr });
  const cancel = new AbortController();
  prompt.once('SIGINT', () => cancel.abort());
  try {
    return (await prompt.question(question, { signal: cancel.signal })).trim();
  } catch (error) {
    if (cancel.signal.aborted) throw new CliError(`cancelled: ${cancelled}`, EXIT.failed);
    throw error;
  } finally {
    prompt.close();
  }
}
