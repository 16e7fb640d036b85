import fs from 'node:fs/promises';
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { BerthError } from '../errors.js';
import type { ContainerMount } from '../model/storage.js';
import { isStatus } from './engine.js';

/**
 * Bind mounts as structured mounts rather than `Binds` strings: the engine then refuses a source
 * that does not exist instead of making an empty root-owned folder in its place, so a host
 * directory that went missing fails the start stage, and no release runs on an empty one.
 */
export function dockerMounts(mounts: ContainerMount[]): Docker.MountSettings[] {
  return mounts.map((mount) => ({ Type: 'bind', Source: mount.hostPath, Target: mount.containerPath, ReadOnly: mount.readOnly }));
}

/** berth's own directories exist before the engine is asked for the container; only berth's user can enter them until handOver. */
export async function makeManagedDirs(mounts: ContainerMount[]): Promise<void> {
  for (const mount of mounts.filter((m) => m.managed)) await fs.mkdir(mount.hostPath, { recursive: true, mode: 0o700 });
}

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Gives each managed directory (itself, not what it holds) to the user the container runs as, so
 * an image with `USER node` or `USER 1000` can write to it; a root container writes anyway and
 * changes nothing. The user comes from the created container: the image's USER, resolved through
 * the image's own /etc/passwd and /etc/group when it is a name.
 */
export async function handOverManagedDirs(container: Docker.Container, mounts: ContainerMount[]): Promise<void> {
  const managed = mounts.filter((m) => m.managed);
  if (!managed.length) return;
  const user = (await container.inspect()).Config.User ?? '';
  const owner = await resolveUser(user, (file) => readContainerFile(container, file));
  if (owner.uid === 0) return;
  for (const mount of managed) {
    const stat = await fs.stat(mount.hostPath);
    if (stat.uid !== owner.uid || stat.gid !== owner.gid) await handOver(mount.hostPath, owner, user);
  }
}

async function handOver(dir: string, owner: Owner, user: string): Promise<void> {
  try {
    await fs.chown(dir, owner.uid, owner.gid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    throw new BerthError(`berth may not give ${dir} to uid ${owner.uid} (the image's user "${user}"): only root can change a folder's owner`, `run berth as root, or give it yourself once: chown ${owner.uid}:${owner.gid} ${dir}`);
  }
}

const NUMBER = /^\d+$/;

/** Docker's USER forms: empty (root), `name`, `uid`, with `:group` or `:gid`. */
export async function resolveUser(user: string, readFile: (file: string) => Promise<string | undefined>): Promise<Owner> {
  if (!user) return { uid: 0, gid: 0 };
  const [name, group] = user.split(':', 2);
  const entry = NUMBER.test(name) ? undefined : findEntry(await readFile('/etc/passwd'), name);
  if (!NUMBER.test(name) && !entry) throw new BerthError(`the image runs as user "${name}", which its /etc/passwd does not name`, 'add the user in the Dockerfile (or give USER as a number), then push again');
  const uid = entry ? Number(entry[2]) : Number(name);
  if (group === undefined) return { uid, gid: entry ? Number(entry[3]) : uid };
  if (NUMBER.test(group)) return { uid, gid: Number(group) };
  const groupEntry = findEntry(await readFile('/etc/group'), group);
  if (!groupEntry) throw new BerthError(`the image runs as group "${group}", which its /etc/group does not name`, 'add the group in the Dockerfile (or give it as a number), then push again');
  return { uid, gid: Number(groupEntry[2]) };
}

/** The `name:x:id:...` line of a passwd or group file, split at its colons. */
function findEntry(file: string | undefined, name: string): string[] | undefined {
  return file
    ?.split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === name && fields.length >= 3 && NUMBER.test(fields[2]));
}

const MAX_ACCOUNT_FILE_BYTES = 1024 * 1024;

/** One small file of a container's filesystem (it need not run), through the engine's archive; undefined when missing. */
async function readContainerFile(container: Docker.Container, file: string): Promise<string | undefined> {
  let archive: NodeJS.ReadableStream;
  try {
    archive = await container.getArchive({ path: file });
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
  const unpack = extract();
  archive.pipe(unpack);
  try {
    for await (const entry of unpack) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size <= MAX_ACCOUNT_FILE_BYTES) chunks.push(chunk);
      }
      return Buffer.concat(chunks).toString('utf8');
    }
    return undefined;
  } finally {
    (archive as NodeJS.ReadableStream & { destroy?(): void }).destroy?.();
  }
}
