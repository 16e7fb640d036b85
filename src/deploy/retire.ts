import type Docker from 'dockerode';
import type { ServeOptions } from '../config.js';
import { describe } from '../errors.js';
import { formatDuration, type Logger } from '../log/output.js';
import type { Nginx } from '../proxy/nginx.js';
import { removeContainer, stopContainer } from '../runtime/containers.js';
import { LABEL } from '../runtime/labels.js';
import type { ContainerRecord } from '../store/store.js';

export interface RetireRequest {
  options: ServeOptions;
  docker: Docker;
  nginx: Nginx;
  app: string;
  liveRelease: number;
  retiring: { containers: ContainerRecord[]; release: number; workers: number[] } | undefined;
  logger: Logger;
}

/**
 * The old release drains first: the nginx workers that still run the previous config finish
 * their requests (and hold their websockets) and exit; only then is the old container stopped.
 * worker_shutdown_timeout in nginx.conf bounds the wait to the drain timeout.
 */
export async function retireRelease(request: RetireRequest): Promise<void> {
  const { options, docker, nginx, retiring, logger } = request;
  if (retiring) {
    logger.section(`Retiring ${request.app} release ${retiring.release}`);
    const started = Date.now();
    logger.info(`Draining: waiting for ${retiring.workers.length} nginx worker(s) of the previous config to finish their requests (at most ${options.drainTimeoutSeconds} s)`);
    const stillBusy = await nginx.waitForWorkersToExit(retiring.workers, (options.drainTimeoutSeconds + 5) * 1000);
    logger.info(stillBusy.length ? `Drain time is up with ${stillBusy.length} worker(s) still open; stopping anyway` : `Drained in ${formatDuration(Date.now() - started)}`);
    for (const container of retiring.containers) {
      const stopStarted = Date.now();
      await stopContainer(docker, container.id, options.stopTimeoutSeconds);
      await removeContainer(docker, container.id);
      logger.info(`Stopped and removed ${container.name} (${formatDuration(Date.now() - stopStarted)})`);
    }
  }
  await pruneImages(request);
}

/** Keeps the images of the newest releases for rollback; an image still in use is skipped. */
async function pruneImages(request: RetireRequest): Promise<void> {
  const { docker, options, app, logger } = request;
  const images = await docker.listImages({ filters: { label: [`${LABEL.instance}=${options.instance}`, `${LABEL.app}=${app}`] } });
  // A cached rebuild gives two releases the same image id, so releases are told apart by tag.
  const repository = `${options.instance}/${app}:`;
  const byRelease = images
    .flatMap((image) => image.RepoTags ?? [])
    .filter((tag) => tag.startsWith(repository))
    .map((tag) => ({ tag, release: Number(tag.slice(repository.length)) }))
    .filter((image) => Number.isInteger(image.release))
    .sort((a, b) => b.release - a.release);
  const stale = byRelease.slice(options.keepReleases).filter((image) => image.release !== request.liveRelease);
  for (const image of stale) {
    try {
      await docker.getImage(image.tag).remove({ force: false });
      logger.info(`Pruned the image of release ${image.release}`);
    } catch (error) {
      logger.warn(`Could not prune the image of release ${image.release}: ${describe(error)}`);
    }
  }
}
