import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitOutput } from '../../src/runtime/images.js';

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
