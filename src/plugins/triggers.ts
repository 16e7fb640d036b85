import { BerthError, describe, stopReason, throwIfStopped } from '../errors.js';
import { BLOCKING_TRIGGERS, type Plugin, type TriggerContext, type TriggerHandler } from './types.js';

/** Keeps the plugin's own hint (what to do next) when it gave one. */
export class PluginFailure extends BerthError {
  constructor(
    readonly plugin: string,
    readonly trigger: string,
    cause: unknown,
  ) {
    super(`${describe(cause)} (plugin ${plugin}, ${trigger})`, cause instanceof BerthError ? cause.hint : undefined);
  }
}

/**
 * Runs one trigger across every plugin that handles it, in load order. On a blocking trigger
 * the first failure stops the deploy; on the others it is reported and the rest still run.
 */
export async function fireTrigger(plugins: Plugin[], context: TriggerContext): Promise<void> {
  for (const plugin of plugins) {
    const handler = plugin.handlers.get(context.trigger);
    if (!handler) continue;
    try {
      await runBounded(handler, context);
    } catch (error) {
      const failure = new PluginFailure(plugin.name, context.trigger, error);
      if (BLOCKING_TRIGGERS.has(context.trigger)) throw failure;
      context.logger.warn(failure.message);
    }
  }
}

/**
 * The hook's own promise, unless the deploy's signal fires first: then berth stops waiting at
 * once, whatever the hook does (a JS hook that ignores the signal is abandoned; an executable one
 * is stopped by its handler), so the deploy fails at its limit and the app's lock is released.
 */
function runBounded(handler: TriggerHandler, context: TriggerContext): Promise<void> {
  throwIfStopped(context.signal);
  return new Promise((resolve, reject) => {
    const giveUp = () => reject(stopReason(context.signal));
    context.signal.addEventListener('abort', giveUp, { once: true });
    Promise.resolve()
      .then(() => handler(context))
      .then(resolve, reject)
      .finally(() => context.signal.removeEventListener('abort', giveUp));
  });
}
