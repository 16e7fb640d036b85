/**
 * Certificates from an ACME server (RFC 8555) through the acme-client library: one account per
 * berth (its key made once and kept 0600), an order per certificate, http-01 answered by the edge
 * (ReverseProxy.setChallenge), a new key per certificate.
 */
import fs from 'node:fs/promises';
import https from 'node:https';
import tls from 'node:tls';
import acme from 'acme-client';
import { BerthError, describe } from '../errors.js';
import type { ReverseProxy } from '../proxy/reverse-proxy.js';
import type { CertStore } from './store.js';

/** A chain and key as an authority hands them over, not yet read. */
export interface IssuedCertificate {
  chainPem: string;
  keyPem: string;
}

/** Where certificates come from; the ACME one is the real one, unit tests use a fake. */
export interface CertificateAuthority {
  /** The directory URL, shown in certs:info and kept with each certificate. */
  readonly directory: string;
  /** A certificate for exactly these names; `progress` gets a line per step a person would want to read. */
  issue(names: string[], progress: (line: string) => void): Promise<IssuedCertificate>;
}

export interface AcmeOptions {
  directoryUrl: string;
  email: string | undefined;
  /** A CA to trust for the ACME server's own HTTPS (a private CA, pebble in tests), besides the usual roots (PEM). */
  caPem: string | undefined;
}

/** Polling an order or challenge: after 1 s, doubling, at most 10 s between polls, 10 polls. */
const POLLING = { backoffAttempts: 10, backoffMin: 1000, backoffMax: 10_000 };

const REACH_HINT = 'check --acme-directory and the network; for a private ACME server give its CA with BERTH_ACME_CA_FILE';

type Challenges = Pick<ReverseProxy, 'setChallenge'>;

/** BERTH_ACME_CA_FILE, read at start so that a wrong one stops berth before it touches anything. */
export async function loadAcmeCa(file: string | undefined): Promise<string | undefined> {
  if (!file) return undefined;
  const ca = await fs.readFile(file, 'utf8').catch((error: unknown) => {
    throw new BerthError(`cannot read BERTH_ACME_CA_FILE ${file}: ${describe(error)}`, 'name a PEM file with the CA certificate of the ACME server');
  });
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new BerthError(`BERTH_ACME_CA_FILE ${file} holds no PEM certificate`, 'name a PEM file with the CA certificate of the ACME server');
  return ca;
}

export class AcmeAuthority implements CertificateAuthority {
  private account: Promise<acme.Client> | undefined;

  /**
   * acme-client talks through one axios instance, which it exports so that its HTTP settings can
   * be changed (its README); an https.Agent with `ca` is how axios trusts another CA.
   */
  constructor(
    private readonly options: AcmeOptions,
    private readonly store: CertStore,
    private readonly challenges: Challenges,
  ) {
    if (options.caPem) acme.axios.defaults.httpsAgent = new https.Agent({ ca: [...tls.rootCertificates, options.caPem] });
  }

  get directory(): string {
    return this.options.directoryUrl;
  }

  async issue(names: string[], progress: (line: string) => void): Promise<IssuedCertificate> {
    const client = await this.client();
    progress(`Ordering a certificate for ${names.join(', ')} from ${this.directory}`);
    const order = await step(`the ACME server refused to order a certificate for ${names.join(', ')}`, 'see its reason above; Let\'s Encrypt only issues for public domain names', () => client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) }));
    const authorizations = await step('the ACME server did not list the order\'s authorizations', REACH_HINT, () => client.getAuthorizations(order));
    await Promise.all(authorizations.map((authorization) => this.authorize(client, authorization, progress)));
    const key = await acme.crypto.createPrivateEcdsaKey();
    const [, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: names }, key);
    const chainPem = await step(`the ACME server did not issue the certificate for ${names.join(', ')}`, REACH_HINT, async () => client.getCertificate(await client.finalizeOrder(order, csr)));
    return { chainPem, keyPem: key.toString() };
  }

  /** One name's http-01 challenge, answered by the edge on every host name while the server validates it. */
  private async authorize(client: acme.Client, authorization: acme.Authorization, progress: (line: string) => void): Promise<void> {
    const name = authorization.identifier.value;
    if (authorization.status === 'valid') return progress(`${name}: validated earlier`);
    const challenge = authorization.challenges.find((offered) => offered.type === 'http-01');
    if (!challenge) throw new BerthError(`the ACME server offers no http-01 challenge for ${name}`, 'berth answers http-01 only; use an ACME server that offers it, or bring a certificate with berth certs:add');
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    await step(`the edge could not answer the http-01 challenge for ${name}`, 'see berth status for the edge nginx', () => this.challenges.setChallenge(challenge.token, keyAuthorization));
    try {
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
      progress(`${name}: validated (http-01)`);
    } catch (error) {
      await client.deactivateAuthorization(authorization).catch(() => undefined);
      throw new BerthError(`the ACME server could not validate ${name}: ${describe(error)}`, `${name} must resolve (DNS A/AAAA records) to this server, and its port 80 must reach berth's --http-port`);
    } finally {
      await this.challenges.setChallenge(challenge.token, undefined).catch(() => undefined);
    }
  }

  /** The account, registered (or found again, for the same key) once per berth process. */
  private client(): Promise<acme.Client> {
    this.account ??= this.register().catch((error: unknown) => {
      this.account = undefined;
      throw error;
    });
    return this.account;
  }

  private async register(): Promise<acme.Client> {
    const accountKey = await this.store.accountKey(async () => (await acme.crypto.createPrivateEcdsaKey()).toString());
    const client = new acme.Client({ directoryUrl: this.directory, accountKey, ...POLLING });
    const contact = this.options.email ? [`mailto:${this.options.email}`] : undefined;
    // The account of this key, when it has one (a berth started before): asking for it is a
    // POST-as-GET, where registering again would be an update, which servers refuse as empty
    // (pebble does) when there is no contact to change. Any failure here is retried as a registration.
    const existing = await client.createAccount({ onlyReturnExisting: true }).catch(() => undefined);
    if (!existing) {
      await step(`cannot register with the ACME server at ${this.directory}`, REACH_HINT, () => client.createAccount({ termsOfServiceAgreed: true, ...(contact ? { contact } : {}) }));
    } else if (contact && (existing.contact ?? []).join() !== contact.join()) {
      await step(`the ACME server did not take the new --acme-email ${this.options.email}`, REACH_HINT, () => client.updateAccount({ contact }));
    }
    return client;
  }
}

/** Runs one exchange with the server; a failure says which, with the server's own reason. */
async function step<T>(what: string, hint: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new BerthError(`${what}: ${describe(error)}`, error instanceof BerthError && error.hint ? error.hint : hint);
  }
}
