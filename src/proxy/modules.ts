import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { BerthError } from '../errors.js';

const run = promisify(execFile);

/**
 * The switch tier needs nginx's stream module. Debian builds it as a dynamic module (package
 * libnginx-mod-stream); other builds have it compiled in.
 */
export async function streamModuleDirective(bin: string): Promise<string> {
  const { stderr } = await run(bin, ['-V']);
  if (/--with-stream(\s|$)/.test(stderr)) return '';
  const modulesPath = /--modules-path=(\S+)/.exec(stderr)?.[1] ?? '/usr/lib/nginx/modules';
  const module = path.join(modulesPath, 'ngx_stream_module.so');
  if (/--with-stream=dynamic/.test(stderr) && fs.existsSync(module)) return `load_module ${module};`;
  throw new BerthError('nginx has no stream module, which berth\'s switch tier needs', 'install it: apt-get install libnginx-mod-stream (npm start does this)');
}
