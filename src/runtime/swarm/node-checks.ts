/**
 * What berth reads in an engine's `info()` before it lets it into its swarm: live-restore (which
 * swarm mode refuses), whether it trusts berth's plain-HTTP registry, and which swarm it is in.
 * Each refusal says what to change on that host.
 */
import net from 'node:net';
import { BerthError, ConflictError } from '../../errors.js';

/** The parts of GET /info that nodes:add reads. */
export interface EngineInfo {
  Name?: string;
  LiveRestoreEnabled?: boolean;
  Swarm?: {
    LocalNodeState?: string;
    NodeID?: string;
    NodeAddr?: string;
    ControlAvailable?: boolean;
    RemoteManagers?: Array<{ NodeID: string; Addr: string }> | null;
  };
  RegistryConfig?: {
    IndexConfigs?: Record<string, { Secure?: boolean }>;
    InsecureRegistryCIDRs?: string[] | null;
  };
}

const LIVE_RESTORE_FIX = 'remove "live-restore" from that host\'s /etc/docker/daemon.json and restart its engine';

/** Swarm mode refuses an engine with live-restore, so berth says so before asking it anything else. */
export function refuseLiveRestore(info: EngineInfo, engine: string, role: 'node' | 'manager'): void {
  if (!info.LiveRestoreEnabled) return;
  if (role === 'node') throw new ConflictError(`the engine at ${engine} runs with live-restore: Docker refuses swarm mode with live-restore`, LIVE_RESTORE_FIX);
  throw new ConflictError(
    `berth's swarm manager, the engine at ${engine}, runs with live-restore: Docker refuses swarm mode with live-restore`,
    `start berth serve with --swarm-engine URL naming an engine without live-restore (berth's own local engine keeps it for its apps), or ${LIVE_RESTORE_FIX}`,
  );
}

/**
 * berth's registry speaks plain HTTP, which an engine pulls from only when its daemon.json lists
 * the registry in "insecure-registries", by name or by a subnet holding its address (127.0.0.0/8
 * always is).
 */
export function trustsRegistry(info: EngineInfo, registry: string): boolean {
  const config = info.RegistryConfig;
  const indexed = config?.IndexConfigs?.[registry];
  if (indexed) return indexed.Secure === false;
  const host = registryHost(registry);
  const family = net.isIP(host);
  if (!family) return false;
  const subnets = new net.BlockList();
  for (const cidr of config?.InsecureRegistryCIDRs ?? []) {
    const [network, prefix] = cidr.split('/');
    const networkFamily = net.isIP(network);
    if (networkFamily) subnets.addSubnet(network, Number(prefix), networkFamily === 6 ? 'ipv6' : 'ipv4');
  }
  return subnets.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

function registryHost(registry: string): string {
  const bracketed = /^\[(.*)\](:\d+)?$/.exec(registry);
  if (bracketed) return bracketed[1];
  return registry.replace(/:\d+$/, '');
}

export function registryRefusal(engine: string, registry: string): ConflictError {
  return new ConflictError(
    `the engine at ${engine} would not pull from berth's registry at ${registry}: it speaks plain HTTP, which that engine does not trust`,
    `add "insecure-registries": ["${registry}"] to that host's /etc/docker/daemon.json and restart its engine (or give berth serve --registry-address an address it trusts), then nodes:add again`,
  );
}

/** member: already in berth's swarm; join: in none; anything else is refused. */
export type Membership = 'member' | 'join';

/**
 * Where the engine stands toward berth's swarm, whose node ids are `members` (empty while the
 * manager has no swarm yet), so the manager's own engine is a member once the swarm exists.
 */
export function membership(info: EngineInfo, engine: string, members: Set<string>): Membership {
  const state = info.Swarm?.LocalNodeState ?? 'inactive';
  if (state === 'inactive') return 'join';
  if (state === 'active' && info.Swarm?.NodeID && members.has(info.Swarm.NodeID)) return 'member';
  if (state === 'active') {
    throw new ConflictError(`the engine at ${engine} is in another swarm`, 'run docker swarm leave on that host (after moving what runs there) to join it to berth\'s, or point berth serve --swarm-engine at that swarm\'s manager');
  }
  throw new BerthError(`the engine at ${engine} is in swarm state "${state}", neither in a swarm nor out of one`, 'run docker swarm leave --force on that host, then nodes:add again');
}
