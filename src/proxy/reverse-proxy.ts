import type { AppProxyOptions } from '../model/app.js';
import type { Upstream } from './render.js';

export interface SwitchRequest {
  app: string;
  release: number;
  serverNames: string[];
  upstreams: Upstream[];
}

/** What served the previous release right before a switch. */
export interface Retiring {
  upstreams: Upstream[];
}

/** What the edge serves over HTTPS for an app: for these host names (SNI), this chain and key. */
export interface ServedCertificate {
  hosts: string[];
  /** The chain, server certificate first. */
  certPem: string;
  keyPem: string;
}

export interface DrainResult {
  waitedMs: number;
  connectionsLeft: number;
}

/**
 * What the deploy pipeline, retirement, the reconciler and the app operations ask of the proxy in
 * front of the apps. They see only this, so their unit tests can run against a fake that records
 * what it was told; DataPlane (one nginx with its routes in memory) is the real one.
 */
export interface ReverseProxy {
  /** Sends every new request for the app to these upstreams once it resolves. When it throws, the app is routed as it was before. */
  switchApp(request: SwitchRequest): Promise<void>;
  /**
   * stop-first: the app's containers get no new requests; each new one waits at the edge, at most
   * holdSeconds after it arrived (then a 503 with Retry-After), until the next switchApp routes the
   * app. Requests in flight go on. When it throws, the app is routed as it was before.
   */
  holdApp(app: string, holdSeconds: number): Promise<void>;
  /** The release the app's requests go to now, as the proxy itself says (berth's records may lag after a crash). */
  routedRelease(app: string): Promise<number | undefined>;
  /** Resolves once nothing holds a connection to the retiring release's containers any more, or after timeoutMs. */
  drain(retiring: Retiring, timeoutMs: number): Promise<DrainResult>;
  /** The app gets no more requests: its route, its options and its certificate go. */
  removeApp(app: string): Promise<void>;
  /** The host names the app answers to (a domains change), whether or not it is routed yet. */
  updateHostNames(app: string, serverNames: string[]): Promise<void>;
  /** The certificate served for these host names of the app over HTTPS (SNI); undefined stops serving one. */
  setCertificate(app: string, certificate: ServedCertificate | undefined): Promise<void>;
  /** Whether plain HTTP redirects to HTTPS for the app (only once it has a certificate), and whether HTTPS answers carry HSTS. */
  setAppOptions(app: string, options: AppProxyOptions): Promise<void>;
  /** An ACME http-01 answer at /.well-known/acme-challenge/TOKEN on every host name; undefined removes it. */
  setChallenge(token: string, keyAuthorization: string | undefined): Promise<void>;
  isRunning(): Promise<boolean>;
  ensureRunning(): Promise<void>;
}
