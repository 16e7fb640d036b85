import type { AppProxyOptions } from '../model/app.js';
import type { Upstream } from './render.js';

export interface SwitchRequest {
  app: string;
  release: number;
  serverNames: string[];
  upstreams: Upstream[];
}

/** What still serves the previous release right after a switch. */
export interface Retiring {
  workers: number[];
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
  workersLeft: number;
  connectionsLeft: number;
}

/**
 * What the deploy pipeline, retirement and the reconciler ask of the proxy in front of the apps.
 * They see only this, so their unit tests can run against a fake that records what it was told;
 * DataPlane (the two nginx tiers) is the real one.
 */
export interface ReverseProxy {
  /**
   * Sends every new request for the app to these upstreams; resolves with the workers that still
   * serve the previous ones. When it throws, the app is routed as it was before.
   */
  switchApp(request: SwitchRequest): Promise<{ retiringWorkers: number[] }>;
  /** The release the app's requests go to now, as the proxy itself says (berth's records may lag after a crash). */
  routedRelease(app: string): Promise<number | undefined>;
  /** Resolves once no connection opened before the switch can take a new request. */
  settle(retiringWorkers: number[]): Promise<void>;
  /** Resolves once nothing serves the retiring release any more, or after timeoutMs. */
  drain(retiring: Retiring, timeoutMs: number): Promise<DrainResult>;
  /** The app gets no more requests and its route goes. */
  removeApp(app: string): Promise<void>;
  isRunning(): Promise<boolean>;
  ensureRunning(): Promise<void>;
  /** The certificate served for these host names of the app over HTTPS (SNI); undefined stops serving one. */
  setCertificate(app: string, certificate: ServedCertificate | undefined): Promise<void>;
  /** Whether plain HTTP redirects to HTTPS for the app (only once it has a certificate), and whether HTTPS answers carry HSTS. */
  setAppOptions(app: string, options: AppProxyOptions): Promise<void>;
  /** An ACME http-01 answer at /.well-known/acme-challenge/TOKEN on every host name; undefined removes it. */
  setChallenge(token: string, keyAuthorization: string | undefined): Promise<void>;
}
