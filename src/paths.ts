import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The berth checkout; source and compiled files both live below it. */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
export const TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates');
/** Built-in plugins, compiled from plugins/ by tsc. */
export const BUILTIN_PLUGINS_DIR = path.join(PACKAGE_ROOT, 'dist', 'plugins');

export const BERTH_VERSION = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
