import { API } from '../../model/api.js';
import { parseProxySetting, PROXY_SETTINGS } from '../../model/app.js';
import { judged } from '../argument-values.js';
import type { CommandGroup } from '../command.js';
import { show } from '../output.js';

const MEANING: Record<string, Record<'on' | 'off', string>> = {
  'redirect-https': { on: 'plain HTTP answers 308 to https://', off: 'plain HTTP and HTTPS both serve the app' },
  hsts: { on: 'HTTPS answers carry Strict-Transport-Security', off: 'no Strict-Transport-Security header' },
};

export const PROXY: CommandGroup = {
  title: 'Proxy',
  commands: [
    {
      name: 'proxy:set',
      args: ['APP', 'SETTING', 'VALUE'],
      summary: `set how the edge answers an app: ${Object.keys(PROXY_SETTINGS).join(' or ')}, on or off`,
      example: 'berth proxy:set myapp redirect-https off',
      async run(invocation) {
        const [app, setting, value] = invocation.args;
        const change = judged(`${setting} ${value}`, () => parseProxySetting(setting, value));
        const result = await invocation.client().call(API.setProxy, { app }, change);
        show(invocation, result, ({ hasCertificate }) => {
          const later = hasCertificate ? '' : ` (once ${app} has a certificate: berth certs:auto ${app})`;
          return `${setting} ${value} for ${app}: ${MEANING[setting][value as 'on' | 'off']}${later}`;
        });
      },
    },
  ],
};
