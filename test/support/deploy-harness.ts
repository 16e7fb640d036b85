import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { DeployPipeline, type ReleaseSource } from '../../src/deploy/pipeline.js';
import type { DeployOutcome } from '../../src/deploy/stages.js';
import { DeployOutput } from '../../src/log/output.js';
import type { Plugin, Trigger, TriggerHandler } from '../../src/plugins/types.js';
import { DEFAULTS, type ServeOptions } from '../../src/server/options.js';
import { Store } from '../../src/store/store.js';
import { FakeCommit } from './fake-commit.js';
import { FakeProxy } from './fake-proxy.js';
import { FakeRuntime } from './fake-runtime.js';

export const APP = 'shop';
export const INSTANCE = 'unit';
export const APP_FILES = { Dockerfile: 'FROM node:20\nCMD ["node", "server.js"]\n', Procfile: 'web: node server.js\nworker: node worker.js\n' };

/** berth's deploy machinery on a real Store in a temporary folder, with a fake engine and a fake proxy. */
export interface Harness {
  options: ServeOptions;
  store: Store;
  runtime: FakeRuntime;
  proxy: FakeProxy;
  /** A pipeline over this harness, with these plugins and options changed. */
  pipeline(plugins?: Plugin[], options?: Partial<ServeOptions>): DeployPipeline;
}

export async function harness(t: TestContext): Promise<Harness> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-unit-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const options: ServeOptions = { ...DEFAULTS, dataDir, instance: INSTANCE, domain: 'example.test', drainTimeoutSeconds: 1 };
  const store = new Store(dataDir);
  await store.createApp(APP);
  const runtime = new FakeRuntime(INSTANCE);
  const proxy = new FakeProxy();
  return {
    options,
    store,
    runtime,
    proxy,
    pipeline: (plugins = [], changed = {}) => new DeployPipeline({ options: { ...options, ...changed }, runtime, store, proxy, plugins }),
  };
}

/** A plugin that handles one trigger. */
export function plugin(trigger: Trigger, handler: TriggerHandler): Plugin {
  return { name: 'probe', dir: '/nonexistent', handlers: new Map([[trigger, handler]]) };
}

export function push(commit: string, files: Record<string, string> = APP_FILES): ReleaseSource {
  return { kind: 'push', tree: new FakeCommit(commit, files) };
}

/** A restart or rollback: a new release of an image built before. */
export function reuse(image: string, commit: string): ReleaseSource {
  return { kind: 'image', image, tree: new FakeCommit(commit, APP_FILES) };
}

export interface Deployed {
  outcome: DeployOutcome;
  /** What the pusher read. */
  read: string;
}

export async function deploy(pipeline: DeployPipeline, source: ReleaseSource, description = 'push'): Promise<Deployed> {
  const output = new DeployOutput();
  const outcome = await pipeline.deploy({ app: APP, source, description, output });
  return { outcome, read: output.transcript() };
}

/** Deploys a commit that goes live, as the state every other test starts from. */
export async function deployLive(h: Harness, commit: string): Promise<void> {
  const { outcome, read } = await deploy(h.pipeline(), push(commit));
  assert.ok(outcome.ok, read);
}
