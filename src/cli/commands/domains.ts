import { API, type DomainsInfo } from '../../model/api.js';
import type { Client } from '../client.js';
import { appCommand, type Command, type CommandGroup } from '../command.js';
import { show } from '../output.js';

function renderDomains(result: DomainsInfo): string {
  return [`${result.default} (default)`, ...result.domains].join('\n');
}

type DomainChange = (client: Client, app: string, domain: string) => Promise<DomainsInfo>;

function domainsCommand(action: 'add' | 'remove', change: DomainChange, done: (domain: string, app: string) => string, summary: string): Command {
  return {
    name: `domains:${action}`,
    args: ['APP', 'DOMAIN'],
    summary,
    example: `berth domains:${action} myapp www.example.com`,
    async run(invocation) {
      const [app, domain] = invocation.args;
      const result = await change(invocation.client(), app, domain);
      show(invocation, result, (domains) => `${done(domain, app)}\n\n${renderDomains(domains)}`);
    },
  };
}

export const DOMAINS: CommandGroup = {
  title: 'Domains',
  commands: [
    appCommand('domains:list', 'list the host names an app answers to', async (invocation, app) => {
      const result = await invocation.client().call(API.domains, { app });
      show(invocation, result, renderDomains);
    }),
    domainsCommand(
      'add',
      (client, app, domain) => client.call(API.addDomain, { app }, { domain }),
      (domain, app) => `Added ${domain} to ${app}`,
      'make an app answer to one more host name',
    ),
    domainsCommand(
      'remove',
      (client, app, domain) => client.call(API.removeDomain, { app, domain }),
      (domain, app) => `Removed ${domain} from ${app}`,
      'stop an app answering to a host name it was given',
    ),
  ],
};
