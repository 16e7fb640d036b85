import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { Agent, fetch, type RequestInit, type Response } from 'undici';
import { trustForGit } from './git-trust.js';
import { freePort } from './ports.js';
import { TEST_INSTANCE_PREFIX } from './docker.js';
import { installedBerth } from './installed.js';

export interface BerthInstance {
  dataDir: string;
  instance: string;
  gitPort: number;
  httpPort: number;
  httpsPort: number;
  token: string;
  /** The git port as the CLI on this machine reaches it: https://127.0.0.1:PORT (http:// with --insecure-http). */
  url: string;
  /** The certificate the git port serves, trusted by the tests' git (http.sslCAInfo) and CLI (BERTH_CA); undefined over plain HTTP. */
  caFile: string | undefined;
  /** Its content, for node's https.request and tls.connect (`ca`). */
  ca: string | undefined;
  /** A request to the git port (`/api/...`, `/APP.git/...`) that trusts its certificate, as curl --cacert does. */
  fetch(urlPath: string, init?: RequestInit): Promise<Response>;
  /** curl's options to trust the git port's certificate. */
  curlTrust: string[];
  /** The Authorization header of a request that carries the token. */
  authorization: string;
  /** The berth server process. */
  pid: number;
  /** The push URL of an app, with the token. */
  remote(app: string): string;
  output(): string;
  /** What berth printed at start, once it printed the push URL: the lines after the one startBerth waits for come a moment later. */
  startUpOutput(): Promise<string>;
  /** Stops the push server only; nginx and containers keep running, as in production. */
  stopServer(): Promise<void>;
  /** Stops everything this instance made: server, nginx, containers, network, images, data dir. */
  destroy(): Promise<void>;
}

let counter = 0;

export function basicAuthorization(credentials: string): string {
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

function waitForLine(child: ChildProcess, pattern: RegExp, output: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth did not start within ${timeoutMs} ms:\n${output()}`)), timeoutMs);
    const check = () => {
      if (pattern.test(output())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`berth exited with code ${code}:\n${output()}`));
    });
  });
}

/** The edge, as berth never stops it itself. */
async function stopNginx(dataDir: string): Promise<void> {
  await stopNginxTier(path.join(dataDir, 'nginx', 'edge', 'run', 'nginx.pid'));
}

/** Stops the nginx whose pid file this is, as berth never does, and waits until it is gone. */
export async function stopNginxTier(pidFile: string): Promise<void> {
  const pid = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function removeInstanceResources(instance: string): Promise<void> {
  const docker = new Docker();
  const filters = { label: [`berth.instance=${instance}`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  for (const i of await docker.listImages({ filters })) await docker.getImage(i.Id).remove({ force: true }).catch(() => undefined);
}

/** What the local CLI reads (run/url), and the certificate it verifies: the self-signed one unless the test gave berth its own. */
async function gitPortTrust(dataDir: string, caFile: string | undefined): Promise<{ url: string; caFile: string | undefined }> {
  const url = (await fs.readFile(path.join(dataDir, 'run', 'url'), 'utf8')).trim();
  if (!url.startsWith('https:')) return { url, caFile: undefined };
  const trusted = caFile ?? path.join(dataDir, 'tls', 'cert.pem');
  trustForGit(url, trusted);
  return { url, caFile: trusted };
}

export async function startBerth(options: { args?: string[]; env?: Record<string, string>; dataDir?: string; instance?: string; httpPort?: number; httpsPort?: number; gitPort?: number; caFile?: string } = {}): Promise<BerthInstance> {
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-')));
  const instance = options.instance ?? `${TEST_INSTANCE_PREFIX}${process.pid}-${++counter}`;
  const gitPort = options.gitPort ?? (await freePort());
  const httpPort = options.httpPort ?? (await freePort());
  const httpsPort = options.httpsPort ?? (await freePort());
  const token = 'test-token-0123456789abcdef';
  const args = ['--data-dir', dataDir, '--git-port', String(gitPort), '--http-port', String(httpPort), '--https-port', String(httpsPort), '--instance', instance, '--listen', '127.0.0.1', '--settle', '1', '--drain-timeout', '10', '--stop-timeout', '5', ...(options.args ?? [])];
  const child = spawn(installedBerth(), ['serve', ...args], {
    env: { ...process.env, BERTH_TOKEN: token, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitForLine(child, /git push server and admin API listening/, () => output, 30_000);
  let exited = false;
  child.on('exit', () => (exited = true));
  const { url, caFile } = await gitPortTrust(dataDir, options.caFile);
  const ca = caFile && (await fs.readFile(caFile, 'utf8'));
  const agent = new Agent({ connect: { ca } });
  const stopServer = async () => {
    if (exited) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  };
  return {
    dataDir,
    instance,
    gitPort,
    httpPort,
    httpsPort,
    token,
    url,
    caFile,
    ca,
    fetch: (urlPath, init = {}) => fetch(`${url}${urlPath}`, { ...init, dispatcher: agent }),
    curlTrust: caFile ? ['--cacert', caFile] : [],
    authorization: basicAuthorization(`berth:${token}`),
    pid: child.pid!,
    remote: (app) => url.replace('://', `://berth:${token}@`) + `/${app}.git`,
    output: () => output,
    startUpOutput: async () => {
      const deadline = Date.now() + 5000;
      while (!/push with: .*\n/.test(output) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      return output;
    },
    stopServer,
    destroy: async () => {
      await stopServer();
      await agent.close();
      await stopNginx(dataDir);
      // The swarm's registry is detached like the edge, so it outlives the server too.
      await stopNginxTier(path.join(dataDir, 'registry', 'registry.pid'));
      await removeInstanceResources(instance);
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
