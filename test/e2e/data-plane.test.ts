import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DataPlane } from '../../src/proxy/data-plane.js';
import { getThroughNginx } from '../support/http.js';
import { freePort } from '../support/ports.js';

const APP = 'tier';
const HOST = `${APP}.localhost`;

function listen(server: net.Server, port: number, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

/** Listens once the port is free: a process killed with SIGKILL lets go of its sockets only when it has exited. */
async function listenWhenFree(server: net.Server, port: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await listen(server, port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** An upstream that answers every request with its name. */
async function upstream(name: string): Promise<{ port: number; close(): void }> {
  const server = http.createServer((_req, res) => res.end(name));
  await listen(server, 0, '127.0.0.1');
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

async function masterPid(dir: string, tier: string): Promise<number> {
  return Number((await fs.readFile(path.join(dir, 'nginx', tier, 'run', 'nginx.pid'), 'utf8')).trim());
}

describe('the data plane with real nginx: a switch either happens whole or not at all', () => {
  let dir: string;
  let httpPort: number;
  let proxy: DataPlane;
  const upstreams: { port: number; close(): void }[] = [];

  before(async () => {
    // The berth-test- prefix lets the test runner stop this nginx should the test not get to.
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-plane-'));
    await fs.chmod(dir, 0o711);
    httpPort = await freePort();
    proxy = await DataPlane.create({ bin: 'nginx', dir: path.join(dir, 'nginx'), httpPort, domain: 'localhost', drainTimeoutSeconds: 5 });
    await proxy.ensureRunning();
    upstreams.push(await upstream('one'), await upstream('two'));
  });

  after(async () => {
    for (const tier of ['edge', 'switch']) {
      try {
        process.kill(await masterPid(dir, tier), 'SIGQUIT');
      } catch {
        // not running
      }
    }
    for (const server of upstreams) server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('when the edge cannot take the new host names, the switch tier goes back to the previous release', async () => {
    await proxy.switchApp({ app: APP, release: 1, serverNames: [HOST], upstreams: [{ host: '127.0.0.1', port: upstreams[0].port }] });
    assert.equal((await getThroughNginx(httpPort, HOST)).body, 'one');
    // A dead edge whose port another process took: berth's reload finds no master, and a new one cannot bind.
    process.kill(-(await masterPid(dir, 'edge')), 'SIGKILL');
    const squatter = net.createServer();
    await listenWhenFree(squatter, httpPort);
    try {
      await assert.rejects(
        proxy.switchApp({ app: APP, release: 2, serverNames: [HOST, 'www.tier.test'], upstreams: [{ host: '127.0.0.1', port: upstreams[1].port }] }),
        /the edge nginx failed to start/,
      );
      assert.equal(await proxy.routedRelease(APP), 1, 'the switch tier routes to release 1 again');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    await proxy.ensureRunning();
    assert.equal((await getThroughNginx(httpPort, HOST)).body, 'one', 'requests still reach release 1');
  });
});
