import { readAppJson } from '../build/app-json.js';
import { BerthError, throwIfStopped } from '../errors.js';
import { WEB_PROCESS } from '../model/app.js';
import { formatDuration } from '../log/output.js';
import type { TriggerContext } from '../plugins/types.js';
import { sleep } from '../time.js';
import { attemptCheck, untilUp } from './attempt.js';
import { describeExit, waitForListening } from './listen.js';
import { CHECKS_LIMITS, ChecksParseError, parseChecks, type ChecksFile } from './parser.js';
import { CHECK_DEFAULTS, CHECKS_FILE, planChecks, type CheckPlan, type PlannedCheck } from './plan.js';

export { CHECK_DEFAULTS, CHECKS_FILE };

async function readChecksFile(context: Pick<TriggerContext, 'source'>): Promise<ChecksFile | undefined> {
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

/** The container's checks from the commit: app.json's healthchecks for its process type, else (web only) CHECKS. */
export async function readCheckPlan(context: Pick<TriggerContext, 'source' | 'commit'>, processType: string, port: number): Promise<CheckPlan> {
  const appJson = await readAppJson({ readFile: (file, maxBytes) => context.source.readFile(file, maxBytes), commit: context.commit });
  const appJsonWins = (appJson.healthchecks[processType]?.length ?? 0) > 0;
  // A CHECKS that app.json replaces is only mentioned: one that does not parse fails nothing.
  const ignoredChecks = (error: unknown) => {
    if (appJsonWins) return { waitSeconds: undefined, timeoutSeconds: undefined, attempts: undefined, checks: [] };
    throw error;
  };
  const checksFile = processType === WEB_PROCESS ? await readChecksFile(context).catch(ignoredChecks) : undefined;
  return planChecks({ appJson, checksFile, processType, port });
}

async function assertStillUp(context: TriggerContext, during: string): Promise<void> {
  const health = await context.container!.health();
  if (!health.running || health.restartCount > 0) {
    throw new BerthError(`the container ${describeExit(health)} ${during}`, 'see its output above');
  }
}

/** app.json's initialDelay: the first attempt waits until the container has been up that long. */
async function initialDelay(context: TriggerContext, check: PlannedCheck): Promise<void> {
  if (check.initialDelaySeconds === 0) return;
  const waitMs = untilUp((await context.container!.health()).startedAt, check.initialDelaySeconds);
  if (waitMs === 0) return;
  context.logger.info(`initialDelay=${check.initialDelaySeconds}: waiting ${formatDuration(waitMs)} before ${check.label}`);
  await sleep(waitMs, context.signal);
  throwIfStopped(context.signal);
}

async function runCheck(context: TriggerContext, check: PlannedCheck, fixHint: string): Promise<void> {
  const { attempts } = check;
  const retryDelayMs = check.waitSeconds * 1000;
  await initialDelay(context, check);
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const result = await attemptCheck(context.container!, check, context.signal);
    const took = formatDuration(result.tookMs);
    if (result.ok) {
      context.logger.info(`[${attempt}/${attempts}] ${check.label}: ok, ${result.summary} (${took})`);
      return;
    }
    last = result.summary;
    const retry = attempt < attempts ? `; retrying in ${formatDuration(retryDelayMs)}` : '';
    context.logger.info(`[${attempt}/${attempts}] ${check.label}: failed, ${result.summary} (${took})${retry}`);
    throwIfStopped(context.signal);
    if (attempt < attempts) {
      await assertStillUp(context, 'while it was being checked');
      await sleep(retryDelayMs, context.signal);
      throwIfStopped(context.signal);
    }
  }
  throw new BerthError(`check ${check.label} (${check.origin}) failed: ${last}`, `the new release was not switched in; fix the app or its ${fixHint} and push again`);
}

async function runDefaultCheck(context: TriggerContext, why: string): Promise<void> {
  const settleMs = context.checks.defaultSettleSeconds * 1000;
  context.logger.info(`${why}: checking that ${context.container!.name} stays up for ${formatDuration(settleMs)}`);
  await sleep(settleMs, context.signal);
  throwIfStopped(context.signal);
  await assertStillUp(context, `within ${formatDuration(settleMs)}`);
  context.logger.info(`Default check passed: still running, no restarts`);
}

function planSummary(plan: CheckPlan, processType: string): string {
  const first = plan.gate[0];
  if (plan.source === CHECKS_FILE) return `${CHECKS_FILE}: ${plan.gate.length} check(s), up to ${first.attempts} attempt(s) each, ${first.timeoutSeconds} s timeout`;
  const types = [...new Set(plan.gate.map((check) => check.type))].join(' and ');
  const liveness = plan.liveness.length ? `; ${plan.liveness.length} liveness check(s) keep running once it is live` : '';
  return `app.json: ${plan.gate.length} ${types} check(s) for ${processType}${liveness}`;
}

function noChecksReason(plan: CheckPlan, processType: string): string {
  if (plan.liveness.length) return `app.json has only liveness checks for ${processType}, which start once it is live`;
  if (processType !== WEB_PROCESS) return `${processType} does not serve HTTP and app.json has no healthchecks for it`;
  return `No ${CHECKS_FILE} file or app.json healthchecks (add them for real checks; see CHECKS.example and the README, "app.json")`;
}

/** The check-deploy stage of the built-in checks plugin. */
export async function checkDeploy(context: TriggerContext): Promise<void> {
  const container = context.container;
  if (!container) throw new Error('check-deploy needs the new container');
  const plan = await readCheckPlan(context, container.process, container.port);
  for (const note of plan.notes) context.logger.warn(note);
  if (plan.waitBeforeSeconds) {
    context.logger.info(`WAIT=${plan.waitBeforeSeconds}: waiting ${plan.waitBeforeSeconds} s before checking`);
    await sleep(plan.waitBeforeSeconds * 1000, context.signal);
    throwIfStopped(context.signal);
  }
  if (container.process === WEB_PROCESS) {
    context.logger.info(`Waiting for ${container.ip}:${container.port} to accept connections`);
    const listenedAfter = await waitForListening(container, context.checks.listenTimeoutSeconds * 1000, context.signal);
    context.logger.info(`Listening after ${formatDuration(listenedAfter)}`);
  }
  if (plan.gate.length === 0) {
    await runDefaultCheck(context, noChecksReason(plan, container.process));
    return;
  }
  context.logger.info(planSummary(plan, container.process));
  const fixHint = plan.source === CHECKS_FILE ? `${CHECKS_FILE} file` : 'app.json healthchecks';
  for (const check of plan.gate) await runCheck(context, check, fixHint);
  context.logger.info('All checks passed');
}
