import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { listReleaseRefs, deleteReleaseRefs, releaseRef } from '../../src/git/release-refs.js';
import { CommitTree, MissingCommitError } from '../../src/git/tree.js';

const run = promisify(execFile);
const FILES = { Procfile: 'web: node server.js\n', CHECKS: '/health ok\n' };

async function git(env: NodeJS.ProcessEnv, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { env: { ...process.env, ...env }, encoding: 'buffer', maxBuffer: 1 << 24 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    child.stdin!.end(input);
  });
}

/**
 * An app repository in the state git leaves it in while pre-receive runs: the pushed commit's
 * objects only in a quarantine folder under objects/, as loose objects or as one pack.
 */
async function quarantinedPush(t: TestContext, as: 'loose' | 'pack'): Promise<{ repo: string; commit: string; quarantine: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-unit-git-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const work = path.join(dir, 'work');
  await fs.mkdir(work);
  for (const [name, content] of Object.entries(FILES)) await fs.writeFile(path.join(work, name), content);
  const inWork = ['-C', work, '-c', 'user.email=t@berth', '-c', 'user.name=t'];
  await run('git', ['init', '-q', work]);
  await run('git', [...inWork, 'add', '-A']);
  await run('git', [...inWork, 'commit', '-q', '-m', 'push']);
  const commit = (await run('git', [...inWork, 'rev-parse', 'HEAD'])).stdout.trim();
  const repo = path.join(dir, 'app.git');
  await run('git', ['init', '-q', '--bare', repo]);
  const quarantine = path.join(repo, 'objects', 'tmp_objdir-incoming-unit');
  await fs.mkdir(quarantine);
  const pack = await git({}, ['-C', work, 'pack-objects', '--revs', '--stdout'], Buffer.from(`${commit}\n`));
  const intoQuarantine = { GIT_DIR: repo, GIT_OBJECT_DIRECTORY: quarantine, GIT_ALTERNATE_OBJECT_DIRECTORIES: path.join(repo, 'objects') };
  await git(intoQuarantine, as === 'pack' ? ['index-pack', '--stdin'] : ['unpack-objects', '-q'], pack);
  return { repo, commit, quarantine };
}

function quarantineEnv(repo: string, quarantine: string) {
  return { GIT_QUARANTINE_PATH: quarantine, GIT_OBJECT_DIRECTORY: quarantine, GIT_ALTERNATE_OBJECT_DIRECTORIES: path.join(repo, 'objects') };
}

test('a commit the repository lost is a clear error naming it and saying to push again, never "no such file"', async (t) => {
  const { repo, commit, quarantine } = await quarantinedPush(t, 'loose');
  // What git does when it rejects the push: the quarantine goes, with the only copy of the commit.
  await fs.rm(quarantine, { recursive: true });
  const tree = new CommitTree(repo, commit);
  for (const read of [() => tree.readFile('Procfile', 1024), () => tree.exists('CHECKS'), () => tree.keep(2)]) {
    await assert.rejects(read, (error: MissingCommitError) => {
      assert.ok(error instanceof MissingCommitError);
      assert.match(error.message, new RegExp(`app's repository does not have commit ${commit.slice(0, 7)} \\(${commit}\\)`));
      assert.match(error.hint ?? '', /push it again \(git push deploy main\)/);
      return true;
    });
  }
  assert.deepEqual(await listReleaseRefs(repo), []);
});

test('a file the commit does not have is absent; one it has is read', async (t) => {
  const { repo, commit, quarantine } = await quarantinedPush(t, 'loose');
  const tree = new CommitTree(repo, commit, quarantineEnv(repo, quarantine));
  assert.equal(await tree.readFile('Dockerfile', 1024), undefined);
  assert.equal((await tree.readFile('CHECKS', 1024))?.content.toString(), FILES.CHECKS);
});

for (const as of ['loose', 'pack'] as const) {
  test(`a kept release's commit outlives the quarantine of a push git rejects (objects ${as === 'pack' ? 'in a pack' : 'loose'})`, async (t) => {
    const { repo, commit, quarantine } = await quarantinedPush(t, as);
    await new CommitTree(repo, commit, quarantineEnv(repo, quarantine)).keep(7);
    await fs.rm(quarantine, { recursive: true });
    assert.deepEqual(await listReleaseRefs(repo), [7]);
    assert.equal((await git({ GIT_DIR: repo }, ['rev-parse', releaseRef(7)])).toString().trim(), commit);
    // Every object of the commit is in the repository's own store: git can walk and read them all.
    await git({ GIT_DIR: repo }, ['fsck', '--no-dangling', '--connectivity-only']);
    const later = new CommitTree(repo, commit);
    assert.equal((await later.readFile('Procfile', 1024))?.content.toString(), FILES.Procfile);
  });
}

test('git accepting the push after the commit was kept (its own migration of the quarantine) loses nothing', async (t) => {
  const { repo, commit, quarantine } = await quarantinedPush(t, 'pack');
  await new CommitTree(repo, commit, quarantineEnv(repo, quarantine)).keep(1);
  // What git does on success: every quarantined file moves into objects/, and one already there stays.
  const moved = await fs.readdir(quarantine, { recursive: true, withFileTypes: true });
  for (const file of moved.filter((e) => e.isFile())) {
    const target = path.join(repo, 'objects', path.relative(quarantine, path.join(file.parentPath, file.name)));
    await fs.link(path.join(file.parentPath, file.name), target).catch((error: NodeJS.ErrnoException) => assert.equal(error.code, 'EEXIST'));
  }
  await fs.rm(quarantine, { recursive: true });
  await git({ GIT_DIR: repo }, ['update-ref', 'refs/heads/main', commit]);
  await git({ GIT_DIR: repo }, ['fsck', '--no-dangling']);
  await new CommitTree(repo, commit).keep(2);
  await deleteReleaseRefs(repo, [1]);
  assert.deepEqual(await listReleaseRefs(repo), [2]);
});
