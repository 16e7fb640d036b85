/**
 * berth's swarm: the manager engine (--swarm-engine, else the local one) and the nodes berth
 * joined to it with nodes:add, whose engine URLs DATA_DIR/nodes.json keeps. Every swarm call on
 * nodes goes through here.
 */
import Docker from 'dockerode';
import { Serial } from '../../serial.js';
import { BerthError, ConflictError, describe, InputError, NotFoundError } from '../../errors.js';
import type { NodeAvailability, NodeState, SwarmNode } from '../../model/nodes.js';
import type { NodesFile, NodeRecord } from '../../store/nodes.js';
import { engineFromUrl, engineHost, normalEngineUrl, parseEngineUrl } from './engines.js';
import { membership, refuseLiveRestore, registryRefusal, trustsRegistry, type EngineInfo } from './node-checks.js';

export type { SwarmNode } from '../../model/nodes.js';

const LOCAL_ENGINE = 'unix:///var/run/docker.sock';
const SWARM_PORT = 2377;
/** How long an engine may take to answer `info` before berth calls it unreachable. */
const REACH_TIMEOUT_MS = 15_000;
const READY_WAIT_MS = 10_000;

export interface ClusterDeps {
  dataDir: string;
  /** Names the services of this berth (label berth.instance). */
  instance: string;
  /** --swarm-engine; undefined: the local engine. */
  swarmEngine: string | undefined;
  nodesFile: NodesFile;
  /** HOST:PORT of berth's registry as the nodes reach it: nodes:add checks the node trusts it. */
  registryNodeAddress(): Promise<string>;
}

export interface DrainOptions {
  /** Runs between pause (no new tasks land there) and drain (its tasks move): where berth moves apps first. */
  beforeDrain?: (node: SwarmNode) => Promise<void>;
  say?: (line: string) => void;
}

export class SwarmCluster {
  private readonly engines = new Map<string, Docker>();
  private managerNodeId: string | undefined;
  /** One change to the swarm at a time: two nodes:add at once would both read nodes.json before either wrote it. */
  private readonly changes = new Serial();

  private constructor(
    readonly manager: Docker,
    /** The manager's engine URL, as berth shows it. */
    readonly managerUrl: string,
    private readonly deps: ClusterDeps,
    private records: NodeRecord[],
  ) {}

  /** The manager named by --swarm-engine (an InputError when its URL is bad); nothing is asked of it yet. */
  static async connect(deps: ClusterDeps): Promise<SwarmCluster> {
    const manager = deps.swarmEngine ? engineFromUrl(deps.swarmEngine, deps.dataDir) : new Docker();
    const url = deps.swarmEngine ? normalEngineUrl(deps.swarmEngine) : LOCAL_ENGINE;
    return new SwarmCluster(manager, url, deps, await deps.nodesFile.list());
  }

  /** The swarm's nodes; none while the manager is in no swarm. Throws when the manager does not answer or is no manager. */
  async nodes(): Promise<SwarmNode[]> {
    const info = await this.managerInfo();
    if (info.Swarm?.LocalNodeState !== 'active') return [];
    if (!info.Swarm.ControlAvailable) throw notAManager(this.managerUrl);
    this.managerNodeId = info.Swarm.NodeID;
    const [nodes, running] = await Promise.all([this.manager.listNodes(), this.runningTasksByNode()]);
    const listed = nodes.map((node: RawNode) => swarmNode(node, running.get(node.ID) ?? 0, this.engineUrlOf(node.ID) ?? null));
    // Managers first, then by name: the order nodes:list and status show.
    return listed.sort((a, b) => Number(b.role === 'manager') - Number(a.role === 'manager') || a.name.localeCompare(b.name));
  }

  /** Whether berth was given a swarm (--swarm-engine) or has joined a node to one: until then, no app can have run there. */
  inUse(): boolean {
    return this.deps.swarmEngine !== undefined || this.records.length > 0;
  }

  /** dockerode for that node's own engine, when berth has it (nodes:add, or the manager). */
  engineOf(nodeId: string): Docker | undefined {
    if (nodeId === this.managerNodeId) return this.manager;
    const url = this.records.find((record) => record.id === nodeId)?.engine;
    if (!url) return undefined;
    let engine = this.engines.get(url);
    if (!engine) {
      engine = engineFromUrl(url, this.deps.dataDir);
      this.engines.set(url, engine);
    }
    return engine;
  }

  /**
   * Joins the engine at `url` to berth's swarm (making the swarm on the manager when it has
   * none), or accepts it when it is in already. Every check comes first: a refusal changes nothing.
   */
  add(url: string, say: (line: string) => void = () => undefined): Promise<SwarmNode> {
    return this.changes.run(async () => {
      const engineUrl = normalEngineUrl(url);
      const engine = engineFromUrl(engineUrl, this.deps.dataDir);
      const engineInfo = await reach(engine, `the engine at ${engineUrl}`, 'check the URL, that the engine runs, and that berth may reach it (its socket, TLS files or SSH key)');
      refuseLiveRestore(engineInfo, engineUrl, 'node');
      const managerInfo = await this.managerInfo();
      refuseLiveRestore(managerInfo, this.managerUrl, 'manager');
      if (managerInfo.Swarm?.LocalNodeState === 'active' && !managerInfo.Swarm.ControlAvailable) throw notAManager(this.managerUrl);
      const registry = await this.deps.registryNodeAddress();
      if (!trustsRegistry(engineInfo, registry)) throw registryRefusal(engineUrl, registry);
      const hasSwarm = managerInfo.Swarm?.LocalNodeState === 'active';
      const members = hasSwarm ? new Set((await this.manager.listNodes()).map((node: RawNode) => node.ID)) : new Set<string>();
      let standing = membership(engineInfo, engineUrl, members);
      if (!hasSwarm) {
        await this.initSwarm(say);
        // The engine may be the manager itself, reached by another URL: it is in the new swarm now.
        if (await this.isManagerEngine(engine, engineUrl)) standing = 'member';
      }
      if (standing === 'join') await this.join(engine, engineUrl, say);
      else say(`${engineUrl} is in berth's swarm already`);
      const nodeId = await nodeIdOf(engine, engineUrl);
      await this.remember({ id: nodeId, engine: engineUrl, addedAt: new Date().toISOString() });
      return this.ready(nodeId);
    });
  }

  /** pause (no new tasks), then `beforeDrain`, then drain (its tasks move to other nodes); a failed hook puts the availability back. */
  drain(ref: string, options: DrainOptions = {}): Promise<SwarmNode> {
    return this.changes.run(() => this.drainHeld(ref, options));
  }

  /** Sets how the node takes tasks (nodes:activate sets active). */
  setAvailability(ref: string, availability: NodeAvailability): Promise<SwarmNode> {
    return this.changes.run(async () => {
      const node = await this.find(ref);
      await this.updateAvailability(node.id, availability);
      return this.node(node.id);
    });
  }

  /** Drains the node, makes its engine leave the swarm (when berth has it) and removes it from the manager. Never the manager. */
  remove(ref: string, options: DrainOptions = {}): Promise<SwarmNode> {
    return this.changes.run(async () => {
      const node = await this.find(ref);
      if (node.role === 'manager') throw new ConflictError(`${node.name} is a swarm manager: berth removes workers only`, 'the manager is the engine of berth serve --swarm-engine; demote it first (docker node demote) if it is not that one');
      const say = options.say ?? (() => undefined);
      if (node.availability !== 'drain' && node.state === 'ready') await this.drainHeld(node.id, options);
      await this.leave(node, say);
      await this.manager.getNode(node.id).remove({ force: true });
      await this.forget(node.id);
      say(`${node.name} is no longer a node of berth's swarm`);
      return node;
    });
  }

  private async drainHeld(ref: string, options: DrainOptions): Promise<SwarmNode> {
    const node = await this.find(ref);
    const say = options.say ?? (() => undefined);
    const others = (await this.nodes()).filter((other) => other.id !== node.id && other.state === 'ready' && other.availability === 'active');
    if (node.containers > 0 && others.length === 0) {
      throw new ConflictError(`draining ${node.name} would stop its ${node.containers} container(s): no other node is ready and active to take them`, 'add a node first (berth nodes:add ENGINE) or activate one (berth nodes:activate NODE)');
    }
    await this.updateAvailability(node.id, 'pause');
    say(`${node.name} paused: no new containers go there`);
    try {
      await options.beforeDrain?.(node);
    } catch (error) {
      await this.updateAvailability(node.id, node.availability);
      throw error;
    }
    await this.updateAvailability(node.id, 'drain');
    say(`${node.name} drained: Swarm moves its containers to the other nodes`);
    return this.node(node.id);
  }

  /** A node by its id, a unique start of its id, or its host name. */
  private async find(ref: string): Promise<SwarmNode> {
    const nodes = await this.nodes();
    const exact = nodes.find((node) => node.id === ref);
    if (exact) return exact;
    const found = nodes.filter((node) => node.name === ref || node.id.startsWith(ref));
    if (found.length === 1) return found[0];
    if (found.length > 1) throw new InputError(`"${ref}" names ${found.length} nodes`, 'give the node\'s id, as berth nodes:list --json shows it');
    throw new NotFoundError(`no node named ${ref} in berth's swarm`, 'see berth nodes:list');
  }

  private async node(id: string): Promise<SwarmNode> {
    const node = (await this.nodes()).find((candidate) => candidate.id === id);
    if (!node) throw new NotFoundError(`node ${id} is not in berth's swarm`, 'see berth nodes:list');
    return node;
  }

  /** A node that just joined shows as unknown until its first heartbeat: wait for it a little. */
  private async ready(id: string): Promise<SwarmNode> {
    const deadline = Date.now() + READY_WAIT_MS;
    for (;;) {
      const node = await this.node(id);
      if (node.state === 'ready' || Date.now() > deadline) return node;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private async updateAvailability(id: string, availability: NodeAvailability): Promise<void> {
    const handle = this.manager.getNode(id);
    const current = await handle.inspect();
    await handle.update({ _query: { version: current.Version.Index }, _body: { ...current.Spec, Availability: availability } });
  }

  /** Engine ids cannot tell (engines made from one image share theirs); swarm node ids can. */
  private async isManagerEngine(engine: Docker, engineUrl: string): Promise<boolean> {
    const [own, manager] = await Promise.all([reach(engine, `the engine at ${engineUrl}`, 'check that it still runs'), this.managerInfo()]);
    return own.Swarm?.NodeID !== undefined && own.Swarm.NodeID !== '' && own.Swarm.NodeID === manager.Swarm?.NodeID;
  }

  private async initSwarm(say: (line: string) => void): Promise<void> {
    const host = engineHost(parseEngineUrl(this.managerUrl));
    try {
      await this.manager.swarmInit({ ListenAddr: `0.0.0.0:${SWARM_PORT}`, ...(host ? { AdvertiseAddr: host } : {}) });
    } catch (error) {
      throw new BerthError(`could not make a swarm on berth's manager ${this.managerUrl}: ${describe(error)}`, 'run docker swarm init --advertise-addr ADDRESS on that host yourself (ADDRESS: where the nodes reach it), then nodes:add again');
    }
    say(`made a swarm on ${this.managerUrl}`);
  }

  private async join(engine: Docker, engineUrl: string, say: (line: string) => void): Promise<void> {
    const info = await this.managerInfo();
    const own = info.Swarm?.RemoteManagers?.find((manager) => manager.NodeID === info.Swarm?.NodeID)?.Addr;
    const remote = own ?? `${info.Swarm?.NodeAddr}:${SWARM_PORT}`;
    const token = (await this.manager.swarmInspect()).JoinTokens.Worker as string;
    const host = engineHost(parseEngineUrl(engineUrl));
    try {
      await engine.swarmJoin({ ListenAddr: `0.0.0.0:${SWARM_PORT}`, RemoteAddrs: [remote], JoinToken: token, ...(host ? { AdvertiseAddr: host } : {}) });
    } catch (error) {
      throw new BerthError(`the engine at ${engineUrl} could not join berth's swarm at ${remote}: ${describe(error)}`, `check that host reaches ${remote} (TCP ${SWARM_PORT}, and 7946, 4789/udp for the swarm's own traffic)`);
    }
    say(`${engineUrl} joined berth's swarm (manager ${remote})`);
  }

  /** A node berth cannot reach any more is removed all the same; its host still thinks it is a member until told. */
  private async leave(node: SwarmNode, say: (line: string) => void): Promise<void> {
    const engine = this.engineOf(node.id);
    const left = engine ? await engine.swarmLeave({}).then(() => true, () => false) : false;
    if (left) say(`${node.name} left the swarm`);
    else say(`berth could not make ${node.name} leave the swarm itself: run docker swarm leave on that host`);
  }

  private managerInfo(): Promise<EngineInfo> {
    return reach(this.manager, `berth's swarm manager, the engine at ${this.managerUrl}`, 'check that it runs and that berth serve --swarm-engine names it');
  }

  private async runningTasksByNode(): Promise<Map<string, number>> {
    const services = await this.manager.listServices({ filters: { label: [`berth.instance=${this.deps.instance}`] } });
    const counts = new Map<string, number>();
    if (!services.length) return counts;
    const tasks = await this.manager.listTasks({ filters: { service: services.map((service) => service.ID), 'desired-state': ['running'] } });
    for (const task of tasks as Array<{ NodeID?: string; Status?: { State?: string } }>) {
      if (task.NodeID && task.Status?.State === 'running') counts.set(task.NodeID, (counts.get(task.NodeID) ?? 0) + 1);
    }
    return counts;
  }

  private engineUrlOf(nodeId: string): string | undefined {
    if (nodeId === this.managerNodeId) return this.managerUrl;
    return this.records.find((record) => record.id === nodeId)?.engine;
  }

  private async remember(record: NodeRecord): Promise<void> {
    await this.deps.nodesFile.put(record);
    this.records = await this.deps.nodesFile.list();
  }

  private async forget(id: string): Promise<void> {
    await this.deps.nodesFile.remove(id);
    this.records = await this.deps.nodesFile.list();
  }
}

export interface RawNode {
  ID: string;
  Description?: { Hostname?: string };
  Spec?: { Role?: string; Availability?: string };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Addr?: string };
}

/** A manager may report 0.0.0.0 as its Status.Addr; its ManagerStatus.Addr (HOST:2377) has the host. */
export function swarmNode(node: RawNode, containers: number, engine: string | null): SwarmNode {
  const status = node.Status?.Addr;
  const address = status && status !== '0.0.0.0' ? status : (node.ManagerStatus?.Addr?.replace(/:\d+$/, '') ?? '');
  return {
    id: node.ID,
    name: node.Description?.Hostname ?? node.ID.slice(0, 12),
    address,
    role: node.Spec?.Role === 'manager' ? 'manager' : 'worker',
    state: (node.Status?.State ?? 'unknown') as NodeState,
    availability: (node.Spec?.Availability ?? 'active') as NodeAvailability,
    containers,
    engine,
  };
}

/** A join is done once the engine reports its node id: a moment after swarmJoin answers. */
async function nodeIdOf(engine: Docker, engineUrl: string): Promise<string> {
  const deadline = Date.now() + READY_WAIT_MS;
  for (;;) {
    const swarm = (await reach(engine, `the engine at ${engineUrl}`, 'check that it still runs')).Swarm;
    if (swarm?.LocalNodeState === 'active' && swarm.NodeID) return swarm.NodeID;
    if (Date.now() > deadline) throw new BerthError(`the engine at ${engineUrl} joined but is not active in the swarm yet (swarm state "${swarm?.LocalNodeState}")`, 'see berth nodes:list in a moment, and that engine\'s docker info');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function notAManager(url: string): ConflictError {
  return new ConflictError(`berth's swarm engine ${url} is a worker of its swarm, not a manager`, 'point berth serve --swarm-engine at a manager of that swarm (docker node ls there lists them)');
}

/** The engine's info, or a BerthError naming it; an engine that does not answer in time is unreachable too. */
async function reach(engine: Docker, what: string, hint: string): Promise<EngineInfo> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${REACH_TIMEOUT_MS / 1000} s`)), REACH_TIMEOUT_MS);
  });
  try {
    return (await Promise.race([engine.info(), timeout])) as EngineInfo;
  } catch (error) {
    throw new BerthError(`cannot reach ${what}: ${describe(error)}`, hint);
  } finally {
    clearTimeout(timer);
  }
}
