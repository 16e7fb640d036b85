/**
 * Built-in plugin: Dokku-style CHECKS. Runs in check-deploy against the new container only,
 * before any traffic reaches it; a failure keeps the old release live.
 */
import { checkDeploy } from '../../src/checks/runner.js';
import type { PluginTriggers } from '../../src/plugins/types.js';

export const triggers: PluginTriggers = {
  'check-deploy': checkDeploy,
};
