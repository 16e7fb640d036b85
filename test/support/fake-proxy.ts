import type { AppProxyOptions } from '../../src/model/app.js';
import type { DrainResult, Retiring, ReverseProxy, ServedCertificate, SwitchRequest } from '../../src/proxy/reverse-proxy.js';
import { Fake } from './fake.js';

/** A proxy in memory: where each app's requests go now, and which old workers a switch left serving. */
export class FakeProxy extends Fake<keyof ReverseProxy> implements ReverseProxy {
  /** Each app's route as the last successful switch left it. */
  readonly routes = new Map<string, SwitchRequest>();
  running = true;
  /** What each app serves over HTTPS, as the last setCertificate left it. */
  readonly certificates = new Map<string, ServedCertificate>();
  readonly appOptions = new Map<string, AppProxyOptions>();
  /** The http-01 answers the edge would give now, by token. */
  readonly challenges = new Map<string, string>();
  private workers = 0;

  async switchApp(request: SwitchRequest): Promise<{ retiringWorkers: number[] }> {
    this.enter('switchApp', request);
    const previous = this.routes.get(request.app);
    this.routes.set(request.app, structuredClone(request));
    // Like nginx: a route that changes leaves the previous config's worker serving what it holds.
    if (!previous || JSON.stringify(previous) === JSON.stringify(request)) return { retiringWorkers: [] };
    this.workers += 1;
    return { retiringWorkers: [this.workers] };
  }

  async routedRelease(app: string): Promise<number | undefined> {
    this.enter('routedRelease', app);
    return this.routes.get(app)?.release;
  }

  async settle(retiringWorkers: number[]): Promise<void> {
    this.enter('settle', retiringWorkers);
  }

  async drain(retiring: Retiring, timeoutMs: number): Promise<DrainResult> {
    this.enter('drain', retiring, timeoutMs);
    return { waitedMs: 0, workersLeft: 0, connectionsLeft: 0 };
  }

  async removeApp(app: string): Promise<void> {
    this.enter('removeApp', app);
    this.routes.delete(app);
  }

  async isRunning(): Promise<boolean> {
    this.enter('isRunning');
    return this.running;
  }

  async ensureRunning(): Promise<void> {
    this.enter('ensureRunning');
    this.running = true;
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
}
