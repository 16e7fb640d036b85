/**
 * How berth reaches a Docker engine it was given by URL (berth nodes:add, --swarm-engine): a unix
 * socket, TCP with TLS, or SSH (docker-modem runs `docker system dial-stdio` on the host through
 * ssh2, with the keys of the SSH agent at SSH_AUTH_SOCK).
 */
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { InputError } from '../../errors.js';

export type EngineAddress =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ssh'; host: string; port: number; username: string | undefined };

const URL_HINT = 'give the engine as unix:///var/run/docker.sock (or the socket\'s path), tcp://HOST:2376 (TLS) or ssh://USER@HOST';

/** The engine's address, or an InputError that shows the forms berth takes. */
export function parseEngineUrl(url: string): EngineAddress {
  const given = url.trim();
  if (given.startsWith('/')) return { kind: 'unix', socketPath: given };
  let parsed: URL;
  try {
    parsed = new URL(given);
  } catch {
    throw new InputError(`"${url}" is not an engine URL`, URL_HINT);
  }
  const port = parsed.port ? Number(parsed.port) : undefined;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  switch (parsed.protocol) {
    case 'unix:':
      if (!parsed.pathname || parsed.pathname === '/' || host) throw new InputError(`"${url}" names no socket path`, 'like unix:///var/run/docker.sock (three slashes: no host)');
      return { kind: 'unix', socketPath: decodeURIComponent(parsed.pathname) };
    case 'tcp:':
      if (!host || port === undefined) throw new InputError(`"${url}" needs a host and a port`, 'like tcp://10.0.0.5:2376 (the engine\'s TLS port)');
      return { kind: 'tcp', host, port };
    case 'ssh:':
      if (!host) throw new InputError(`"${url}" names no host`, 'like ssh://root@10.0.0.5');
      return { kind: 'ssh', host, port: port ?? 22, username: parsed.username ? decodeURIComponent(parsed.username) : undefined };
    default:
      throw new InputError(`"${url}" is not an engine URL berth can reach (${parsed.protocol.replace(/:$/, '')}://)`, URL_HINT);
  }
}

/** The host berth reaches the engine at, undefined for a socket on this machine. */
export function engineHost(address: EngineAddress): string | undefined {
  return address.kind === 'unix' ? undefined : address.host;
}

/** Where the client certificate for an engine at `host` is: DATA_DIR/nodes/tls/HOST, else DOCKER_CERT_PATH. */
export function tlsDirFor(host: string, dataDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const own = path.join(dataDir, 'nodes', 'tls', host);
  if (fs.existsSync(path.join(own, 'ca.pem'))) return own;
  return env.DOCKER_CERT_PATH || undefined;
}

const TLS_FILES = ['ca.pem', 'cert.pem', 'key.pem'] as const;

/**
 * The engine over TLS only: a Docker engine's API is root on its host, and plain TCP would hand
 * that to anyone on the network path.
 */
function tlsOptions(host: string, dataDir: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  const dir = tlsDirFor(host, dataDir);
  const hint = `put that engine's client certificate (${TLS_FILES.join(', ')}) in ${path.join(dataDir, 'nodes', 'tls', host)}/ or set DOCKER_CERT_PATH to their folder; or reach the engine as ssh://USER@${host}`;
  if (!dir) throw new InputError(`tcp://${host} needs TLS: berth has no client certificate for it`, hint);
  const missing = TLS_FILES.filter((file) => !fs.existsSync(path.join(dir, file)));
  if (missing.length) throw new InputError(`${dir} has no ${missing.join(', ')} for tcp://${host}`, hint);
  const [ca, cert, key] = TLS_FILES.map((file) => fs.readFileSync(path.join(dir, file)));
  return { ca, cert, key };
}

/** A client of the engine at `url`; nothing is sent until it is used. Bad URLs are InputErrors. */
export function engineFromUrl(url: string, dataDir: string): Docker {
  const address = parseEngineUrl(url);
  // host: undefined everywhere it does not belong, so a DOCKER_HOST in berth's environment never wins over the URL.
  switch (address.kind) {
    case 'unix':
      return new Docker({ socketPath: address.socketPath, host: undefined });
    case 'tcp':
      return new Docker({ protocol: 'https', host: address.host, port: address.port, ...tlsOptions(address.host, dataDir) });
    case 'ssh':
      return new Docker({ protocol: 'ssh', host: address.host, port: address.port, username: address.username, sshOptions: { agent: process.env.SSH_AUTH_SOCK } });
  }
}

/** The URL as berth shows and stores it: unix:// for a bare socket path. */
export function normalEngineUrl(url: string): string {
  const address = parseEngineUrl(url);
  return address.kind === 'unix' ? `unix://${address.socketPath}` : url.trim();
}
