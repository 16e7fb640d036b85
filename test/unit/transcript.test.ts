import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeployOutput } from '../../src/log/output.js';
import { DEPLOY_LOG_MAX_BYTES, Transcript } from '../../src/log/transcript.js';

test('a short transcript is kept whole, one line each', () => {
  const transcript = new Transcript(1024);
  for (const line of ['a', 'b', 'c']) transcript.add(line);
  assert.equal(transcript.text(), 'a\nb\nc\n');
  assert.equal(new Transcript().text(), '');
});

test('a runaway output keeps its head and its newest lines within the cap, and says what it left out', () => {
  const transcript = new Transcript(4096);
  for (let i = 0; i < 100_000; i++) transcript.add(`line ${i} ${'x'.repeat(20)}`);
  const text = transcript.text();
  assert.ok(Buffer.byteLength(text) <= 4096 + 200, `${Buffer.byteLength(text)} bytes`);
  assert.match(text, /^line 0 /);
  assert.match(text, /line 99999 x+\n$/);
  const gap = /\[\.\.\. (\d+) line\(s\) left out: a deploy log keeps its first and last 2 KiB \.\.\.\]/.exec(text);
  assert.ok(gap, text.slice(0, 300));
  const kept = text.split('\n').filter((l) => l.startsWith('line ')).length;
  assert.equal(kept + Number(gap[1]), 100_000, 'every line is either kept or counted as left out');
});

test('one enormous line is cut, not kept whole', () => {
  const transcript = new Transcript(64 * 1024);
  transcript.add('y'.repeat(10 * 1024 * 1024));
  assert.ok(transcript.text().length < 10_000);
  assert.match(transcript.text(), /\[\.\.\. line cut \.\.\.\]\n$/);
});

test('DeployOutput sends every line live but keeps at most the deploy log cap', () => {
  let live = 0;
  const output = new DeployOutput({ write: () => live++ });
  const line = 'z'.repeat(1000);
  for (let i = 0; i < 5000; i++) output.info(line);
  assert.equal(live, 5000);
  assert.ok(Buffer.byteLength(output.transcript()) <= DEPLOY_LOG_MAX_BYTES + 2000);
});
