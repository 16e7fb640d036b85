import { API, type CronJobInfo } from '../../model/api.js';
import { appCommand, type CommandGroup } from '../command.js';
import { formatMinute, formatSeconds, formatTable } from '../format.js';
import { show, streamed } from '../output.js';
import { finishRun } from './run.js';

function lastRun(job: CronJobInfo): string {
  const { last } = job;
  if (job.running) return 'running now';
  if (!last) return 'not run yet';
  if (last.stopped) return `stopped: ${last.stopped}`;
  return `exit ${last.exitCode} in ${formatSeconds(last.durationMs)} (${formatMinute(last.startedAt)}${last.trigger === 'manual' ? ', cron:run' : ''})`;
}

function notes(job: CronJobInfo): string {
  const parts = [job.skipped ? `${job.skipped} skipped (last ${formatMinute(job.lastSkippedAt)})` : '', job.missed ? `${job.missed} missed while berth was down (last ${formatMinute(job.lastMissedAt)})` : ''];
  return parts.filter(Boolean).join('; ') || '-';
}

function renderJobs(app: string, jobs: CronJobInfo[]): string {
  if (jobs.length === 0) return `${app} has no cron jobs: add "cron" entries to app.json and push (see berth help cron:list)`;
  return formatTable(
    ['ID', 'SCHEDULE (UTC)', 'COMMAND', 'NEXT RUN', 'LAST RUN', 'SKIPPED/MISSED'],
    jobs.map((job) => [job.id, job.schedule, job.command, formatMinute(job.nextRunAt), lastRun(job), notes(job)]),
  );
}

export const CRON: CommandGroup = {
  title: 'Cron jobs',
  commands: [
    appCommand('cron:list', 'list the cron jobs of app.json in the live release: schedule, next run, last exit code and duration', async (invocation, app) => {
      const result = await invocation.client().call(API.cronList, { app });
      show(invocation, result, ({ jobs }) => renderJobs(app, jobs));
    }),
    {
      name: 'cron:run',
      args: ['APP', 'ID'],
      summary: 'run a cron job now, as its schedule would, and print its output; exits with its exit code',
      example: 'berth cron:run myapp 5f0c2a9d1e',
      async run(invocation) {
        const [app, id] = invocation.args;
        const result = await streamed(invocation, API.cronRun, { app, id }, undefined);
        finishRun(invocation, result);
      },
    },
  ],
};
