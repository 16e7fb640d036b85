import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import Docker from 'dockerode';
import { buildImage, splitOutput } from '../../src/runtime/images.js';
import { ImageBuildError } from '../../src/runtime/runtime.js';

test('build output is split into whole lines, keeping the unfinished one for the next chunk', () => {
  assert.deepEqual(splitOutput('', 'a\nb\npar'), { lines: ['a', 'b'], partial: 'par' });
  assert.deepEqual(splitOutput('par', 'tial\n'), { lines: ['partial'], partial: '' });
});

test('output without newlines (a progress bar) is passed on in pieces instead of growing without bound', () => {
  let partial = '';
  const lines: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const split = splitOutput(partial, '.'.repeat(100));
    partial = split.partial;
    lines.push(...split.lines);
  }
  assert.ok(partial.length <= 8 * 1024, `the partial line grew to ${partial.length} characters`);
  assert.equal(lines.join('').length + partial.length, 1_000_000, 'nothing is lost');
});

/** The heap in use after a full collection, so that what a reader still holds is all that counts. */
const collectGarbage = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

function heapInUse(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Runs a build whose engine answers with `progress`, sampling the heap while the stream is read. */
async function buildFrom(chunks: () => Generator<string>, sampleEvery: number, onLine: (line: string) => void = () => undefined): Promise<{ growthBytes: number; error: unknown }> {
  const samples: number[] = [];
  function* sampled() {
    let count = 0;
    for (const chunk of chunks()) {
      if (count++ % sampleEvery === 0) samples.push(heapInUse());
      yield chunk;
    }
    samples.push(heapInUse());
  }
  const docker = Object.assign(new Docker(), { buildImage: async () => Readable.from(sampled()) });
  const build = { context: Readable.from([]), tag: 'berth-unit/never:1', labels: {}, signal: new AbortController().signal, onLine };
  const error = await buildImage(docker, build).then(() => undefined, (e: unknown) => e);
  return { growthBytes: Math.max(...samples) - samples[0], error };
}

test('a build that prints without end is read event by event: berth holds none of what it passed on', async () => {
  let lines = 0;
  const event = `{"stream":"${'y'.repeat(100)}\\n"}\r\n`;
  const { growthBytes, error } = await buildFrom(function* () {
    for (let i = 0; i < 2000; i++) yield event.repeat(100);
  }, 250, () => lines++);
  assert.equal(error, undefined);
  assert.equal(lines, 200_000, 'every line reaches the pusher');
  assert.ok(growthBytes < 16 * 1024 * 1024, `the heap grew by ${(growthBytes / 1024 / 1024).toFixed(1)} MiB while 200,000 events were read`);
});

test('a progress stream without newlines is held at most one bounded event at a time', async () => {
  const { growthBytes } = await buildFrom(function* () {
    yield '{"stream":"';
    for (let i = 0; i < 384; i++) yield 'y'.repeat(64 * 1024);
  }, 48);
  assert.ok(growthBytes < 8 * 1024 * 1024, `the heap grew by ${(growthBytes / 1024 / 1024).toFixed(1)} MiB for 24 MiB without a newline`);
});

test('a failing step is still the verdict, and the build output before it reaches the pusher', async () => {
  const lines: string[] = [];
  const { error } = await buildFrom(function* () {
    yield '{"stream":"Step 1/2 : RUN false\\n"}\r\n{"stream":"partial ';
    yield 'line"}\r\n{"errorDetail":{"message":"The command returned a non-zero code: 1"},"error":"x"}\r\n';
  }, 1, (line) => lines.push(line));
  assert.deepEqual(lines, ['Step 1/2 : RUN false', 'partial line']);
  assert.ok(error instanceof ImageBuildError && error.kind === 'failed' && /non-zero code: 1/.test(error.message), String(error));
});
