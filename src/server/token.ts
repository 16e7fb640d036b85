import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tokenFile } from '../model/local-server.js';
import { writeFileAtomic } from '../store/atomic.js';

/** BERTH_TOKEN when given; otherwise one generated at first start and kept 0600 under the data dir. */
export async function loadOrCreateToken(dataDir: string, given: string | undefined): Promise<{ token: string; file: string | undefined }> {
  if (given) return { token: given, file: undefined };
  const file = tokenFile(dataDir);
  try {
    const stored = (await fs.readFile(file, 'utf8')).trim();
    await fs.chmod(file, 0o600);
    if (stored) return { token: stored, file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = crypto.randomBytes(24).toString('base64url');
  await writeFileAtomic(file, token + '\n', 0o600);
  return { token, file };
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
