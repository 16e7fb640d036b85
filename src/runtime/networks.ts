import type Docker from 'dockerode';
import { BerthError, describe } from '../errors.js';
import { appNetworkName, LABEL, sharedNetworkName } from '../model/naming.js';
import { isStatus } from './engine.js';

/** The engine's own words when every range of its address pools is taken. */
const POOLS_EXHAUSTED = /available, non-overlapping .*address pool/i;

/** The app's network, made with its first container and labelled with instance and app; `created` says whether this call made it. */
export async function ensureAppNetwork(docker: Docker, instance: string, app: string): Promise<{ name: string; created: boolean }> {
  const name = appNetworkName(instance, app);
  const existing = await docker.listNetworks({ filters: { name: [name] } });
  if (existing.some((network) => network.Name === name)) return { name, created: false };
  try {
    await docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: { [LABEL.instance]: instance, [LABEL.app]: app } });
  } catch (error) {
    if (isStatus(error, 409)) return { name, created: false };
    if (POOLS_EXHAUSTED.test(describe(error))) {
      throw new BerthError(
        `the Docker engine has no address range left for ${name}, the network of ${app}`,
        'every app has a network of its own, and the engine\'s default pools hold about 30; give it more in /etc/docker/daemon.json, e.g. "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}], then restart the engine',
      );
    }
    throw error;
  }
  return { name, created: true };
}

/** Once its containers are gone; a network still in use (a container someone else connected) stays for the next start to try again. */
export async function removeAppNetwork(docker: Docker, instance: string, app: string): Promise<void> {
  try {
    await docker.getNetwork(appNetworkName(instance, app)).remove();
  } catch (error) {
    if (!isStatus(error, 404) && !isStatus(error, 403) && !isStatus(error, 409)) throw error;
  }
}

/** The apps of this instance that have a network. */
export async function networkedApps(docker: Docker, instance: string): Promise<string[]> {
  const networks = await docker.listNetworks({ filters: { label: [`${LABEL.instance}=${instance}`] } });
  return networks.map((network) => network.Labels?.[LABEL.app]).filter((app): app is string => app !== undefined).sort();
}

/**
 * The shared network of an older berth goes once no container is on it, running or stopped: a
 * stopped live container still needs it to be started again.
 */
export async function removeSharedNetworkIfUnused(docker: Docker, instance: string): Promise<void> {
  const name = sharedNetworkName(instance);
  const attached = await docker.listContainers({ all: true, filters: { network: [name] } });
  if (attached.length) return;
  try {
    await docker.getNetwork(name).remove();
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
}

/** Every subnet of every network on the engine, berth's or not: where containers and build steps have their addresses. */
export async function networkSubnets(docker: Docker): Promise<string[]> {
  const networks = await docker.listNetworks();
  return networks.flatMap((network) => (network.IPAM?.Config ?? []).map((config) => config.Subnet).filter((subnet): subnet is string => Boolean(subnet)));
}

/** The container's address on its app's network, or on the shared one for a container started before apps had their own. */
export function appAddress(networks: Record<string, { IPAddress: string }> | undefined, instance: string, app: string): string {
  return networks?.[appNetworkName(instance, app)]?.IPAddress || networks?.[sharedNetworkName(instance)]?.IPAddress || '';
}
