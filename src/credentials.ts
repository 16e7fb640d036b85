/**
 * The token, as berth serve and the berth client both take it: from the environment or a file,
 * never from the command line, where every local user reads it in `ps` and the shell keeps it in
 * its history.
 */
import fs from 'node:fs';
import { describe, UsageError } from './errors.js';

const TOKEN = /^[\x21-\x7e]{16,256}$/;
export const TOKEN_RULE = '16 to 256 printable characters without spaces';

/** For readCommandLine's `refused`: `--token` is answered with what to use instead. */
export const TOKEN_FLAG_REFUSED = {
  name: 'token',
  message: 'berth does not take the token on the command line, where every local user can read it (ps) and the shell keeps it in its history: set BERTH_TOKEN, or put the token in a file (chmod 600) and pass --token-file FILE',
};

/** The token, or a UsageError naming where it came from and the rule. */
export function checkToken(token: string, from: string): string {
  if (!TOKEN.test(token)) throw new UsageError(`the token in ${from} must be ${TOKEN_RULE}`);
  return token;
}

/** The first line of `file`, checked; an unreadable file is a UsageError that names it. */
export function readTokenFile(file: string, flag = '--token-file'): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the token file ${file} (${flag}): ${describe(error)}`);
  }
  return checkToken(text.split('\n')[0].trim(), file);
}

/** Enough of the token to tell which one it is, too little to use it. */
export function maskToken(token: string): string {
  return `${token.slice(0, 4)}${'*'.repeat(8)}`;
}
