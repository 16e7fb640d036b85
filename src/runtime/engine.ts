import Docker from 'dockerode';
import { BerthError, describe } from '../errors.js';

/** The local engine, after checking that it answers. */
export async function connectEngine(): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (error) {
    throw new BerthError(
      `the Docker engine does not answer (${describe(error)})`,
      'start it (npm start does: it runs scripts/setup.sh) or check /var/run/docker.sock',
    );
  }
  return docker;
}

export async function engineVersion(docker: Docker): Promise<string | undefined> {
  return docker.version().then((version) => version.Version, () => undefined);
}

/** Without live-restore, restarting the engine (an upgrade) stops every app's containers until it is back. */
export async function engineKeepsContainersOnRestart(docker: Docker): Promise<boolean> {
  return (await docker.info()).LiveRestoreEnabled === true;
}

export function isStatus(error: unknown, status: number): boolean {
  return typeof error === 'object' && error !== null && (error as { statusCode?: number }).statusCode === status;
}
