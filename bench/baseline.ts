import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { sleep } from '../src/time.js';

const run = promisify(execFile);

export type BaselineStrategy = 'stop-then-start' | 'reload-per-deploy';

/**
 * What teams do without berth, on the same app and the same nginx build: one nginx whose
 * upstream file is rewritten and reloaded per deploy. `stop-then-start` replaces the container
 * first (what `docker compose up -d` does); `reload-per-deploy` starts the new one beside the
 * old, then switches and retires it (Dokku's way).
 */
export class Baseline {
  private current: { id: string; ip: string } | undefined;
  private constructor(
    private readonly docker: Docker,
    private readonly strategy: BaselineStrategy,
    private readonly dir: string,
    private readonly network: string,
    private readonly images: string[],
    private readonly labels: Record<string, string>,
    readonly port: number,
  ) {}

  static async start(options: { strategy: BaselineStrategy; network: string; images: string[]; labels: Record<string, string>; port: number }): Promise<Baseline> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-bench-nginx-'));
    for (const sub of ['logs', 'run', 'tmp']) await fs.mkdir(path.join(dir, sub));
    const baseline = new Baseline(new Docker(), options.strategy, dir, options.network, options.images, options.labels, options.port);
    const first = await baseline.startContainer(0);
    await baseline.writeUpstream(first.ip);
    await fs.writeFile(path.join(dir, 'nginx.conf'), baseline.mainConfig());
    await run('nginx', baseline.nginxArgs());
    baseline.current = first;
    return baseline;
  }

  private nginxArgs(extra: string[] = []): string[] {
    return ['-p', this.dir, '-e', path.join(this.dir, 'logs/error.log'), '-c', path.join(this.dir, 'nginx.conf'), ...extra];
  }

  private mainConfig(): string {
    return `worker_processes auto;
pid ${this.dir}/run/nginx.pid;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_timeout 65s;
  client_body_temp_path ${this.dir}/tmp/body;
  proxy_temp_path ${this.dir}/tmp/proxy;
  include ${this.dir}/upstream.conf;
  server {
    listen ${this.port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`;
  }

  private async writeUpstream(ip: string): Promise<void> {
    await fs.writeFile(path.join(this.dir, 'upstream.conf'), `upstream app { server ${ip}:5000; keepalive 32; }\n`);
  }

  private async startContainer(deploy: number): Promise<{ id: string; ip: string }> {
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

  private async retire(id: string): Promise<void> {
    const container = this.docker.getContainer(id);
    await container.stop({ t: 10 }).catch(() => undefined);
    await container.remove({ force: true });
  }

  async deploy(deploy: number): Promise<void> {
    const old = this.current!;
    if (this.strategy === 'stop-then-start') {
      await this.retire(old.id);
      this.current = await this.startContainer(deploy);
      await this.writeUpstream(this.current.ip);
      await run('nginx', this.nginxArgs(['-s', 'reload']));
      return;
    }
    this.current = await this.startContainer(deploy);
    await this.writeUpstream(this.current.ip);
    await run('nginx', this.nginxArgs(['-s', 'reload']));
    // In-flight requests on the old workers finish before the old container goes.
    await sleep(1000);
    await this.retire(old.id);
  }

  async close(): Promise<void> {
    await run('nginx', this.nginxArgs(['-s', 'quit'])).catch(() => undefined);
    if (this.current) await this.retire(this.current.id).catch(() => undefined);
    await sleep(300);
    await fs.rm(this.dir, { recursive: true, force: true });
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
