// berth run as a user runs it: the installed command against a real server, Docker and nginx.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import Docker from 'dockerode';
import { AppRepo } from '../support/app.js';
import { startBerth, type BerthInstance } from '../support/berth.js';
import { berthCli, cliEnvironment, type CliResult } from '../support/cli.js';
import { installedBerth } from '../support/installed.js';
import { ensureTestBaseImage } from '../support/docker.js';
import { getThroughNginx } from '../support/http.js';
import { recordReliability, whileServing } from '../support/reliability.js';

const docker = new Docker();
const APP = 'tasks';
const HOST = `${APP}.localhost`;
const RUN_TIMEOUT = 3;

/** The installed berth with `input` on its stdin, as a user types into berth run -i. */
function berthWithInput(berth: BerthInstance, args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(installedBerth(), args, { env: { ...process.env, ...cliEnvironment(berth) }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('berth run: one-off commands from the live release', () => {
  let berth: BerthInstance;
  let repo: AppRepo;
  const oneOffs = async () => docker.listContainers({ all: true, filters: { label: [`berth.instance=${berth.instance}`, 'berth.role'] } });
  /** A detached run's removal follows its last line by a moment. */
  const oneOffsSoon = async () => {
    const deadline = Date.now() + 10_000;
    while ((await oneOffs()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    return oneOffs();
  };

  before(async () => {
    await ensureTestBaseImage();
    berth = await startBerth({ args: ['--run-timeout', String(RUN_TIMEOUT)] });
    repo = await AppRepo.create();
  });

  after(async () => {
    await berth?.destroy();
    await repo?.remove();
  });

  test('an app with no live release is refused clearly, and nothing is started', async () => {
    assert.equal((await berthCli(berth, ['apps:create', APP])).code, 0);
    const refused = await berthCli(berth, ['run', APP, '--', 'true']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /tasks has no live release to run a command in/);
    assert.match(refused.stderr, /push it first/);
    assert.deepEqual(await oneOffs(), []);
    await recordReliability({ area: 'Hostile and broken input', fault: 'berth run of an app that has no live release', berthDid: 'refused it ("push it first"), started no container', served: 0, lost: 0 });
  });

  test('streams the output, passes the exit code through, has the app config, and removes the container', async () => {
    const push = await repo.push(berth.remote(APP));
    assert.equal(push.code, 0, push.output);
    assert.equal((await berthCli(berth, ['config:set', APP, 'GREETING=hello from config'])).code, 0);
    const ran = await berthCli(berth, ['run', APP, '--', 'sh', '-c', 'echo "$GREETING"; cat /app/version.txt; exit 7']);
    assert.equal(ran.code, 7, ran.stderr);
    assert.match(ran.stdout, /hello from config/);
    assert.match(ran.stdout, /^v1$/m);
    assert.deepEqual(await oneOffs(), [], 'removed afterwards');
    const ok = await berthCli(berth, ['run', APP, '--', 'echo "one word is a shell line: $((6 * 7))"']);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /shell line: 42/);
  });

  test('-i attaches stdin: a shell reads the commands typed, and its exit code comes back', async () => {
    const ran = await berthWithInput(berth, ['run', APP, '-i', '--', 'sh'], 'echo "typed: $GREETING"\nexit 5\n');
    assert.equal(ran.code, 5, ran.stderr);
    assert.match(ran.stdout, /typed: hello from config/);
    assert.deepEqual(await oneOffsSoon(), []);
    const wrongToken = await berthWithInput({ ...berth, token: 'not-the-token-0000000' }, ['run', APP, '-i', '--', 'sh'], 'exit 0\n');
    assert.equal(wrongToken.code, 3, 'the websocket needs the token too');
    assert.match(wrongToken.stderr, /token/);
  });

  test('--detach prints the name at once; berth logs --run NAME shows what it printed', async () => {
    const started = await berthCli(berth, ['run', APP, '--detach', '--', 'sh', '-c', 'echo detached-output; sleep 1; echo done']);
    assert.equal(started.code, 0, started.stderr);
    const name = started.stdout.trim();
    assert.match(name, new RegExp(`^${berth.instance}_${APP}_run_`));
    let logs = await berthCli(berth, ['logs', APP, '--run', name]);
    const deadline = Date.now() + 15_000;
    while (!/done/.test(logs.stdout) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      logs = await berthCli(berth, ['logs', APP, '--run', name]);
    }
    assert.match(logs.stdout, /detached-output\ndone/);
    assert.deepEqual(await oneOffsSoon(), [], 'removed once it ended');
    const unknown = await berthCli(berth, ['logs', APP, '--run', 'nope']);
    assert.equal(unknown.code, 4);
    assert.match(unknown.stderr, /no one-off output named nope/);
  });

  test('a command that never ends is killed at --run-timeout and removed, while the app serves on', async () => {
    const watched = await whileServing({ httpPort: berth.httpPort, host: HOST }, () => berthCli(berth, ['run', APP, '--', 'sleep 600']));
    const ran = watched.result;
    assert.notEqual(ran.code, 0);
    assert.match(ran.stderr, new RegExp(`ran past its time limit of ${RUN_TIMEOUT} s`));
    assert.match(ran.stderr, /--run-timeout/);
    assert.deepEqual(await oneOffs(), []);
    assert.match((await getThroughNginx(berth.httpPort, HOST, '/')).body, /v1/);
    await recordReliability({ area: 'Bounds', fault: `berth run of a command that never ends (--run-timeout ${RUN_TIMEOUT})`, berthDid: 'killed and removed the one-off container at the limit and said which flag raises it; the app served on', served: watched.served, lost: watched.failures.length });
    assert.deepEqual(watched.failures, []);
  });
});
