import { BerthError, throwIfStopped } from '../errors.js';
import { WEB_PROCESS } from '../model/app.js';
import { formatDuration } from '../log/output.js';
import type { TriggerContext } from '../plugins/types.js';
import { sleep } from '../time.js';
import { describeExit, waitForListening } from './listen.js';
import { CHECKS_LIMITS, ChecksParseError, parseChecks, type CheckSpec, type ChecksFile } from './parser.js';
import { probe } from './probe.js';

/**
 * Dokku's defaults (TIMEOUT=30, ATTEMPTS=5, WAIT=5), so an app moved from Dokku gets as long to
 * boot. Without WAIT, berth starts checking as soon as the port accepts connections instead of
 * sleeping first, and waits Dokku's 5 s only after an attempt failed.
 */
export const CHECK_DEFAULTS = { timeoutSeconds: 30, attempts: 5, retryDelaySeconds: 5 } as const;

export const CHECKS_FILE = 'CHECKS';

async function readChecksFile(context: TriggerContext): Promise<ChecksFile | undefined> {
  const file = await context.source.readFile(CHECKS_FILE, CHECKS_LIMITS.maxBytes + 1);
  if (!file) return undefined;
  if (file.truncated || file.content.length > CHECKS_LIMITS.maxBytes) {
    throw new BerthError(`${CHECKS_FILE} is larger than ${CHECKS_LIMITS.maxBytes} bytes`, `keep ${CHECKS_FILE} to a list of paths (see CHECKS.example)`);
  }
  try {
    return parseChecks(file.content.toString('utf8'));
  } catch (error) {
    if (error instanceof ChecksParseError) throw new BerthError(error.message, `fix ${CHECKS_FILE} (see CHECKS.example) and push again`);
    throw error;
  }
}

function describeCheck(check: CheckSpec): string {
  const host = check.host ? ` (Host: ${check.host}${check.scheme === 'https' ? ', https' : ''})` : '';
  return `GET ${check.path}${host}`;
}

async function assertStillUp(context: TriggerContext, during: string): Promise<void> {
  const health = await context.container!.health();
  if (!health.running || health.restartCount > 0) {
    throw new BerthError(`the container ${describeExit(health)} ${during}`, 'see its output above');
  }
}

async function runCheck(context: TriggerContext, check: CheckSpec, file: ChecksFile): Promise<void> {
  const attempts = file.attempts ?? CHECK_DEFAULTS.attempts;
  const timeoutMs = (file.timeoutSeconds ?? CHECK_DEFAULTS.timeoutSeconds) * 1000;
  const retryDelayMs = (file.waitSeconds ?? CHECK_DEFAULTS.retryDelaySeconds) * 1000;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const started = Date.now();
    const result = await probe(check, context.container!, timeoutMs, context.signal);
    const took = formatDuration(Date.now() - started);
    if (result.ok) {
      context.logger.info(`[${attempt}/${attempts}] ${describeCheck(check)}: ok, ${result.summary} (${took})`);
      return;
    }
    last = result.summary;
    const retry = attempt < attempts ? `; retrying in ${formatDuration(retryDelayMs)}` : '';
    context.logger.info(`[${attempt}/${attempts}] ${describeCheck(check)}: failed, ${result.summary} (${took})${retry}`);
    throwIfStopped(context.signal);
    if (attempt < attempts) {
      await assertStillUp(context, 'while it was being checked');
      await sleep(retryDelayMs, context.signal);
      throwIfStopped(context.signal);
    }
  }
  throw new BerthError(
    `check ${describeCheck(check)} (CHECKS line ${check.line}) failed: ${last}`,
    'the new release was not switched in; fix the app or its CHECKS file and push again',
  );
}

async function runDefaultCheck(context: TriggerContext, why: string): Promise<void> {
  const settleMs = context.checks.defaultSettleSeconds * 1000;
  context.logger.info(`${why}: checking that ${context.container!.name} stays up for ${formatDuration(settleMs)}`);
  await sleep(settleMs, context.signal);
  throwIfStopped(context.signal);
  await assertStillUp(context, `within ${formatDuration(settleMs)}`);
  context.logger.info(`Default check passed: still running, no restarts`);
}

/** The check-deploy stage of the built-in checks plugin. */
export async function checkDeploy(context: TriggerContext): Promise<void> {
  const container = context.container;
  if (!container) throw new Error('check-deploy needs the new container');
  if (container.process !== WEB_PROCESS) {
    await runDefaultCheck(context, `${container.process} does not serve HTTP`);
    return;
  }
  const file = await readChecksFile(context);
  if (file?.waitSeconds) {
    context.logger.info(`WAIT=${file.waitSeconds}: waiting ${file.waitSeconds} s before checking`);
    await sleep(file.waitSeconds * 1000, context.signal);
    throwIfStopped(context.signal);
  }
  context.logger.info(`Waiting for ${container.ip}:${container.port} to accept connections`);
  const listenedAfter = await waitForListening(container, context.checks.listenTimeoutSeconds * 1000, context.signal);
  context.logger.info(`Listening after ${formatDuration(listenedAfter)}`);
  if (!file || file.checks.length === 0) {
    await runDefaultCheck(context, `No ${CHECKS_FILE} file (add one for real checks; see CHECKS.example)`);
    return;
  }
  context.logger.info(`${CHECKS_FILE}: ${file.checks.length} check(s), up to ${file.attempts ?? CHECK_DEFAULTS.attempts} attempt(s) each, ${file.timeoutSeconds ?? CHECK_DEFAULTS.timeoutSeconds} s timeout`);
  for (const check of file.checks) await runCheck(context, check, file);
  context.logger.info('All checks passed');
}
