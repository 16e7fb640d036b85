import { BerthError, describe } from '../errors.js';
import type { ChecksState } from '../model/app.js';
import type { DeployOutput } from '../log/output.js';
import type { AppOperator } from './operator.js';

/** Whether deploys run the app's CHECKS, and running them now against the live containers. */
export class ChecksService {
  constructor(private readonly operator: AppOperator) {}

  async set(name: string, state: ChecksState): Promise<ChecksState> {
    await this.operator.get(name);
    return (await this.operator.deps.store.updateApp(name, (record) => (record.checks = state))).checks;
  }

  /** Prints every attempt; a failure is printed too, then thrown so the operation ends failed. */
  async run(name: string, output: DeployOutput): Promise<{ passed: true }> {
    const app = await this.operator.get(name);
    try {
      await this.operator.deps.pipeline.checkLive(app, output);
    } catch (error) {
      output.error(describe(error));
      throw new BerthError(`the checks of ${name} failed`, 'see the lines above');
    }
    output.section('All checks passed');
    return { passed: true };
  }
}
