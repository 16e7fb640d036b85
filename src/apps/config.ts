import { InputError } from '../errors.js';
import { checkConfigKey, checkConfigValue } from '../model/app.js';
import type { ConfigChange, NewRelease } from '../model/api.js';
import type { DeployOutput } from '../log/output.js';
import type { AppRecord } from '../store/store.js';
import type { AppOperator } from './operator.js';

/** A config change that passed every rule, ready to store: what it does and how to apply it. */
export interface ConfigPlan {
  /** "set A, unset B", for the release's description and the output. */
  summary: string;
  apply(record: AppRecord): void;
}

/** An app's config vars; a change restarts the app through the pipeline unless told not to. */
export class ConfigService {
  constructor(private readonly operator: AppOperator) {}

  async show(name: string): Promise<Record<string, string>> {
    return (await this.operator.get(name)).config;
  }

  /** Sets and unsets config vars, then restarts the app with them unless `restart` is false. */
  async change(name: string, { set = {}, unset = [], restart = true }: ConfigChange, output: DeployOutput): Promise<{ config: Record<string, string>; release: NewRelease }> {
    await this.operator.get(name);
    const plan = planConfigChange(set, unset);
    const description = `config change: ${plan.summary}`;
    return this.operator.withApp(name, description, output, async () => {
      const app = await this.operator.deps.store.updateApp(name, plan.apply);
      output.section(`Config of ${name}: ${plan.summary}`);
      if (!restart && app.live && !app.stopped) {
        output.info('Not restarted (--no-restart): the change applies at the next deploy or restart');
        return { config: app.config, release: null };
      }
      return { config: app.config, release: await this.operator.applyStored(app, description, output) };
    });
  }
}

/** Checks every key and value before anything is stored; throws an InputError naming the first that breaks a rule. */
export function planConfigChange(set: Record<string, string>, unset: string[]): ConfigPlan {
  for (const [key, value] of Object.entries(set)) checkConfigValue(checkConfigKey(key), value);
  for (const key of unset) checkConfigKey(key);
  if (!Object.keys(set).length && !unset.length) throw new InputError('no configuration change given', 'pass KEY=VALUE pairs to config:set or KEY names to config:unset');
  return {
    summary: [...Object.keys(set).map((key) => `set ${key}`), ...unset.map((key) => `unset ${key}`)].join(', '),
    apply(record) {
      Object.assign(record.config, set);
      for (const key of unset) delete record.config[key];
    },
  };
}
