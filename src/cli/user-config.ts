/**
 * What `berth login` remembers for the user, in $XDG_CONFIG_HOME/berth (~/.config/berth): the
 * default server, and per server the fingerprint pinned for it and the token given, so the
 * commands after need nothing set. The folder is 0700 and the file 0600: it may hold tokens.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, UsageError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';

export interface SavedServer {
  /** The SHA-256 fingerprint its certificate must have; absent when a CA vouches for it. */
  fingerprint?: string;
  token?: string;
}

export interface UserConfig {
  /** The server commands talk to without --url or BERTH_URL: the last one logged in to. */
  url?: string;
  /** By URL (scheme, host and port, as normalizeUrl writes it). */
  servers: Record<string, SavedServer>;
}

export function userConfigDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config'), 'berth');
}

export function userConfigFile(env: NodeJS.ProcessEnv): string {
  return path.join(userConfigDir(env), 'config.json');
}

/** Where login saves a server's pinned certificate, for git's http.sslCAInfo. */
export function savedCertificateFile(env: NodeJS.ProcessEnv, url: string): string {
  const { hostname, port } = new URL(url);
  return path.join(userConfigDir(env), 'certs', `${`${hostname}_${port || 443}`.replace(/[^A-Za-z0-9.-]/g, '_')}.pem`);
}

export function readUserConfig(env: NodeJS.ProcessEnv): UserConfig {
  const file = userConfigFile(env);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { servers: {} };
    throw new UsageError(`cannot read berth's config ${file}: ${describe(error)}`);
  }
  try {
    const parsed = JSON.parse(text) as Partial<UserConfig>;
    return { url: typeof parsed.url === 'string' ? parsed.url : undefined, servers: typeof parsed.servers === 'object' && parsed.servers !== null ? parsed.servers : {} };
  } catch (error) {
    throw new UsageError(`berth's config ${file} is not JSON (${describe(error)})`, 'fix it, or remove it and run berth login again');
  }
}

/** Makes `url` the default server, remembered with what login found out about it. */
export async function saveServer(env: NodeJS.ProcessEnv, url: string, server: SavedServer): Promise<string> {
  const config: UserConfig = { url, servers: { ...readUserConfig(env).servers, [url]: server } };
  const file = userConfigFile(env);
  await writeFileAtomic(file, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  return file;
}
