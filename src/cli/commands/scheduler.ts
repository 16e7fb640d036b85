import { API, type SchedulerReport } from '../../model/api.js';
import { checkScheduler, SCHEDULERS } from '../../model/scheduler.js';
import { judged } from '../argument-values.js';
import { appCommand, type CommandGroup } from '../command.js';
import { show, streamed } from '../output.js';

function renderReport(app: string, report: SchedulerReport): string {
  const where = report.scheduler === 'swarm' ? 'as Swarm services over the nodes of berth nodes:list' : 'on berth\'s own Docker engine';
  const swarm = report.swarm ? '' : '\n(this berth\'s swarm has no ready node: berth nodes:add ENGINE, with berth serve --swarm-engine URL naming the manager)';
  return `${app} runs on the ${report.scheduler} scheduler: ${where}${swarm}`;
}

export const SCHEDULER: CommandGroup = {
  title: 'Scheduler',
  commands: [
    {
      name: 'scheduler:set',
      args: ['APP', 'SCHEDULER'],
      summary: `run the app ${SCHEDULERS.join(' or ')}: a live app moves in a new release (started, checked, switched; the old containers drain)`,
      example: 'berth scheduler:set myapp swarm',
      async run(invocation) {
        const [app, scheduler] = invocation.args;
        judged(scheduler, () => checkScheduler(scheduler));
        const result = await streamed(invocation, API.setScheduler, { app }, { scheduler });
        show(invocation, result, (report) => `${renderReport(app, report)}${report.release === null ? '' : `\nrelease ${report.release} is live`}`);
      },
    },
    appCommand('scheduler:report', 'show where the app\'s containers run: local or swarm', async (invocation, app) => {
      const result = await invocation.client().call(API.schedulerReport, { app });
      show(invocation, result, (report) => renderReport(app, report));
    }),
  ],
};
