import { checkDeploy } from '../../src/checks/runner.js';
import { DeployOutput } from '../../src/log/output.js';
import type { ContainerHandle, TriggerContext } from '../../src/plugins/types.js';
import { FakeCommit, type FakeEntry } from './fake-commit.js';

/** A running container at this address that has been up a minute, never restarted; commands in it exit 0 unless `changes` say otherwise. */
export function checkedContainer(address: { ip: string; port: number }, changes: Partial<ContainerHandle> = {}): ContainerHandle {
  return {
    id: 'x',
    name: 'unit_shop_web_1',
    process: 'web',
    ...address,
    health: async () => ({ running: true, startedAt: new Date(Date.now() - 60_000).toISOString(), restartCount: 0, exitCode: 0, oomKilled: false, error: '' }),
    listening: async () => [],
    exec: async () => ({ exitCode: 0, output: '' }),
    ...changes,
  };
}

/** Runs the checks plugin's check-deploy on the container with the commit's files; resolves with what the pusher read, and the error if it failed. */
export async function runCheckDeploy(container: ContainerHandle, files: Record<string, string | FakeEntry>): Promise<{ read: string; error?: Error & { hint?: string } }> {
  const output = new DeployOutput();
  const context: TriggerContext = {
    trigger: 'check-deploy',
    app: 'shop',
    release: 1,
    commit: 'c0ffee0c0ffee0',
    image: 'unit/shop:1',
    container,
    previous: undefined,
    failure: undefined,
    source: new FakeCommit('c0ffee0c0ffee0', files),
    checks: { listenTimeoutSeconds: 5, defaultSettleSeconds: 0 },
    logger: output,
    signal: new AbortController().signal,
  };
  try {
    await checkDeploy(context);
    return { read: output.transcript() };
  } catch (error) {
    return { read: output.transcript(), error: error as Error };
  }
}
