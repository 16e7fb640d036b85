import fs from 'node:fs/promises';
import { API, type CertificateInfo } from '../../model/api.js';
import { UsageError } from '../../errors.js';
import { stringFlag } from '../arguments.js';
import { appCommand, type CommandGroup } from '../command.js';
import { formatKeyValues, formatList, formatMinute } from '../format.js';
import { show, streamed } from '../output.js';

const STATE_MEANING = {
  valid: 'valid',
  due: 'due: its renewal time has come, or it misses a host name',
  failing: 'failing: the last attempt to get one failed',
  expired: 'expired',
  missing: 'none yet',
} as const;

function onOff(on: boolean): string {
  return on ? 'on' : 'off';
}

export function renderCertificate(info: CertificateInfo): string {
  const { certificate } = info;
  const lines: Array<[string, string]> = [
    ['auto', info.auto ? 'on: berth gets and renews it through ACME' : 'off'],
    ['state', info.state ? STATE_MEANING[info.state] : 'no certificate'],
  ];
  if (certificate) {
    lines.push(
      ['names', formatList(certificate.names)],
      ['issuer', `${certificate.issuer}${certificate.source === 'manual' ? ' (added with certs:add)' : ''}`],
      ['valid', `${formatMinute(certificate.notBefore)} to ${formatMinute(certificate.notAfter)}`],
      [info.auto ? 'renews' : 'replace by', formatMinute(certificate.renewsAt)],
      ['serves', formatList(certificate.serves)],
    );
  }
  if (info.uncovered.length) lines.push(['not covered', formatList(info.uncovered)]);
  if (info.lastError) lines.push(['last error', `${formatMinute(info.lastError.at)}: ${info.lastError.message}${info.lastError.hint ? ` (${info.lastError.hint})` : ''}`]);
  if (info.nextAttemptAt) lines.push(['next attempt', formatMinute(info.nextAttemptAt)]);
  lines.push(['redirect-https', onOff(info.proxy.redirectHttps)], ['hsts', onOff(info.proxy.hsts)]);
  return `Certificate of ${info.app}\n${formatKeyValues(lines)}`;
}

async function readPem(flag: '--cert' | '--key', file: string | undefined): Promise<string> {
  if (!file) throw new UsageError(`certs:add needs ${flag} FILE`, 'usage: berth certs:add APP --cert fullchain.pem --key key.pem');
  return fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${flag} ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
}

export const CERTS: CommandGroup = {
  title: 'Certificates (HTTPS)',
  commands: [
    {
      name: 'certs:auto',
      args: ['APP'],
      flags: [{ name: 'off', help: 'stop renewing; the certificate it has serves until it expires' }],
      summary: 'get and renew a certificate for every host name of an app through ACME (Let\'s Encrypt by default)',
      example: 'berth certs:auto myapp',
      async run(invocation) {
        const [app] = invocation.args;
        const on = !invocation.flags.has('--off');
        const result = await streamed(invocation, API.autoCertificate, { app }, { on });
        show(invocation, result, (info) => `${on ? '' : `Automatic certificates off for ${app}: nothing is renewed (berth certs:remove ${app} takes the certificate away)\n\n`}${renderCertificate(info)}`);
      },
    },
    {
      name: 'certs:add',
      args: ['APP'],
      flags: [
        { name: 'cert', value: 'FILE', help: 'the certificate chain in PEM, server certificate first (fullchain.pem)' },
        { name: 'key', value: 'FILE', help: 'its private key in PEM, without a passphrase' },
      ],
      summary: 'serve your own certificate for an app (checked against its key and host names; certs:auto goes off)',
      example: 'berth certs:add myapp --cert fullchain.pem --key privkey.pem',
      async run(invocation) {
        const [app] = invocation.args;
        const cert = await readPem('--cert', stringFlag(invocation.flags, '--cert'));
        const key = await readPem('--key', stringFlag(invocation.flags, '--key'));
        const result = await invocation.client().call(API.addCertificate, { app }, { cert, key });
        show(invocation, result, (info) => `Added the certificate to ${app}\n\n${renderCertificate(info)}`);
      },
    },
    appCommand('certs:info', 'show the certificate of an app: names, issuer, expiry, auto or not, the last error', async (invocation, app) => {
      const result = await invocation.client().call(API.certificate, { app });
      show(invocation, result, renderCertificate);
    }),
    appCommand('certs:remove', 'stop serving the certificate of an app over HTTPS and forget it (certs:auto goes off)', async (invocation, app) => {
      const result = await invocation.client().call(API.removeCertificate, { app });
      show(invocation, result, (info) => `Removed the certificate of ${app}\n\n${renderCertificate(info)}`);
    }),
  ],
};
