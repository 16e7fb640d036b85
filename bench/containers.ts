import net from 'node:net';
import Docker from 'dockerode';
import { sleep } from '../src/time.js';

/** A container of the sample app, as the baselines start and stop it themselves (no berth). */
export interface AppContainer {
  id: string;
  ip: string;
}

/** The baselines' containers: the same image and port as berth's, on a network of their own. */
export class BaselineContainers {
  private readonly docker = new Docker();

  constructor(
    private readonly network: string,
    private readonly images: string[],
    private readonly labels: Record<string, string>,
  ) {}

  /** Starts the image of this deploy (they alternate) and resolves once it accepts connections. */
  async start(deploy: number): Promise<AppContainer> {
    const container = await this.docker.createContainer({
      Image: this.images[deploy % this.images.length],
      Env: ['PORT=5000'],
      Labels: this.labels,
      HostConfig: { Init: true, NetworkMode: this.network },
    });
    await container.start();
    const info = await container.inspect();
    const ip = info.NetworkSettings.Networks[this.network].IPAddress;
    await waitForPort(ip, 5000);
    return { id: info.Id, ip };
  }

  async retire(container: AppContainer): Promise<void> {
    const handle = this.docker.getContainer(container.id);
    await handle.stop({ t: 10 }).catch(() => undefined);
    await handle.remove({ force: true });
  }
}

async function waitForPort(ip: string, port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: ip, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`${ip}:${port} never accepted connections`);
}
