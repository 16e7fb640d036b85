import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { UsageError } from '../../errors.js';
import { API } from '../../model/api.js';
import { FINGERPRINT_RULE, normalizeFingerprint } from '../../model/tls.js';
import { writeFileAtomic } from '../../store/atomic.js';
import { stringFlag } from '../arguments.js';
import { CliError, Client, EXIT, givenToken, normalizeUrl } from '../client.js';
import type { CommandGroup, Invocation } from '../command.js';
import { show } from '../output.js';
import { askOnTerminal } from '../prompt.js';
import { presentedCertificate, TrustError, type PresentedCertificate } from '../trust.js';
import { readUserConfig, savedCertificateFile, saveServer, type SavedServer } from '../user-config.js';

interface LoginResult {
  url: string;
  /** The fingerprint pinned, or null when a CA vouches for the certificate. */
  pinned: string | null;
  configFile: string;
  /** The certificate saved for git's http.sslCAInfo, when pinned. */
  certificateFile: string | null;
  /** The git command that makes git trust the certificate for this server; null when git already does. */
  gitConfig: string | null;
  tokenSaved: boolean;
  /** Why git would refuse the certificate although berth takes it, or null. */
  gitWarning: string | null;
}

function loginUrl(invocation: Invocation, env: NodeJS.ProcessEnv): string {
  const raw = invocation.args[0] ?? stringFlag(invocation.flags, '--url') ?? (env.BERTH_URL || undefined);
  if (raw === undefined) throw new UsageError('berth login needs the server\'s URL, e.g. berth login https://server:7070');
  const url = normalizeUrl(raw);
  if (!url.startsWith('https://')) throw new UsageError(`berth login checks the certificate of an https:// URL; ${url} has none`, 'berth serves HTTPS on its git port unless started with --insecure-http: use https://');
  return url;
}

function givenFingerprint(invocation: Invocation): string | undefined {
  const raw = stringFlag(invocation.flags, '--fingerprint');
  if (raw === undefined) return undefined;
  const fingerprint = normalizeFingerprint(raw);
  if (!fingerprint) throw new UsageError(`--fingerprint "${raw}" is not a SHA-256 fingerprint: give ${FINGERPRINT_RULE}`);
  return fingerprint;
}

/** What the user compares before trusting a certificate no CA vouches for, as ssh shows a new host key. */
function confirmation(url: string, presented: PresentedCertificate, saved: SavedServer | undefined): string {
  const changed = saved?.fingerprint ? [`WARNING: this is not the certificate pinned for ${url} before (${saved.fingerprint}). Someone may be intercepting the connection, or berth got a new certificate.`] : [];
  return [
    ...changed,
    `The certificate of ${url} is not vouched for by a CA this client trusts (${presented.reason}):`,
    `  names        ${presented.names.join(', ') || '-'}`,
    `  valid until  ${presented.validTo}`,
    `  SHA-256      ${presented.fingerprint}`,
    'Compare the fingerprint with the one berth serve printed at start (on the server: openssl x509 -noout -fingerprint -sha256 -in DATA_DIR/tls/cert.pem).',
    '',
  ].join('\n');
}

/** The fingerprint to pin: the one given, or the one the user confirmed on a terminal; none when a CA vouches for the certificate. */
async function choosePin(invocation: Invocation, url: string, presented: PresentedCertificate, saved: SavedServer | undefined): Promise<string | undefined> {
  const given = givenFingerprint(invocation);
  if (given !== undefined) {
    if (given === presented.fingerprint) return given;
    throw new TrustError(`the certificate of ${url} has SHA-256 fingerprint ${presented.fingerprint}, not the ${given} given with --fingerprint; nothing was saved`, 'someone may be intercepting the connection, or the fingerprint is of another certificate: compare with the one berth serve printed at its last start');
  }
  if (presented.authorized) return undefined;
  if (saved?.fingerprint === presented.fingerprint) return saved.fingerprint;
  if (!process.stdin.isTTY) {
    throw new UsageError(
      `berth login cannot ask you to confirm the certificate of ${url} (stdin is not a terminal): ${presented.reason}, SHA-256 fingerprint ${presented.fingerprint}`,
      `compare it with the fingerprint berth serve printed at start, then pin it with: berth login ${url} --fingerprint SHA256`,
    );
  }
  process.stderr.write(confirmation(url, presented, saved));
  const answer = await askOnTerminal('Trust this certificate and pin it for this server? [y/N] ', 'nothing was saved');
  if (!/^y(es)?$/i.test(answer)) throw new CliError('the certificate was not trusted: nothing was saved', EXIT.failed);
  return presented.fingerprint;
}

/** git checks the names of a certificate even when it trusts it; berth's pin does not need them. */
function gitWarning(url: string, presented: PresentedCertificate): string | null {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const cert = new X509Certificate(presented.pem);
  if ((net.isIP(host) ? cert.checkIP(host) : cert.checkHost(host)) !== undefined) return null;
  return `git checks the names in a certificate too, and this one names ${presented.names.join(', ') || 'nothing'}, not ${host}: start berth serve with --server-name ${host} (its self-signed certificate is then made again, naming it; run berth login again after), or push to a name it has`;
}

function gitCommand(url: string, caFile: string | undefined): string | null {
  return caFile ? `git config --global http.${url}/.sslCAInfo ${caFile}` : null;
}

async function login(invocation: Invocation): Promise<void> {
  const env = process.env;
  const url = loginUrl(invocation, env);
  const caFile = env.BERTH_CA || undefined;
  const presented = await presentedCertificate(url, caFile).catch((error: Error) => {
    throw new CliError(`cannot reach berth at ${url}: ${error.message}`, EXIT.unreachable, 'is berth serve running there, and is this its git port?');
  });
  const saved = readUserConfig(env).servers[url];
  const fingerprint = await choosePin(invocation, url, presented, saved);
  const token = givenToken({ tokenFile: stringFlag(invocation.flags, '--token-file') }, env) ?? saved?.token;
  // The token is checked before anything is saved; a wrong one is an error (exit 3) like any other command's.
  if (token) await new Client({ url, token, trust: fingerprint ? { fingerprint, pinnedBy: 'login' } : { caFile } }).call(API.status, {});
  const configFile = await saveServer(env, url, { ...(fingerprint ? { fingerprint } : {}), ...(token ? { token } : {}) });
  const certificateFile = fingerprint ? savedCertificateFile(env, url) : null;
  if (certificateFile) await writeFileAtomic(certificateFile, presented.pem);
  const result: LoginResult = { url, pinned: fingerprint ?? null, configFile, certificateFile, gitConfig: gitCommand(url, certificateFile ?? caFile), tokenSaved: token !== undefined, gitWarning: gitWarning(url, presented) };
  show(invocation, result, renderLogin);
}

function renderLogin(result: LoginResult): string {
  const { url, pinned, configFile, gitConfig, tokenSaved, gitWarning: warning } = result;
  const host = new URL(url).host;
  return [
    `Logged in to ${url}: it is the default server now (saved in ${configFile}).`,
    pinned ? `Pinned its certificate, SHA-256 ${pinned}: every command checks it before sending anything.` : 'Its certificate is signed by a CA this client trusts: nothing pinned.',
    tokenSaved ? 'Token: checked against the server and saved.' : 'Token: none given (BERTH_TOKEN or --token-file); give it with each command, or run berth login again with it to save it.',
    ...(gitConfig ? ['Make git trust the certificate for this server:', `  ${gitConfig}`] : []),
    ...(warning ? [`Warning: ${warning}.`] : []),
    'Push with:',
    `  git remote add deploy https://berth:TOKEN@${host}/APP.git`,
  ].join('\n');
}

export const LOGIN: CommandGroup = {
  title: 'Connecting',
  commands: [
    {
      name: 'login',
      args: ['[URL]'],
      flags: [{ name: 'fingerprint', value: 'SHA256', help: 'pin the certificate without being asked, if it has this SHA-256 fingerprint (the one berth serve printed at start)' }],
      summary: 'check a berth server\'s certificate (pinning it, as ssh does a host key, when no CA vouches for it) and make it the default server, with the token given',
      example: 'berth login https://server:7070',
      run: login,
    },
  ],
};
