import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineDiskUsage, type ImageRow } from '../../src/runtime/disk.js';
import { formatBytes } from '../../src/model/bytes.js';

const MB = 1024 * 1024;

/** A classic-builder image: its size is its own layer plus its parent's size. */
function image(id: string, parent: ImageRow | undefined, ownMb: number, extra: Partial<ImageRow> = {}): ImageRow {
  return { Id: id, ParentId: parent?.Id ?? '', Size: (parent?.Size ?? 0) + ownMb * MB, RepoTags: ['<none>:<none>'], Labels: {}, ...extra };
}

test("berth's images count the layers only they use, shared ones once; dangling images of failed builds are the build cache", () => {
  const base = image('base', undefined, 100, { RepoTags: ['node:20'] });
  const copy = image('copy', base, 10);
  const npm = image('npm', copy, 50);
  const release1 = image('r1', npm, 0, { RepoTags: ['berth/shop:1'], Labels: { 'berth.instance': 'berth' } });
  const release2 = image('r2', npm, 0, { RepoTags: ['berth/shop:2'], Labels: { 'berth.instance': 'berth' } });
  // A failed build: its COPY step was cached, its next step's image is left dangling.
  const failedStep = image('failed', copy, 7);
  const otherInstance = image('o1', base, 3, { RepoTags: ['other/shop:1'], Labels: { 'berth.instance': 'other' } });
  const usage = engineDiskUsage([base, copy, npm, release1, release2, failedStep, otherInstance], [{ Size: 2 * MB }, { Size: 9 * MB, Shared: true }], 'berth');
  assert.deepEqual(usage.images, { count: 2, bytes: 60 * MB }, 'COPY and npm once; the base image others use is not counted');
  assert.deepEqual(usage.buildCache, { count: 2, bytes: 9 * MB }, 'the dangling step, and the BuildKit record no one shares');
});

test('sizes read as a person would', () => {
  assert.deepEqual([0, 512, 1536, 5 * MB, 123.4 * MB, 3 * 1024 * MB].map(formatBytes), ['0 B', '512 B', '1.5 KiB', '5.0 MiB', '123 MiB', '3.0 GiB']);
});
