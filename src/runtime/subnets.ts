import net from 'node:net';
import { isLoopback } from './listening.js';

/** How soon a network someone else made is seen: only one that berth did not make can be missed, for at most this long. */
const REFRESH_AT_MOST_EVERY_MS = 1000;
/** A hung engine must not hold every request from outside: past this, the subnets read last are used. */
const READ_TIMEOUT_MS = 2000;

/**
 * The engine's networks' subnets, to tell a connection from a container or build step (whose
 * source address is its address on its network, even when it dials the host's public address)
 * from the operator's own. Read once, again whenever berth makes a network, and again for an
 * address it does not cover (at most once a second): an unknown address is usually the
 * operator's, but may be a container on a network made since.
 */
export class ContainerSubnets {
  private blocks = new net.BlockList();
  private readAt = 0;
  /** Counts invalidations, so a read that started before one does not count as fresh. */
  private generation = 0;
  private reading: Promise<void> | undefined;

  constructor(private readonly list: () => Promise<string[]>) {}

  /** The next question reads the engine's networks again first. */
  invalidate(): void {
    this.generation += 1;
    this.readAt = 0;
  }

  async contains(address: string): Promise<boolean> {
    if (!address || isLoopback(address)) return false;
    if (this.matches(address)) return true;
    if (Date.now() - this.readAt < REFRESH_AT_MOST_EVERY_MS) return false;
    await this.refresh();
    // A read that was under way when berth made a network may not hold it: read once more.
    if (this.readAt === 0) await this.refresh();
    return this.matches(address);
  }

  private matches(address: string): boolean {
    return this.blocks.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
  }

  /** Callers that ask at once share one read; when the engine does not answer, the last subnets read stay. */
  private refresh(): Promise<void> {
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<void> {
    const [startedAt, generation] = [Date.now(), this.generation];
    const subnets = await withTimeout(this.list(), READ_TIMEOUT_MS).catch(() => undefined);
    if (!subnets) return;
    const blocks = new net.BlockList();
    for (const subnet of subnets) addSubnet(blocks, subnet);
    this.blocks = blocks;
    if (generation === this.generation) this.readAt = startedAt;
  }
}

function addSubnet(blocks: net.BlockList, subnet: string): void {
  const [address, prefix] = subnet.split('/');
  const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
  if (family && /^\d+$/.test(prefix ?? '')) blocks.addSubnet(address, Number(prefix), family);
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
