/**
 * Let's Encrypt's test ACME server (Debian's pebble) and its DNS server (pebble-challtestsrv), on
 * free loopback ports, for tests that get real certificates without the internet: every name
 * resolves to 127.0.0.1 unless a test points it elsewhere, and pebble validates http-01 on
 * `httpPort`. See ../shared/notes/acme-testing.md.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

export interface PebbleOptions {
  /** Where pebble connects to validate http-01 challenges (the edge's HTTP port). */
  httpPort: number;
  /** How long the certificates it issues are valid; pebble's default is five years. */
  validitySeconds?: number;
  /** Percent of good nonces pebble rejects as bad (its default, 5, unless given), which a correct client retries. */
  nonceRejectPercent?: number;
  /** Percent of new orders that reuse a valid authorization of the account (pebble's default 50) instead of validating again. */
  authzReusePercent?: number;
}

export interface Pebble {
  /** The ACME directory, over HTTPS with `caFile`'s certificate. */
  directoryUrl: string;
  /** The certificate of pebble's own HTTPS listener: what BERTH_ACME_CA_FILE names. */
  caFile: string;
  httpPort: number;
  /** The root that signs what pebble issues (new at every start), as PEM. */
  root(): Promise<string>;
  /** Writes the root to a file, for curl --cacert. */
  rootFile(): Promise<string>;
  /** From now on `host` resolves to `address` instead of 127.0.0.1. */
  resolve(host: string, address: string): Promise<void>;
  /** Output of both servers, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

/** A key and self-signed certificate for localhost and 127.0.0.1, for pebble's own HTTPS. */
async function localhostCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, 'localhost-cert.pem');
  const key = path.join(dir, 'localhost-key.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  return { cert, key };
}

function started(child: ChildProcess, name: string, output: { text: string }): void {
  child.stdout!.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  child.on('exit', (code, signal) => (output.text += `\n[${name} exited: ${code ?? signal}]\n`));
}

async function waitForPort(port: number, what: string, output: { text: string }): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}:\n${output.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function httpsRequest(url: string, ca: string, method = 'GET', body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method, ca }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => (response.statusCode === 200 ? resolve(text) : reject(new Error(`${method} ${url}: ${response.statusCode} ${text}`))));
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function httpPost(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-pebble-'));
  const { cert, key } = await localhostCertificate(dir);
  const [acmePort, managementPort, tlsPort, dnsPort, dnsManagementPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: cert,
      privateKey: key,
      httpPort: options.httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(options.validitySeconds ? { certificateValidityPeriod: options.validitySeconds } : {}),
    },
  };
  const configFile = path.join(dir, 'pebble-config.json');
  await fs.writeFile(configFile, JSON.stringify(config));
  const output = { text: '' };
  const dns = spawn('pebble-challtestsrv', ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${dnsManagementPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  started(dns, 'pebble-challtestsrv', output);
  const env: NodeJS.ProcessEnv = { ...process.env, PEBBLE_VA_NOSLEEP: '1' };
  if (options.nonceRejectPercent !== undefined) env.PEBBLE_WFE_NONCEREJECT = String(options.nonceRejectPercent);
  if (options.authzReusePercent !== undefined) env.PEBBLE_AUTHZREUSE = String(options.authzReusePercent);
  const pebble = spawn('pebble', ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`], { stdio: ['ignore', 'pipe', 'pipe'], env });
  started(pebble, 'pebble', output);
  const stop = async () => {
    for (const child of [pebble, dns]) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all([waitForPort(acmePort, 'pebble', output), waitForPort(managementPort, 'pebble management', output), waitForPort(dnsManagementPort, 'pebble-challtestsrv', output)]);
  } catch (error) {
    await stop();
    throw error;
  }
  const ca = await fs.readFile(cert, 'utf8');
  const root = () => httpsRequest(`https://127.0.0.1:${managementPort}/roots/0`, ca);
  return {
    directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
    caFile: cert,
    httpPort: options.httpPort,
    root,
    rootFile: async () => {
      const file = path.join(dir, 'root.pem');
      await fs.writeFile(file, await root());
      return file;
    },
    resolve: async (host, address) => {
      // add-a keeps what the name had (the first answer wins); clear-a first, so it resolves to this address only.
      await httpPost(`http://127.0.0.1:${dnsManagementPort}/clear-a`, { host });
      await httpPost(`http://127.0.0.1:${dnsManagementPort}/add-a`, { host, addresses: [address] });
    },
    output: () => output.text,
    stop,
  };
}
