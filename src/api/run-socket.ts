import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PassThrough } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { AppService } from '../apps/service.js';
import { BerthError, InputError } from '../errors.js';
import { DeployOutput } from '../log/output.js';
import type { StreamEvent } from '../model/api.js';
import { findEndpoint } from './endpoints.js';
import { readRunRequest } from './requests.js';
import { errorBody } from './respond.js';

/** What a client may send in one message: a line typed, or a paste; not a file. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * berth run -i: stdin has to travel up while output comes down, so it is a websocket on the run
 * endpoint's path (ws does the framing). The client's first message is the RunRequest as JSON;
 * each binary message after it is stdin, and `{"eof": true}` closes stdin. berth sends the
 * StreamEvents a streamed answer carries, one per text message, the last the result; the client
 * going away kills the container.
 */
export function createRunSocketHandler(service: AppService): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  return (req, socket, head) => {
    const app = runEndpointApp(req.url ?? '/');
    if (app === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n{"error":"only berth run -i (POST /api/apps/APP/run) speaks websocket"}\n');
      return;
    }
    server.handleUpgrade(req, socket, head, (websocket) => {
      websocket.once('message', (data, binary) => void runOver(service, app, websocket, binary ? undefined : data));
    });
  };
}

function runEndpointApp(url: string): string | undefined {
  try {
    const match = findEndpoint('POST', new URL(url, 'http://berth').pathname);
    return match.name === 'run' ? match.params.app : undefined;
  } catch {
    return undefined;
  }
}

async function runOver(service: AppService, app: string, websocket: WebSocket, first: RawData | undefined): Promise<void> {
  const send = (event: StreamEvent) => websocket.readyState === websocket.OPEN && websocket.send(JSON.stringify(event));
  const stdin = new PassThrough();
  const gone = new AbortController();
  websocket.on('message', (data, binary) => {
    if (binary) stdin.write(data as Buffer);
    else stdin.end();
  });
  websocket.on('close', () => {
    stdin.end();
    gone.abort(new BerthError('the client went away'));
  });
  try {
    const request = readRunRequest({ body: parseRequest(first), query: new URLSearchParams() });
    const output = new DeployOutput({ write: (line) => send({ line }) }, false);
    const result = await service.run.run(app, { ...request, detach: false }, output, gone.signal, stdin);
    send({ ok: true, result });
  } catch (error) {
    send({ ok: false, ...errorBody(error) });
  }
  websocket.close(1000);
}

function parseRequest(data: RawData | undefined): Record<string, unknown> {
  try {
    const body: unknown = JSON.parse(String(data));
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // Answered below, as any request that is not the JSON object it should be.
  }
  throw new InputError('the first message must be the run request as JSON: {"command": ["sh"]}');
}
