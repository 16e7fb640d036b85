import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { sleep } from '../src/time.js';
import { freePort } from '../test/support/ports.js';
import type { AppContainer, BaselineContainers } from './containers.js';

/**
 * Caddy's blue-green method: a new container beside the old one, the reverse proxy's upstream
 * swapped through Caddy's admin API (no reload), then the old container retired. Debian's caddy;
 * its admin API and data stay in a folder of the bench's own.
 */
export class CaddyBaseline {
  private current: AppContainer | undefined;

  private constructor(
    private readonly containers: BaselineContainers,
    private readonly dir: string,
    private readonly adminPort: number,
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(options: { containers: BaselineContainers; port: number }): Promise<CaddyBaseline> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-bench-caddy-'));
    const adminPort = await freePort();
    const first = await options.containers.start(0);
    const configFile = path.join(dir, 'caddy.json');
    await fs.writeFile(configFile, JSON.stringify(caddyConfig(adminPort, options.port, first.ip)));
    const env = { ...process.env, HOME: dir, XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config') };
    const child = spawn('caddy', ['run', '--config', configFile], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    const caddy = new CaddyBaseline(options.containers, dir, adminPort, child, options.port);
    caddy.current = first;
    await caddy.waitForAdmin(() => log);
    return caddy;
  }

  private async waitForAdmin(log: () => string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const answered = await request(`http://127.0.0.1:${this.adminPort}/config/`).then((r) => (r.body.dump(), r.statusCode === 200), () => false);
      if (answered) return;
      if (this.child.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error(`caddy did not start:\n${log()}`);
  }

  async deploy(deploy: number): Promise<void> {
    const old = this.current!;
    this.current = await this.containers.start(deploy);
    const response = await request(`http://127.0.0.1:${this.adminPort}/config/apps/http/servers/bench/routes/0/handle/0/upstreams`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ dial: `${this.current.ip}:5000` }]),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`caddy refused the upstream swap: ${response.statusCode} ${text}`);
    await sleep(1000);
    await this.containers.retire(old);
  }

  async close(): Promise<void> {
    this.child.kill('SIGTERM');
    await new Promise((resolve) => (this.child.exitCode !== null ? resolve(undefined) : this.child.once('exit', resolve)));
    if (this.current) await this.containers.retire(this.current).catch(() => undefined);
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

function caddyConfig(adminPort: number, port: number, ip: string): unknown {
  return {
    admin: { listen: `127.0.0.1:${adminPort}` },
    apps: {
      http: {
        servers: {
          bench: {
            listen: [`:${port}`],
            automatic_https: { disable: true },
            routes: [{ handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: `${ip}:5000` }] }] }],
          },
        },
      },
    },
  };
}
