import Docker from 'dockerode';
import { BerthError, describe } from '../errors.js';
import { LABEL, networkName } from '../model/naming.js';

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

/** berth's own bridge network: containers reach each other by name and the host reaches them by IP. */
export async function ensureNetwork(docker: Docker, instance: string): Promise<string> {
  const name = networkName(instance);
  const existing = await docker.listNetworks({ filters: { name: [name] } });
  if (existing.some((n) => n.Name === name)) return name;
  await docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: { [LABEL.instance]: instance } });
  return name;
}

export function isStatus(error: unknown, status: number): boolean {
  return typeof error === 'object' && error !== null && (error as { statusCode?: number }).statusCode === status;
}
