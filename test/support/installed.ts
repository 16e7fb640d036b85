import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

let found: string | undefined;

/**
 * The `berth` command a user types: the first one on the PATH. It must run this checkout's build
 * (npm run setup installs it so), or the tests would try some other berth.
 */
export function installedBerth(): string {
  if (found) return found;
  const entry = fs.realpathSync(path.join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js'));
  const onPath = (process.env.PATH ?? '').split(':').map((dir) => path.join(dir, 'berth')).find(isExecutable);
  if (!onPath) throw new Error('no berth command on the PATH: run npm run setup (it installs one)');
  if (fs.realpathSync(onPath) !== entry) {
    throw new Error(`the berth on the PATH (${onPath}) runs ${fs.realpathSync(onPath)}, not this checkout's ${entry}: run npm run setup here`);
  }
  found = onPath;
  return found;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
