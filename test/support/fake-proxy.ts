import type { AppProxyOptions } from '../../src/model/app.js';
import type { DrainResult, Retiring, ReverseProxy, ServedCertificate, SwitchRequest } from '../../src/proxy/reverse-proxy.js';
import { Fake } from './fake.js';

/** A proxy in memory: where each app's requests go now, its host names, options and certificate, and the ACME answers. */
export class FakeProxy extends Fake<keyof ReverseProxy> implements ReverseProxy {
  /** Each app's route as the last successful switch left it. */
  readonly routes = new Map<string, SwitchRequest>();
  readonly hostNames = new Map<string, string[]>();
  readonly certificates = new Map<string, ServedCertificate>();
  readonly appOptions = new Map<string, AppProxyOptions>();
  readonly challenges = new Map<string, string>();
  running = true;

  async switchApp(request: SwitchRequest): Promise<void> {
    this.enter('switchApp', request);
    this.routes.set(request.app, structuredClone(request));
    this.held.delete(request.app);
    this.hostNames.set(request.app, [...request.serverNames]);
  }

  /** Apps whose new requests wait for the next switch, with the seconds each may wait. */
  readonly held = new Map<string, number>();

  async holdApp(app: string, holdSeconds: number): Promise<void> {
    this.enter('holdApp', app, holdSeconds);
    const route = this.routes.get(app);
    if (!route) throw new Error(`the edge does not route ${app}, so it has nothing to hold`);
    // As the edge does: no container gets a new request until the next switch.
    route.upstreams = [];
    this.held.set(app, holdSeconds);
  }

  async routedRelease(app: string): Promise<number | undefined> {
    this.enter('routedRelease', app);
    return this.routes.get(app)?.release;
  }

  async drain(retiring: Retiring, timeoutMs: number): Promise<DrainResult> {
    this.enter('drain', retiring, timeoutMs);
    return { waitedMs: 0, connectionsLeft: 0 };
  }

  async removeApp(app: string): Promise<void> {
    this.enter('removeApp', app);
    for (const entries of [this.routes, this.hostNames, this.certificates, this.appOptions]) entries.delete(app);
  }

  async updateHostNames(app: string, serverNames: string[]): Promise<void> {
    this.enter('updateHostNames', app, serverNames);
    this.hostNames.set(app, [...serverNames]);
  }

  async setCertificate(app: string, certificate: ServedCertificate | undefined): Promise<void> {
    this.enter('setCertificate', app, certificate);
    if (certificate) this.certificates.set(app, structuredClone(certificate));
    else this.certificates.delete(app);
  }

  async setAppOptions(app: string, options: AppProxyOptions): Promise<void> {
    this.enter('setAppOptions', app, options);
    this.appOptions.set(app, { ...options });
  }

  async setChallenge(token: string, keyAuthorization: string | undefined): Promise<void> {
    this.enter('setChallenge', token, keyAuthorization);
    if (keyAuthorization === undefined) this.challenges.delete(token);
    else this.challenges.set(token, keyAuthorization);
  }

  async isRunning(): Promise<boolean> {
    this.enter('isRunning');
    return this.running;
  }

  async ensureRunning(): Promise<void> {
    this.enter('ensureRunning');
    this.running = true;
  }

}
