import type { Logger } from '../log/output.js';
import type { ListeningSocket } from '../runtime/listening.js';
import type { ContainerHealth, ExecResult } from '../runtime/runtime.js';

/** The deploy's stages, in the order the pipeline fires them; plugins hook into any of them. */
export const TRIGGERS = ['pre-build', 'post-build', 'pre-deploy', 'check-deploy', 'post-deploy', 'pre-retire', 'deploy-failed'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** A failing hook on one of these fails the deploy; on the others it is reported and the deploy goes on. */
export const BLOCKING_TRIGGERS: ReadonlySet<Trigger> = new Set(['pre-build', 'post-build', 'pre-deploy', 'check-deploy']);


export interface ContainerHandle {
  id: string;
  name: string;
  /** Process type: `web` listens on port and is behind the proxy; others do not listen. */
  process: string;
  ip: string;
  port: number;
  /** swarm: the node it runs on and its service (the release's record keeps them for retirement). */
  node?: string;
  service?: string;
  health(): Promise<ContainerHealth>;
  /** What listens inside the container; undefined when berth cannot see it. */
  listening(): Promise<ListeningSocket[] | undefined>;
  /** Runs a command inside the container (app.json command checks). */
  exec(command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<ExecResult>;
}

export interface SourceReader {
  /** A file of the pushed commit, up to maxBytes; undefined when the commit has no such file. */
  readFile(file: string, maxBytes: number): Promise<{ content: Buffer; truncated: boolean } | undefined>;
}

export interface CheckSettings {
  listenTimeoutSeconds: number;
  defaultSettleSeconds: number;
}

export interface TriggerContext {
  trigger: Trigger;
  app: string;
  release: number;
  commit: string;
  image: string | undefined;
  /** The new release's container, from pre-deploy on. */
  container: ContainerHandle | undefined;
  /** The release that served before this deploy, if any. */
  previous: { release: number; containers: { id: string; ip: string; port: number }[] } | undefined;
  /** On deploy-failed: where and why. */
  failure: { stage: string; message: string } | undefined;
  source: SourceReader;
  checks: CheckSettings;
  logger: Logger;
  signal: AbortSignal;
}

export type TriggerHandler = (context: TriggerContext) => Promise<void> | void;

/** What a JS plugin module exports (as `triggers`, or as the default export's `triggers`). */
export type PluginTriggers = Partial<Record<Trigger, TriggerHandler>>;

export interface Plugin {
  name: string;
  dir: string;
  handlers: Map<Trigger, TriggerHandler>;
}
