import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sleep } from '../src/time.js';
import type { AppContainer, BaselineContainers } from './containers.js';
import type { BenchCertificate } from './tls.js';

const run = promisify(execFile);

export type BaselineStrategy = 'stop-then-start' | 'reload-per-deploy';

/**
 * What teams do without berth, on the same app and the same nginx build: one nginx whose
 * upstream file is rewritten and reloaded per deploy. `stop-then-start` replaces the container
 * first (what `docker compose up -d` does); `reload-per-deploy` starts the new one beside the
 * old, then switches and retires it (Dokku's way). With a certificate it serves HTTPS instead.
 */
export class NginxBaseline {
  private current: AppContainer | undefined;

  private constructor(
    private readonly strategy: BaselineStrategy,
    private readonly containers: BaselineContainers,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(options: { strategy: BaselineStrategy; containers: BaselineContainers; port: number; tls?: BenchCertificate }): Promise<NginxBaseline> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-bench-nginx-'));
    for (const sub of ['logs', 'run', 'tmp']) await fs.mkdir(path.join(dir, sub));
    const baseline = new NginxBaseline(options.strategy, options.containers, dir, options.port);
    const first = await options.containers.start(0);
    await baseline.writeUpstream(first.ip);
    await fs.writeFile(path.join(dir, 'nginx.conf'), baseline.mainConfig(options.tls));
    await run('nginx', baseline.nginxArgs());
    baseline.current = first;
    return baseline;
  }

  private nginxArgs(extra: string[] = []): string[] {
    return ['-p', this.dir, '-e', path.join(this.dir, 'logs/error.log'), '-c', path.join(this.dir, 'nginx.conf'), ...extra];
  }

  private mainConfig(tls: BenchCertificate | undefined): string {
    const listen = tls ? `listen ${this.port} ssl http2;\n    ssl_certificate ${tls.certFile};\n    ssl_certificate_key ${tls.keyFile};` : `listen ${this.port};`;
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
    ${listen}
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

  async deploy(deploy: number): Promise<void> {
    const old = this.current!;
    if (this.strategy === 'stop-then-start') await this.containers.retire(old);
    this.current = await this.containers.start(deploy);
    await this.writeUpstream(this.current.ip);
    await run('nginx', this.nginxArgs(['-s', 'reload']));
    if (this.strategy === 'stop-then-start') return;
    // In-flight requests on the old workers finish before the old container goes.
    await sleep(1000);
    await this.containers.retire(old);
  }

  async close(): Promise<void> {
    await run('nginx', this.nginxArgs(['-s', 'quit'])).catch(() => undefined);
    if (this.current) await this.containers.retire(this.current).catch(() => undefined);
    await sleep(300);
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
