import path from 'node:path';
import { readJson, writeFileAtomic } from './atomic.js';

/** A node berth joined with nodes:add: its swarm id and the engine URL berth reaches it by. */
export interface NodeRecord {
  id: string;
  engine: string;
  addedAt: string;
}

/** DATA_DIR/nodes.json: the nodes berth knows the engines of, written whole and atomically. */
export class NodesFile {
  constructor(private readonly dataDir: string) {}

  async list(): Promise<NodeRecord[]> {
    return (await readJson<{ nodes: NodeRecord[] }>(this.file()))?.nodes ?? [];
  }

  /** Records `record`, in place of any record of the same node. */
  async put(record: NodeRecord): Promise<void> {
    const others = (await this.list()).filter((node) => node.id !== record.id);
    await this.write([...others, record]);
  }

  async remove(id: string): Promise<void> {
    await this.write((await this.list()).filter((node) => node.id !== id));
  }

  private async write(nodes: NodeRecord[]): Promise<void> {
    await writeFileAtomic(this.file(), JSON.stringify({ nodes }, null, 2));
  }

  private file(): string {
    return path.join(this.dataDir, 'nodes.json');
  }
}
