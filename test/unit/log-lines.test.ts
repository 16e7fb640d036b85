import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { LineSplitter } from '../../src/log/lines.js';
import { DockerFrames } from '../../src/runtime/logs.js';

async function linesOf(chunks: Buffer[], maxBytes: number, frames = false): Promise<string[]> {
  const input = Readable.from(chunks);
  const lines: string[] = [];
  for await (const line of (frames ? input.pipe(new DockerFrames()) : input).pipe(new LineSplitter(maxBytes))) lines.push(line as string);
  return lines;
}

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('lines are split wherever the chunks end, CRLF included, and a line over the bound comes in pieces', async () => {
  assert.deepEqual(await linesOf([Buffer.from('one\r\ntw'), Buffer.from('o\n\nthree')], 100), ['one', 'two', '', 'three']);
  assert.deepEqual(await linesOf([Buffer.from('abcdefghij'), Buffer.from('k\nxy\n')], 4), ['abcd', 'efgh', 'ijk', 'xy']);
  assert.deepEqual(await linesOf([Buffer.from('abcd'), Buffer.from('\n')], 4), ['abcd']);
});

test('a line without end is passed on in bounded pieces, nothing lost', async () => {
  const chunks = Array.from({ length: 100 }, () => Buffer.alloc(10_000, 'y'));
  const lines = await linesOf(chunks, 64 * 1024);
  assert.ok(lines.every((line) => line.length <= 64 * 1024));
  assert.equal(lines.join('').length, 1_000_000);
});

test('the engine frames of stdout and stderr are taken apart however the chunks cut them', async () => {
  const framed = Buffer.concat([frame(1, 'out one\nout '), frame(2, 'err\n'), frame(1, 'two\n')]);
  const cut = [framed.subarray(0, 3), framed.subarray(3, 13), framed.subarray(13, 27), framed.subarray(27)];
  assert.deepEqual(await linesOf(cut, 1000, true), ['out one', 'out err', 'two']);
  assert.deepEqual(await linesOf([Buffer.from('a tty stream\nhas no frames\n')], 1000, true), ['a tty stream', 'has no frames']);
});
