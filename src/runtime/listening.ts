import fs from 'node:fs/promises';

/** A TCP socket in LISTEN state inside a container's network namespace. */
export interface ListeningSocket {
  address: string;
  port: number;
}

const LISTEN_STATE = '0A';
/** Docker's embedded DNS listens here, on a random port, in every container on a user-defined network. */
const DOCKER_DNS = '127.0.0.11';

/**
 * What listens inside the network namespace of `pid`, read from the host's /proc (so it works
 * for images without a shell or netstat). Undefined when /proc cannot be read (not root, the
 * process is gone): the caller then knows nothing rather than "nothing listens".
 */
export async function listeningSockets(pid: number): Promise<ListeningSocket[] | undefined> {
  if (!pid) return undefined;
  try {
    const tables = await Promise.all(['tcp', 'tcp6'].map((table) => fs.readFile(`/proc/${pid}/net/${table}`, 'utf8')));
    return tables.flatMap(parseProcNetTcp);
  } catch {
    return undefined;
  }
}

/** Rows of /proc/net/tcp or tcp6: `sl local_address rem_address st ...`, addresses as hex. */
export function parseProcNetTcp(table: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const row of table.split('\n').slice(1)) {
    const [, local, , state] = row.trim().split(/\s+/);
    if (state !== LISTEN_STATE || !local?.includes(':')) continue;
    const [hexAddress, hexPort] = local.split(':');
    const address = hexAddress.length === 8 ? ipv4(hexAddress) : ipv6(hexAddress);
    if (address && address !== DOCKER_DNS) sockets.push({ address, port: parseInt(hexPort, 16) });
  }
  return sockets;
}

/** The kernel prints each 32-bit word of the address in host (little-endian) byte order. */
function wordBytes(hexWord: string): number[] {
  return [6, 4, 2, 0].map((offset) => parseInt(hexWord.slice(offset, offset + 2), 16));
}

function ipv4(hex: string): string {
  return wordBytes(hex).join('.');
}

function ipv6(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) return undefined;
  const bytes = [0, 8, 16, 24].flatMap((offset) => wordBytes(hex.slice(offset, offset + 8)));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16));
  // The URL parser writes IPv6 in its canonical short form (zeros compressed).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}
