import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { maskToken, readTokenFile } from '../credentials.js';
import { tokenFile as storedTokenFile } from '../model/local-server.js';
import { writeFileAtomic } from '../store/atomic.js';

/** Where the token came from, which says what berth may print of it. */
export type TokenOrigin = 'environment' | 'file' | 'stored' | 'generated';

export interface ServeToken {
  token: string;
  origin: TokenOrigin;
  /** The file that holds it, unless it came from the environment. */
  file: string | undefined;
}

/**
 * BERTH_TOKEN when given, else the --token-file; otherwise the one berth generated at its first
 * start and keeps 0600 under the data dir.
 */
export async function loadOrCreateToken(dataDir: string, given: string | undefined, tokenFile?: string): Promise<ServeToken> {
  if (given) return { token: given, origin: 'environment', file: undefined };
  if (tokenFile) return { token: readTokenFile(tokenFile), origin: 'file', file: tokenFile };
  const file = storedTokenFile(dataDir);
  try {
    const stored = (await fs.readFile(file, 'utf8')).trim();
    await fs.chmod(file, 0o600);
    if (stored) return { token: stored, origin: 'stored', file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = crypto.randomBytes(24).toString('base64url');
  await writeFileAtomic(file, token + '\n', 0o600);
  return { token, origin: 'generated', file };
}

/**
 * What berth prints at start: the token in full only when it was just generated (nobody has it
 * yet); after that, what berth serve prints ends up in journald and logs, so it is masked, with
 * where to read it.
 */
export function announceToken({ token, origin, file }: ServeToken, pushUrl: (token: string) => string): string[] {
  if (origin === 'generated') {
    return [`push with: git remote add deploy ${pushUrl(token)}`, `token generated and stored in ${file} (0600); this is the only time berth prints it in full`];
  }
  const where = origin === 'environment' ? 'the one in BERTH_TOKEN' : `in ${file}`;
  return [`push with: git remote add deploy ${pushUrl(maskToken(token))} (the token is ${where})`];
}

/** HTTP Basic with any user name and the token as password; compared in constant time. */
export function requestHasToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const offered = crypto.createHash('sha256').update(decoded.slice(colon + 1)).digest();
  const expected = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(offered, expected);
}
