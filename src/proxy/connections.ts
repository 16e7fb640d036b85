import fs from 'node:fs/promises';

const ESTABLISHED = '01';

/** /proc/net/tcp writes an IPv4 address as 8 hex digits in host (little-endian) byte order. */
function encodeAddress(ip: string, port: number): string {
  const hexIp = ip
    .split('.')
    .map((octet) => Number(octet).toString(16).padStart(2, '0'))
    .reverse()
    .join('')
    .toUpperCase();
  return `${hexIp}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** Open TCP connections from this host (the edge nginx, in practice) to a container. */
export async function establishedConnectionsTo(ip: string, port: number): Promise<number> {
  const table = await fs.readFile('/proc/net/tcp', 'utf8');
  const target = encodeAddress(ip, port);
  let count = 0;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[2] === target && fields[3] === ESTABLISHED) count++;
  }
  return count;
}
