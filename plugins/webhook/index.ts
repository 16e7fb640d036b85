/**
 * Built-in example plugin: tells a web hook about every deploy. Set BERTH_WEBHOOK_URL for the
 * berth server (for example a Slack-compatible relay); unset, it does nothing. A webhook that
 * fails or is slow never fails a deploy: the plugin only uses non-blocking triggers.
 */
import { request } from 'undici';
import { describe } from '../../src/errors.js';
import type { PluginTriggers, TriggerContext } from '../../src/plugins/types.js';

const TIMEOUT_MS = 5000;

async function notify(context: TriggerContext, event: 'deployed' | 'failed'): Promise<void> {
  const url = process.env.BERTH_WEBHOOK_URL;
  if (!url) return;
  const payload = {
    event,
    app: context.app,
    release: context.release,
    commit: context.commit,
    failure: context.failure,
    text: event === 'deployed' ? `${context.app} release ${context.release} is live` : `${context.app} release ${context.release} failed at ${context.failure?.stage}: ${context.failure?.message}`,
  };
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'berth-webhook' },
      body: JSON.stringify(payload),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    await response.body.dump();
    context.logger.info(`Webhook: notified (${response.statusCode})`);
  } catch (error) {
    context.logger.warn(`Webhook: could not notify ${new URL(url).host}: ${describe(error)}`);
  }
}

export const triggers: PluginTriggers = {
  'post-deploy': (context) => notify(context, 'deployed'),
  'deploy-failed': (context) => notify(context, 'failed'),
};
