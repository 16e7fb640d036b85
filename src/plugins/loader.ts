import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { executableHandler } from './executable.js';
import { TRIGGERS, type Plugin, type PluginTriggers, type Trigger, type TriggerHandler } from './types.js';

const MODULE_ENTRIES = ['index.js', 'index.mjs'];

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    return stat.isFile() && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

async function loadModulePlugin(name: string, dir: string, entry: string): Promise<Plugin> {
  const loaded = (await import(pathToFileURL(path.join(dir, entry)).href)) as { triggers?: PluginTriggers; default?: { triggers?: PluginTriggers } };
  const triggers = loaded.triggers ?? loaded.default?.triggers;
  if (!triggers) throw new Error(`plugin ${name} (${dir}/${entry}) exports no \`triggers\` object`);
  const handlers = new Map<Trigger, TriggerHandler>();
  for (const [trigger, handler] of Object.entries(triggers)) {
    if (!TRIGGERS.includes(trigger as Trigger)) throw new Error(`plugin ${name} handles unknown trigger "${trigger}" (known: ${TRIGGERS.join(', ')})`);
    if (typeof handler !== 'function') throw new Error(`plugin ${name}: trigger ${trigger} is not a function`);
    handlers.set(trigger as Trigger, handler);
  }
  return { name, dir, handlers };
}

async function loadExecutablePlugin(name: string, dir: string): Promise<Plugin> {
  const handlers = new Map<Trigger, TriggerHandler>();
  for (const trigger of TRIGGERS) {
    const file = path.join(dir, trigger);
    if (await isExecutableFile(file)) handlers.set(trigger, executableHandler(file, dir));
  }
  return { name, dir, handlers };
}

async function loadPlugin(name: string, dir: string): Promise<Plugin> {
  for (const entry of MODULE_ENTRIES) {
    try {
      await fs.access(path.join(dir, entry));
      return await loadModulePlugin(name, dir, entry);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return loadExecutablePlugin(name, dir);
}

/**
 * Every folder in each plugin directory is a plugin, run in directory order then by name
 * (so `10-migrate` runs before `20-notify`). A missing directory has no plugins.
 */
export async function loadPlugins(dirs: string[]): Promise<Plugin[]> {
  const plugins: Plugin[] = [];
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch {
      continue;
    }
    for (const name of entries) plugins.push(await loadPlugin(name, path.join(dir, name)));
  }
  return plugins;
}
