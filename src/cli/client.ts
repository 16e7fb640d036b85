import fs from 'node:fs';
import { request, WebSocket } from 'undici';
import type { Agent, Dispatcher } from 'undici';
import { readTokenFile } from '../credentials.js';
import { describe, UsageError } from '../errors.js';
import { defaultDataDir, localFingerprintFile, localUrlFile, tokenFile } from '../model/local-server.js';
import { endpointPath, type AnyEndpoint, type Endpoint, type FinalEvent, type ParamsOf, type RequestOf, type ResponseOf } from '../model/api.js';
import { isLoopbackHost, normalizeFingerprint } from '../model/tls.js';
import { CliError, EXIT, type ExitCode } from './exit.js';
import { verifyingAgent, type Trust } from './trust.js';
import { readUserConfig, type UserConfig } from './user-config.js';

export { CliError, EXIT, type ExitCode };

export const DEFAULT_URL = 'https://127.0.0.1:7070';

const TOKEN_HINT = 'berth serve prints the token when it first makes it; it is in DATA_DIR/token on the server (berth run there as the same user reads it), or in the file its --token-file names; berth login URL with BERTH_TOKEN or --token-file remembers it';

/** berth answered with an error status; the exit status follows from it. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    message: string,
    hint?: string,
  ) {
    super(message, exitCodeForStatus(status), hint);
    this.name = 'ApiError';
  }
}

function exitCodeForStatus(status: number): ExitCode {
  if (status === 400) return EXIT.usage;
  if (status === 401) return EXIT.unreachable;
  if (status === 404) return EXIT.notFound;
  return EXIT.failed;
}

export interface Connection {
  /** The server's root, as for git pushes: the API is under `${url}/api`. */
  url: string;
  token: string;
  /** How its certificate is checked (https only). */
  trust: Trust;
}

/** Which server, and why: one named by --url or BERTH_URL, the one of berth login, the berth of this machine's data dir, or the default. */
interface ChosenServer {
  url: string;
  from: 'named' | 'login' | 'local' | 'default';
}

/**
 * Flags win over BERTH_URL, BERTH_TOKEN_FILE and BERTH_TOKEN; the token never comes from the command
 * line itself. Without a URL flag or BERTH_URL, the client talks to the server of the last berth
 * login, else to the berth serving this machine's data dir (BERTH_DATA_DIR or the default), whose
 * certificate it verifies by the fingerprint that berth wrote there and, without a token, whose
 * token file it reads. A token is only ever sent to the server it was given or saved for.
 */
export function resolveConnection(flags: { url?: string; tokenFile?: string }, env: NodeJS.ProcessEnv = process.env, config: UserConfig = readUserConfig(env)): Connection {
  const dataDir = env.BERTH_DATA_DIR || defaultDataDir();
  const server = chooseServer(flags, env, config, dataDir);
  const saved = config.servers[server.url];
  const local = server.from === 'local';
  const token = givenToken(flags, env) ?? saved?.token ?? (local ? readLocal(tokenFile(dataDir)) : undefined);
  if (!token) throw new CliError('no token: set BERTH_TOKEN, or pass --token-file FILE', EXIT.usage, TOKEN_HINT);
  const caFile = env.BERTH_CA || undefined;
  const localFingerprint = local ? normalizeFingerprint(readLocal(localFingerprintFile(dataDir)) ?? '') : undefined;
  if (localFingerprint) return { url: server.url, token, trust: { fingerprint: localFingerprint, pinnedBy: 'local', caFile } };
  if (saved?.fingerprint) return { url: server.url, token, trust: { fingerprint: saved.fingerprint, pinnedBy: 'login', caFile } };
  return { url: server.url, token, trust: { caFile } };
}

function chooseServer(flags: { url?: string }, env: NodeJS.ProcessEnv, config: UserConfig, dataDir: string): ChosenServer {
  const named = flags.url ?? (env.BERTH_URL || undefined);
  if (named) return { url: normalizeUrl(named), from: 'named' };
  if (config.url) return { url: normalizeUrl(config.url), from: 'login' };
  const local = readLocal(localUrlFile(dataDir));
  if (local) return { url: normalizeUrl(local), from: 'local' };
  return { url: DEFAULT_URL, from: 'default' };
}

export function givenToken(flags: { tokenFile?: string }, env: NodeJS.ProcessEnv): string | undefined {
  const file = flags.tokenFile ?? (env.BERTH_TOKEN_FILE || undefined);
  if (file) return readTokenFile(file, flags.tokenFile ? '--token-file' : 'BERTH_TOKEN_FILE');
  return env.BERTH_TOKEN || undefined;
}

/** A file of the local berth's data dir, when this user may read it. */
function readLocal(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`"${raw}" is not a URL like https://server:7070 (--url or BERTH_URL)`);
  }
  // "server:7070" parses as a URL with the scheme "server:", so the scheme has to be checked.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`"${raw}" is not an https:// or http:// URL (--url or BERTH_URL), e.g. https://server:7070`);
  }
  return url.href.replace(/\/+$/, '');
}

/** An endpoint that takes no request is called without one. */
type RequestArgs<E> = undefined extends RequestOf<E> ? [request?: RequestOf<E>] : [request: RequestOf<E>];

/** Calls the endpoints of API (src/model/api.ts), so each request and answer has the type the server's side has. */
export class Client {
  private agent: Agent | undefined;

  constructor(readonly connection: Connection) {
    const { protocol, hostname } = new URL(connection.url);
    if (protocol === 'http:' && !isLoopbackHost(hostname)) {
      process.stderr.write(`berth: warning: ${connection.url} is plain HTTP: the token crosses the network in clear. Use https:// (berth serves HTTPS unless started with --insecure-http)\n`);
    }
  }

  /** Checks every TLS connection before the token goes out on it; over plain HTTP there is nothing to check. */
  private dispatcher(): Agent {
    return (this.agent ??= verifyingAgent(this.connection.url, this.connection.trust));
  }

  async call<E extends AnyEndpoint>(endpoint: E, params: ParamsOf<E>, ...[request]: RequestArgs<E>): Promise<ResponseOf<E>> {
    const path = endpointPath(endpoint as Endpoint<string, unknown, unknown>, params);
    const response = await this.send(endpoint, path, request, {});
    const text = await readText(response);
    try {
      return JSON.parse(text) as ResponseOf<E>;
    } catch {
      throw new CliError(`berth answered ${endpoint.method} ${path} with something that is not JSON: ${excerpt(text)}`, EXIT.failed);
    }
  }

  /** Hands every `{line}` event to onLine as it arrives and resolves with the final event's result. */
  async stream<E extends AnyEndpoint>(endpoint: E, params: ParamsOf<E>, request: RequestOf<E>, onLine: (line: string) => void): Promise<ResponseOf<E>> {
    const path = endpointPath(endpoint as Endpoint<string, unknown, unknown>, params);
    // A quiet deploy or `logs --follow` may send nothing for minutes: only Ctrl-C ends the wait.
    const response = await this.send(endpoint, path, request, { headersTimeout: 0, bodyTimeout: 0 });
    response.body.setEncoding('utf8');
    let pending = '';
    try {
      for await (const chunk of response.body) {
        const lines = (pending + (chunk as string)).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const final = handleEvent(line, onLine);
          // Leaving the loop destroys the body: nothing after the final event matters.
          if (final) return finish<ResponseOf<E>>(final);
        }
      }
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw connectionLost(describe(error));
    }
    const final = handleEvent(pending, onLine);
    if (final) return finish<ResponseOf<E>>(final);
    throw connectionLost('the stream ended without a result');
  }

  private authorization(): string {
    return `Basic ${Buffer.from(`berth:${this.connection.token}`).toString('base64')}`;
  }

  /** A websocket to the endpoint, through the same checked connections and with the same token as every request. */
  openWebSocket(endpoint: AnyEndpoint, params: Record<string, string>): WebSocket {
    const path = endpointPath(endpoint as Endpoint<string, unknown, unknown>, params);
    const url = `${this.connection.url.replace(/^http/, 'ws')}/api${path}`;
    return new WebSocket(url, { dispatcher: this.dispatcher(), headers: { authorization: this.authorization() } });
  }

  /** A GET carries its request in the query string, any other method as a JSON body. */
  private async send(endpoint: AnyEndpoint, path: string, payload: unknown, timeouts: { headersTimeout?: number; bodyTimeout?: number }): Promise<Dispatcher.ResponseData> {
    // The server takes a change only as JSON (a browser's cross-site form cannot send that), so every one carries a body, {} at least.
    const body = endpoint.method === 'GET' ? undefined : JSON.stringify(payload ?? {});
    const query = endpoint.method === 'GET' ? queryString(payload) : '';
    const headers: Record<string, string> = {
      accept: 'application/json, application/x-ndjson',
      authorization: this.authorization(),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.connection.url}/api${path}${query}`, { method: endpoint.method, headers, body, dispatcher: this.dispatcher(), ...timeouts });
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`cannot reach berth at ${this.connection.url}: ${describe(error)}`, EXIT.unreachable, unreachableHint(this.connection.url, error));
    }
    if (response.statusCode >= 300) throw await apiError(response);
    return response;
  }
}

/** A server that closes a plain HTTP request unanswered is most likely berth speaking HTTPS, as it does unless told otherwise. */
function unreachableHint(url: string, error: unknown): string {
  if (url.startsWith('http:') && (error as { code?: unknown }).code === 'UND_ERR_SOCKET') {
    const https = url.replace(/^http:/, 'https:');
    return `berth serves HTTPS on its git port unless started with --insecure-http: use ${https} (berth login ${https} checks and pins its certificate)`;
  }
  return 'is berth serve running there? Point the client at it with --url or BERTH_URL (e.g. https://server:7070), or berth login URL';
}

/** `{ lines: 20, follow: true }` as `?lines=20&follow=1`, the way the router reads it; false leaves a switch out. */
function queryString(request: unknown): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(request ?? {})) {
    if (value !== false && value !== undefined) query.set(name, value === true ? '1' : String(value));
  }
  const text = query.toString();
  return text ? `?${text}` : '';
}

async function readText(response: Dispatcher.ResponseData): Promise<string> {
  try {
    return await response.body.text();
  } catch (error) {
    throw connectionLost(describe(error));
  }
}

async function apiError(response: Dispatcher.ResponseData): Promise<ApiError> {
  const status = response.statusCode;
  const text = await readText(response);
  let parsed: { error?: unknown; hint?: unknown } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not berth's JSON error (a proxy in between, or not a berth server): the status says enough.
  }
  const message = typeof parsed.error === 'string' ? parsed.error : `berth answered HTTP ${status}${text ? `: ${excerpt(text)}` : ''}`;
  const hint = typeof parsed.hint === 'string' ? parsed.hint : defaultHint(status);
  return new ApiError(status, message, hint);
}

function defaultHint(status: number): string | undefined {
  if (status === 401) return `check BERTH_TOKEN or --token-file: ${TOKEN_HINT}`;
  return undefined;
}

/** Returns the final event, or undefined after passing a `{line}` event on. */
function handleEvent(text: string, onLine: (line: string) => void): FinalEvent | undefined {
  if (text.trim() === '') return undefined;
  let event: { line?: unknown; ok?: unknown };
  try {
    event = JSON.parse(text) as typeof event;
  } catch {
    throw new CliError(`berth sent a stream event that is not JSON: ${excerpt(text)}`, EXIT.failed);
  }
  if (typeof event.ok === 'boolean') return event as FinalEvent;
  if (typeof event.line === 'string') onLine(event.line);
  return undefined;
}

function finish<T>(final: FinalEvent): T {
  if (final.ok) return final.result as T;
  throw new CliError(final.error, EXIT.failed, final.hint);
}

function connectionLost(detail: string): CliError {
  return new CliError(
    `the connection to berth was lost (${detail})`,
    EXIT.failed,
    'the operation may still have finished on the server: check with berth status',
  );
}

function excerpt(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}...` : oneLine;
}
