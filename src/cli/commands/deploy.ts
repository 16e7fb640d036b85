import { API, type DeployReport } from '../../model/api.js';
import { checkImageReference, DEPLOY_SETTINGS, parseDeploySetting } from '../../model/app.js';
import { judged } from '../argument-values.js';
import { appCommand, type CommandGroup } from '../command.js';
import { show, streamed } from '../output.js';

const ORDER_MEANING = {
  'start-first': 'the new release starts beside the old one, which stops after the switch',
  'stop-first': 'the old release stops before the new one starts; requests arriving meanwhile wait at the edge',
};

function renderReport(app: string, report: DeployReport): string {
  const hold = report.order === 'stop-first' ? `\nhold timeout: ${report.holdTimeoutSeconds} s (berth serve --hold-timeout)` : '';
  return `${app} deploys ${report.order}: ${ORDER_MEANING[report.order]}${hold}`;
}

export const DEPLOY: CommandGroup = {
  title: 'Deploys',
  commands: [
    {
      name: 'deploy:set',
      args: ['APP', 'SETTING', 'VALUE'],
      summary: `set how the app deploys: ${DEPLOY_SETTINGS.join(', ')} start-first (default) or stop-first`,
      example: 'berth deploy:set myapp order stop-first',
      async run(invocation) {
        const [app, setting, value] = invocation.args;
        const change = judged(`${setting} ${value}`, () => parseDeploySetting(setting, value));
        const result = await invocation.client().call(API.setDeploy, { app }, change);
        show(invocation, result, (report) => `${renderReport(app, report)}\n(from the next deploy on)`);
      },
    },
    appCommand('deploy:report', 'show how the app deploys: its order, and the hold timeout of stop-first', async (invocation, app) => {
      const result = await invocation.client().call(API.deploySettings, { app });
      show(invocation, result, (report) => renderReport(app, report));
    }),
    {
      name: 'deploy:image',
      args: ['APP', 'IMAGE[:TAG]'],
      summary: 'deploy an image in the Docker engine (pulled when it is not there) through checks, switch and drain, like a push',
      example: 'berth deploy:image myapp registry.example.com/myapp:1.4.2',
      async run(invocation) {
        const [app, image] = invocation.args;
        judged(image, () => checkImageReference(image));
        const result = await streamed(invocation, API.deployImage, { app }, { image });
        show(invocation, result, ({ release }) => `Deployed ${image} to ${app}: release ${release} is live`);
      },
    },
  ],
};
