// An app moved from Dokku with its CHECKS as Dokku's documentation writes them: comments after
// directives and checks, a redirect without Location, Dokku's defaults; and a CHECKS that is no
// file at all fails the deploy instead of counting as absent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppRepo, type FileChange } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { refusedAtCheckStage } from '../support/check-stage.js';

const APP = 'from-dokku';
const HOST = `${APP}.localhost`;

const DOKKU_CHECKS = `WAIT=1       # Wait a second
ATTEMPTS=6   # attempt checks 6 times
# A redirect that names no target passes, as curl --fail --location passes it
/moved-without-location   moved
/health ok   # the app is up
`;

describe('CHECKS as Dokku writes them', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  let version = 1;

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth();
    repo = await AppRepo.create({ 'version.txt': 'v1\n', CHECKS: DOKKU_CHECKS });
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  test('comments after directives and checks, a 3xx without Location, and Dokku\'s 30 s default timeout', async () => {
    const push = await repo.push(berth.remote(APP));
    assert.equal(push.code, 0, push.output);
    assert.match(push.output, /WAIT=1: waiting 1 s before checking/);
    assert.match(push.output, /CHECKS: 2 check\(s\), up to 6 attempt\(s\) each, 30 s timeout/);
    assert.match(push.output, /GET \/moved-without-location: ok, 302, found "moved"/);
    assert.match(push.output, /GET \/health: ok, 200, found "ok"/);
    assert.match((await getThroughNginx(berth.httpPort, HOST)).body, /Hello from v1/);
  });

  /** Pushes a commit whose CHECKS is `make`s, and expects it refused at the check stage with `reason`, nothing live changing. */
  async function refusedCheckStage(fault: string, make: () => Promise<void>, reason: RegExp): Promise<void> {
    const push = await refusedAtCheckStage(berth, APP, repo, fault, make, reason);
    assert.match(push.output, /Nothing changed: release 1 is still serving from-dokku/);
    assert.doesNotMatch(push.output, /No CHECKS file/);
    assert.match((await getThroughNginx(berth.httpPort, HOST)).body, /Hello from v1/);
  }

  test('a CHECKS that is a directory fails the deploy, saying so', async () => {
    const files: Record<string, FileChange> = { CHECKS: null, 'CHECKS/health': '/health ok\n', 'version.txt': `v${++version}\n` };
    await refusedCheckStage('CHECKS committed as a directory', () => repo.commit(files, 'CHECKS is a directory').then(() => undefined), /CHECKS in commit [0-9a-f]{7} is a directory, not a file/);
  });

  test('a CHECKS that is a git submodule fails the deploy, saying so', async () => {
    await refusedCheckStage(
      'CHECKS committed as a git submodule',
      async () => {
        const commit = (await repo.git('rev-parse', 'HEAD')).trim();
        await repo.git('rm', '-q', '--cached', 'CHECKS');
        await repo.git('update-index', '--add', '--cacheinfo', `160000,${commit},CHECKS`);
        await repo.git('commit', '-q', '-m', 'CHECKS is a submodule');
      },
      /CHECKS in commit [0-9a-f]{7} is a git submodule, not a file/,
    );
  });
});
