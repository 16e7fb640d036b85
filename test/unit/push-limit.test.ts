import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import zlib from 'node:zlib';
import { limitPushBody, pushRefusal } from '../../src/git/push-limit.js';

/** A request whose body is `chunks`, as limitPushBody reads one. */
function request(chunks: Buffer[], headers: Record<string, string> = {}): IncomingMessage {
  const req = Object.assign(new PassThrough(), { headers, complete: false });
  req.on('end', () => (req.complete = true));
  Readable.from(chunks).pipe(req);
  return req as unknown as IncomingMessage;
}

async function read(body: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of body) bytes += (chunk as Buffer).length;
  return bytes;
}

test('a push body under the limit reaches git whole; one over it is cut at the limit and the rest is drained', async () => {
  const chunks = Array.from({ length: 10 }, () => Buffer.alloc(1000, 'p'));
  let refused = 0;
  assert.equal(await read(limitPushBody(request(chunks), 10_000, () => refused++)), 10_000);
  assert.equal(refused, 0);
  const req = request(chunks);
  assert.equal(await read(limitPushBody(req, 2500, () => refused++)), 2500);
  assert.equal(refused, 1);
  assert.equal(req.complete, true, 'the rest of the request was read, so the client gets git\'s answer');
});

test('a gzip-encoded body is counted inflated, as git reads it, and cut at the limit', async () => {
  const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024));
  let refused = 0;
  const body = limitPushBody(request([bomb], { 'content-encoding': 'gzip' }), 1024 * 1024, () => refused++);
  assert.equal(await read(body), 1024 * 1024);
  assert.equal(refused, 1);
  const small = zlib.gzipSync(Buffer.from('0000'));
  assert.equal(await read(limitPushBody(request([small], { 'content-encoding': 'gzip' }), 1024, () => refused++)), 4);
});

test('the refusal reaches the pusher as git progress lines naming the app, the limit and the flag', () => {
  const packets = pushRefusal('shop', 1024 ** 3).toString('latin1');
  const first = packets.slice(0, Number.parseInt(packets.slice(0, 4), 16));
  assert.equal(first.slice(4, 5), '\x02');
  assert.match(first, /the push to shop is larger than the limit of 1 GiB/);
  assert.match(packets.slice(first.length), /^[0-9a-f]{4}\x02.*--max-push-size \(BERTH_MAX_PUSH_SIZE\)\.\n$/);
});
