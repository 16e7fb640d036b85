/**
 * Persistent storage: directories mounted into an app's containers, either berth-managed ones
 * (`DATA_DIR/storage/APP/NAME`, made on first use) or host directories the operator names. The
 * CLI reads `SOURCE:/path[:ro]` with these rules and the server checks them again (and what only
 * it can see: where the path really leads), so both refuse the same input with the same words.
 */
import path from 'node:path';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import { isValidProcessType, PROCESS_TYPE_RULE } from './app.js';

/** One mount as storage:mount stored it. */
export interface StorageMount {
  /** A managed directory's NAME, or an absolute host path (it starts with `/`). */
  source: string;
  /** Where the container sees it. */
  containerPath: string;
  readOnly: boolean;
  /** Only the containers of this process type; null: every process type. */
  process: string | null;
}

/** A mount as a container gets it: the host side resolved. */
export interface ContainerMount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
  /** berth's own directory: made when missing and handed to the container's user. */
  managed: boolean;
}

/** Under the data dir: one folder per app, one per NAME in it. */
export const STORAGE_DIR = 'storage';

const STORAGE_NAME = /^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$/;
export const STORAGE_NAME_RULE = 'lower-case letters, digits, hyphens and underscores, starting and ending with a letter or digit, at most 63 characters';
const MAX_PATH_LENGTH = 1024;

/** The host's kernel interfaces: a container that mounts them can reach past its fence. */
const KERNEL_PATHS = ['/proc', '/sys', '/dev'];
/** Where Docker's socket lives (`/var/run` links to `/run`); whoever holds it is root on the host. */
export const DOCKER_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock'];

export function isManagedSource(source: string): boolean {
  return !source.startsWith('/');
}

export function appStorageDir(dataDir: string, app: string): string {
  return path.join(dataDir, STORAGE_DIR, app);
}

export function managedStorageDir(dataDir: string, app: string, name: string): string {
  return path.join(appStorageDir(dataDir, app), name);
}

/** Where a mount's files are on the host: a managed NAME's folder, or the host path itself. */
export function storageHostPath(dataDir: string, app: string, source: string): string {
  return isManagedSource(source) ? managedStorageDir(dataDir, app, source) : source;
}

export function checkStorageName(name: string): string {
  if (!STORAGE_NAME.test(name)) throw new InputError(`"${name}" is not a storage name (${STORAGE_NAME_RULE})`, 'a name mounts DATA_DIR/storage/APP/NAME; give a host directory as an absolute path like /srv/uploads');
  return name;
}

/** An absolute path written plainly: no `.` or `..` parts, no doubled or trailing slash, nothing unprintable. */
function checkPlainPath(text: string, what: string): string {
  if (!text.startsWith('/')) throw new InputError(`${what} "${text}" is not an absolute path`, 'start it with /');
  if (text.length > MAX_PATH_LENGTH || /[\0-\x1f\x7f:,]/.test(text)) throw new InputError(`${what} "${text}" holds a colon, a comma or a control character, or is longer than ${MAX_PATH_LENGTH} characters`);
  const parts = text.split('/').slice(1);
  if (parts.includes('..') || parts.includes('.')) throw new InputError(`${what} "${text}" has a "." or ".." part`, 'write the path it leads to instead');
  if (text !== '/' && parts.includes('')) throw new InputError(`${what} "${text}" has a doubled or trailing slash`, `write ${path.posix.normalize(text).replace(/\/$/, '')}`);
  return text;
}

function isWithin(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`);
}

export function checkContainerPath(text: string): string {
  checkPlainPath(text, 'container path');
  if (text === '/') throw new InputError('container path "/" would hide the whole image', 'mount at a folder like /data');
  const kernel = KERNEL_PATHS.find((dir) => isWithin(text, dir));
  if (kernel) throw new InputError(`container path "${text}" is inside ${kernel}, which the engine fills in for every container`, 'mount at a folder like /data');
  return text;
}

/**
 * A host path berth will mount: not `/`, not the kernel's interfaces, and neither inside nor
 * above any of `protectedPaths` (berth's data dir and code, Docker's socket), since a container
 * that sees those owns berth or the host. The server calls it again with the real path.
 */
export function checkHostPath(text: string, protectedPaths: string[] = DOCKER_SOCKETS): string {
  checkPlainPath(text, 'host path');
  if (text === '/') throw new InputError('host path "/" would give the container the whole host', 'mount a folder of its own, like /srv/myapp');
  const kernel = KERNEL_PATHS.find((dir) => isWithin(text, dir));
  if (kernel) throw new InputError(`host path "${text}" is inside ${kernel}: the host's kernel interfaces are never mounted into an app`);
  const guarded = protectedPaths.find((guardedPath) => isWithin(text, guardedPath) || isWithin(guardedPath, text));
  if (guarded) throw new InputError(`host path "${text}" ${isWithin(text, guarded) ? 'is inside' : 'holds'} ${guarded}, which is berth's or the engine's own`, 'mount a folder of the app\'s own, like /srv/myapp, or a storage NAME that berth keeps for you');
  return text;
}

export function checkStorageSource(source: string, protectedPaths?: string[]): string {
  return isManagedSource(source) ? checkStorageName(source) : checkHostPath(source, protectedPaths);
}

export function checkStorageProcess(process: string | null): string | null {
  if (process !== null && !isValidProcessType(process)) throw new InputError(`"${process}" is not a process type (${PROCESS_TYPE_RULE})`);
  return process;
}

/** Every part of a mount, checked; what the API takes and storage:mount sends. */
export function checkStorageMount(mount: StorageMount, protectedPaths?: string[]): StorageMount {
  return { source: checkStorageSource(mount.source, protectedPaths), containerPath: checkContainerPath(mount.containerPath), readOnly: mount.readOnly, process: checkStorageProcess(mount.process) };
}

const MOUNT_RULE = 'NAME:/path/in/container or /host/path:/path/in/container, with :ro at the end for read-only';

/** `NAME:/data`, `/srv/uploads:/app/uploads:ro`: what storage:mount takes. */
export function parseMountSpec(text: string, process: string | null = null): StorageMount {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && !['ro', 'rw'].includes(parts[2]))) {
    throw new InputError(`"${text}" is not a mount`, `give ${MOUNT_RULE}`);
  }
  return checkStorageMount({ source: parts[0], containerPath: parts[1], readOnly: parts[2] === 'ro', process });
}

/** Which mounts storage:unmount means: `NAME`, `/host/path`, or either with `:/path/in/container`. */
export interface MountSelector {
  source: string;
  containerPath?: string;
  process?: string;
}

export function parseMountSelector(text: string, process?: string): MountSelector {
  const parts = text.split(':');
  if (parts.length > 2 || !parts[0]) throw new InputError(`"${text}" names no mount`, 'give NAME or /host/path, optionally with :/path/in/container (see berth storage:list APP)');
  return checkMountSelector({ source: parts[0], ...(parts[1] === undefined ? {} : { containerPath: parts[1] }), ...(process === undefined ? {} : { process }) });
}

/** Only the form is judged: the mounts to remove were allowed once, so no path is refused for where it leads. */
export function checkMountSelector(selector: MountSelector): MountSelector {
  if (isManagedSource(selector.source)) checkStorageName(selector.source);
  else checkPlainPath(selector.source, 'host path');
  if (selector.containerPath !== undefined) checkPlainPath(selector.containerPath, 'container path');
  if (selector.process !== undefined) checkStorageProcess(selector.process);
  return selector;
}

/** `data:/data (web, read-only)`: a mount the way people read it. */
export function describeMount(mount: StorageMount): string {
  const notes = [mount.process ?? '', mount.readOnly ? 'read-only' : ''].filter(Boolean);
  return `${mount.source}:${mount.containerPath}${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

function scopesOverlap(a: string | null, b: string | null): boolean {
  return a === null || b === null || a === b;
}

/** The app's mounts with `mount` added; a container path can hold one mount per process type. */
export function withMount(app: string, mounts: StorageMount[], mount: StorageMount): StorageMount[] {
  const clash = mounts.find((existing) => existing.containerPath === mount.containerPath && scopesOverlap(existing.process, mount.process));
  if (clash) {
    throw new ConflictError(`${mount.containerPath} is already mounted in ${app}: ${describeMount(clash)}`, `unmount it first: berth storage:unmount ${app} ${clash.source}:${clash.containerPath}${clash.process ? ` --process ${clash.process}` : ''}`);
  }
  return [...mounts, mount];
}

function selects(selector: MountSelector, mount: StorageMount): boolean {
  return mount.source === selector.source && (selector.containerPath === undefined || mount.containerPath === selector.containerPath) && (selector.process === undefined || mount.process === selector.process);
}

/** Splits the mounts into those the selector names and the rest; naming none is a NotFoundError. */
export function withoutMounts(app: string, mounts: StorageMount[], selector: MountSelector): { kept: StorageMount[]; removed: StorageMount[] } {
  const removed = mounts.filter((mount) => selects(selector, mount));
  if (!removed.length) {
    const have = mounts.length ? `its mounts are ${mounts.map(describeMount).join(', ')}` : 'it has none';
    throw new NotFoundError(`${app} has no mount ${selector.source}${selector.containerPath ? `:${selector.containerPath}` : ''}${selector.process ? ` for ${selector.process}` : ''}: ${have}`, `see berth storage:list ${app}`);
  }
  return { kept: mounts.filter((mount) => !selects(selector, mount)), removed };
}

/** The one answer to "what does a container of this process type mount": every process type's mounts and its own. */
export function mountsFor(app: { name: string; storage: StorageMount[] }, processType: string, dataDir: string): ContainerMount[] {
  return app.storage
    .filter((mount) => mount.process === null || mount.process === processType)
    .map((mount) => ({
      hostPath: storageHostPath(dataDir, app.name, mount.source),
      containerPath: mount.containerPath,
      readOnly: mount.readOnly,
      managed: isManagedSource(mount.source),
    }));
}
