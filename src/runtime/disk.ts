import type Docker from 'dockerode';
import { LABEL } from '../model/naming.js';

/** Bytes on the engine's disk, and how many things hold them. */
export interface DiskSpace {
  count: number;
  bytes: number;
}

export interface EngineDiskUsage {
  /** This berth's images: the layers only they use (a base image other images use too is not counted). */
  images: DiskSpace;
  /**
   * The build cache, engine-wide (the engine cannot tell whose it is): dangling images, which is
   * what failed builds of the classic builder leave, and BuildKit's cache.
   */
  buildCache: DiskSpace;
}

/** An image as GET /images/json?all=1 lists it: intermediate images of the classic builder too, each with its parent. */
export interface ImageRow {
  Id: string;
  ParentId: string;
  RepoTags?: string[] | null;
  Size: number;
  Labels?: Record<string, string> | null;
}

/** A BuildKit cache record as GET /system/df lists it. */
export interface BuildCacheRow {
  Size: number;
  Shared?: boolean;
}

const NO_TAG = '<none>:<none>';

/**
 * The classic builder makes one image per Dockerfile step, each the parent of the next, so an
 * image's own layer is its size less its parent's. The layers of berth's images that no other
 * tagged image stands on are berth's; the layers under dangling images that no tagged image
 * stands on are the build cache a prune frees.
 */
export function engineDiskUsage(images: ImageRow[], buildCache: BuildCacheRow[], instance: string): EngineDiskUsage {
  const byId = new Map(images.map((image) => [image.Id, image]));
  const parents = new Set(images.map((image) => image.ParentId).filter(Boolean));
  const lineage = (image: ImageRow): string[] => {
    const ids: string[] = [];
    for (let current: ImageRow | undefined = image; current && !ids.includes(current.Id); current = byId.get(current.ParentId)) ids.push(current.Id);
    return ids;
  };
  const ownBytes = (id: string): number => {
    const image = byId.get(id)!;
    return Math.max(0, image.Size - (byId.get(image.ParentId)?.Size ?? 0));
  };
  const tagged = (image: ImageRow) => (image.RepoTags ?? []).some((tag) => tag !== NO_TAG);
  const berths = images.filter((image) => image.Labels?.[LABEL.instance] === instance && tagged(image));
  const others = images.filter((image) => tagged(image) && !berths.includes(image));
  const dangling = images.filter((image) => !tagged(image) && !parents.has(image.Id));
  const usedByOthers = new Set(others.flatMap(lineage));
  const berthLayers = new Set(berths.flatMap(lineage).filter((id) => !usedByOthers.has(id)));
  const cacheLayers = new Set(dangling.flatMap(lineage).filter((id) => !usedByOthers.has(id) && !berthLayers.has(id)));
  const sum = (ids: Set<string>) => [...ids].reduce((total, id) => total + ownBytes(id), 0);
  const buildKit = buildCache.filter((record) => !record.Shared);
  return {
    images: { count: berths.length, bytes: sum(berthLayers) },
    buildCache: { count: dangling.length + buildKit.length, bytes: sum(cacheLayers) + buildKit.reduce((total, record) => total + record.Size, 0) },
  };
}

export async function readEngineDiskUsage(docker: Docker, instance: string): Promise<EngineDiskUsage> {
  const [images, df] = await Promise.all([docker.listImages({ all: true }) as Promise<ImageRow[]>, docker.df() as Promise<{ BuildCache?: BuildCacheRow[] | null }>]);
  return engineDiskUsage(images, df.BuildCache ?? [], instance);
}

/**
 * Removes build cache unused for `unusedForSeconds`: dangling images created before then (the
 * engine removes their untagged parents with them) and BuildKit records not used since.
 * Resolves with the bytes freed.
 */
export async function pruneBuildCache(docker: Docker, unusedForSeconds: number): Promise<number> {
  const until = `${unusedForSeconds}s`;
  const images = await docker.pruneImages({ filters: { dangling: ['true'], until: [until] } });
  // dockerode's pruneBuilder sends no filters.
  const builder = await new Promise<{ SpaceReclaimed?: number }>((resolve, reject) => {
    docker.modem.dial({ path: '/build/prune?', method: 'POST', options: { filters: { until: [until] } }, statusCodes: { 200: true, 500: 'server error' } }, (error: unknown, data: unknown) =>
      error ? reject(error) : resolve((data ?? {}) as { SpaceReclaimed?: number }),
    );
  });
  return (images.SpaceReclaimed ?? 0) + (builder.SpaceReclaimed ?? 0);
}
