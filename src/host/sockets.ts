import fs from 'node:fs/promises';

const TCP_LISTEN = '0A';
/** __SO_ACCEPTCON in /proc/net/unix's Flags: the socket listens. */
const UNIX_LISTENING = 0x10000;

/**
 * The host's listening sockets by inode, as `tcp:PORT` or `unix:PATH`, from /proc/net. A process's
 * `socket:[INODE]` file descriptors say which of them it holds.
 */
export async function listeningSockets(): Promise<Map<number, string>> {
  const listening = new Map<number, string>();
  for (const table of ['tcp', 'tcp6']) {
    for (const fields of await rows(`/proc/net/${table}`)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (fields[3] === TCP_LISTEN) listening.set(Number(fields[9]), `tcp:${parseInt(fields[1].split(':')[1], 16)}`);
    }
  }
  for (const fields of await rows('/proc/net/unix')) {
    // Num RefCount Protocol Flags Type St Inode Path
    if (parseInt(fields[3], 16) & UNIX_LISTENING && fields[7]) listening.set(Number(fields[6]), `unix:${fields[7]}`);
  }
  return listening;
}

async function rows(file: string): Promise<string[][]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(1).map((line) => line.trim().split(/\s+/)).filter((fields) => fields.length > 1);
}
