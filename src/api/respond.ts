import type { IncomingMessage, ServerResponse } from 'node:http';
import { BerthError, ConflictError, describe, InputError, NotFoundError } from '../errors.js';
import { DeployOutput, drained } from '../log/output.js';
import type { ErrorBody, StreamEvent } from '../model/api.js';
import { MethodNotAllowedError } from './endpoints.js';

const MAX_BODY_BYTES = 1024 * 1024;

/** A request that changes something, sent as anything but JSON. */
export class UnsupportedMediaTypeError extends BerthError {}

export function statusOf(error: unknown): number {
  if (error instanceof MethodNotAllowedError) return 405;
  if (error instanceof UnsupportedMediaTypeError) return 415;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof InputError) return 400;
  if (error instanceof ConflictError) return 409;
  return 500;
}

export function errorBody(error: unknown): ErrorBody {
  return { error: describe(error), ...(error instanceof BerthError && error.hint ? { hint: error.hint } : {}) };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body) + '\n');
}

/**
 * Every request that changes something says Content-Type: application/json. A web page can make a
 * browser send a form or a text/plain POST anywhere, with the credentials it holds for the server,
 * but not a JSON one without asking the server first (CORS), which berth never allows.
 */
export function assertJsonRequest(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new UnsupportedMediaTypeError(
      `${req.method} ${req.url?.split('?')[0]} needs Content-Type: application/json${type ? `, not ${type}` : ''}`,
      'send the request as JSON with that header, as the berth CLI does (an empty body may be {})',
    );
  }
}

export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new InputError(`the request body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (!size) return {};
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    return body as Record<string, unknown>;
  } catch {
    throw new InputError('the request body must be a JSON object');
  }
}

/**
 * A long operation answers as it goes: newline-delimited JSON, one `{line}` per line a pusher
 * would read, then `{ok: true, result}` or `{ok: false, error, hint}`. The 200 goes out with the
 * first line or the result, so an operation that fails before it prints anything (an unknown
 * app, a bad key, nothing deployed yet) answers with its real status and {error, hint}, like any
 * other endpoint; after that, a failure can only be the final event.
 */
export async function streamOperation(res: ServerResponse, work: (output: DeployOutput, cancelled: AbortSignal) => Promise<unknown>, keepTranscript = true): Promise<void> {
  const send = (event: StreamEvent) => {
    if (res.writableEnded) return;
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(JSON.stringify(event) + '\n');
  };
  const output = new DeployOutput({ write: (line) => send({ line }), drained: () => drained(res) }, keepTranscript);
  try {
    const result = await work(output, cancelWhenClientLeaves(res));
    send({ ok: true, result: result ?? {} });
  } catch (error) {
    if (!res.headersSent) {
      sendJson(res, statusOf(error), errorBody(error));
      return;
    }
    send({ ok: false, ...errorBody(error) });
  }
  res.end();
}

/** Fires when the client goes away before the answer is complete, so the work can stop. */
function cancelWhenClientLeaves(res: ServerResponse): AbortSignal {
  const cancelled = new AbortController();
  res.on('close', () => {
    if (!res.writableEnded) cancelled.abort(new BerthError('the client went away'));
  });
  return cancelled.signal;
}
