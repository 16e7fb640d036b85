// Runs the compiled tests: node scripts/run-tests.mjs [unit|e2e|all]  (default: all), unit first.
// Around the e2e run it removes what tests leave behind: labelled Docker resources, test nginx
// processes and their temporary data directories.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUITE_DIRS = { unit: 'dist/test/unit', e2e: 'dist/test/e2e' };
const SUITES_BY_MODE = { unit: ['unit'], e2e: ['e2e'], all: ['unit', 'e2e'] };
const TEST_DATA_DIR_PREFIX = 'berth-test-';
const NGINX_EXIT_WAIT_MS = 3000;

function say(message) {
  console.log(`[run-tests] ${message}`);
}

function parseMode(argv) {
  const mode = argv[2] ?? 'all';
  if (!(mode in SUITES_BY_MODE)) {
    console.error(`usage: node scripts/run-tests.mjs [unit|e2e|all]  (got "${mode}")`);
    process.exit(2);
  }
  return mode;
}

function findTestFiles(suite) {
  const dir = path.join(REPO_ROOT, SUITE_DIRS[suite]);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .filter((name) => name.endsWith('.test.js'))
    .sort()
    .map((name) => path.join(dir, name));
}

function findFilesNamed(dir, fileName) {
  return readdirSync(dir, { recursive: true })
    .filter((name) => path.basename(name) === fileName)
    .map((name) => path.join(dir, name));
}

function testDataDirs() {
  const tmp = os.tmpdir();
  return readdirSync(tmp, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name.startsWith(TEST_DATA_DIR_PREFIX))
    .map((entry) => path.join(tmp, entry.name));
}

// nginx deletes its pid file when it exits, possibly between listing and reading it.
function readPid(pidFile) {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

// A stale pid file may name a pid that now belongs to an unrelated process.
function isRunningNginx(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nginx';
  } catch {
    return false;
  }
}

async function waitForExit(pids) {
  const deadline = Date.now() + NGINX_EXIT_WAIT_MS;
  while (pids.some(isRunningNginx) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function quitNginx(pidFile) {
  const pid = readPid(pidFile);
  if (pid === undefined || !isRunningNginx(pid)) return undefined;
  process.kill(pid, 'SIGQUIT');
  return pid;
}

async function stopTestNginxAndRemoveDataDirs() {
  const dirs = testDataDirs();
  const pids = dirs
    .flatMap((dir) => findFilesNamed(dir, 'nginx.pid'))
    .map(quitNginx)
    .filter((pid) => pid !== undefined);
  await waitForExit(pids);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  say(`stopped ${pids.length} test nginx process(es), removed ${dirs.length} ${TEST_DATA_DIR_PREFIX}* dir(s)`);
}

async function removeDockerResources(options) {
  const { removeTestResources } = await import('../dist/test/support/docker.js');
  const { containers, networks, images } = await removeTestResources(options);
  say(`removed ${containers} container(s), ${networks} network(s), ${images} image(s) of tests`);
}

async function cleanUp(when, dockerOptions) {
  say(`cleaning up ${when} e2e tests`);
  const steps = [() => removeDockerResources(dockerOptions), stopTestNginxAndRemoveDataDirs];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      console.error(`[run-tests] cleanup ${when} e2e tests failed: ${error?.stack ?? error}`);
    }
  }
}

// A test that hangs (a load that is never stopped, a process never answering) fails after this
// instead of holding the whole run until CI's own limit.
const TEST_TIMEOUT_MS = 10 * 60 * 1000;

function runNodeTest(files) {
  const args = ['--test', '--test-concurrency=1', '--test-reporter=spec', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal) say(`node --test was killed by ${signal}`);
      resolve(code ?? 1);
    });
  });
}

// node --test sorts the files it is given, which would put e2e before unit, so each suite
// gets its own run; e2e still runs when unit fails, and the first failure decides the exit code.
async function runSuite(suite, files) {
  const isE2e = suite === 'e2e';
  if (isE2e) await cleanUp('before', {});
  say(`running ${files.length} ${suite} test file(s)`);
  const exitCode = await runNodeTest(files);
  if (isE2e) await cleanUp('after', { includeBaseImage: true });
  return exitCode;
}

async function main() {
  const suites = SUITES_BY_MODE[parseMode(process.argv)];
  const filesBySuite = suites.map((suite) => [suite, findTestFiles(suite)]).filter(([, files]) => files.length > 0);
  if (filesBySuite.length === 0) {
    const searched = suites.map((suite) => `${SUITE_DIRS[suite]}/**/*.test.js`).join(' and ');
    console.error(`[run-tests] no test files found in ${searched}; did the build (npm run build) run?`);
    process.exit(1);
  }
  let exitCode = 0;
  for (const [suite, files] of filesBySuite) {
    const suiteExitCode = await runSuite(suite, files);
    if (exitCode === 0) exitCode = suiteExitCode;
  }
  process.exit(exitCode);
}

await main();
