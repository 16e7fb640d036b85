import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { BerthError } from '../errors.js';

const run = promisify(execFile);

/** The Lua module needs the Nginx Development Kit loaded before it. */
const LUA_MODULES = ['ndk_http_module.so', 'ngx_http_lua_module.so'];

/**
 * The edge routes with OpenResty's Lua module. Debian builds it as a dynamic module (package
 * libnginx-mod-http-lua, which brings the NDK and lua-resty-core); berth loads it in its own
 * nginx.conf rather than relying on /etc/nginx/modules-enabled, which its nginx never reads.
 * OpenResty has it compiled in.
 */
export async function luaModuleDirectives(bin: string): Promise<string[]> {
  const { stderr } = await run(bin, ['-V']);
  if (/--add-module=\S*(ngx_lua|lua-nginx-module)/.test(stderr)) return [];
  const modulesPath = /--modules-path=(\S+)/.exec(stderr)?.[1] ?? '/usr/lib/nginx/modules';
  const modules = LUA_MODULES.map((name) => path.join(modulesPath, name));
  if (modules.every((module) => fs.existsSync(module))) return modules.map((module) => `load_module ${module};`);
  throw new BerthError("nginx has no Lua module, which berth's edge routes with", 'install it: apt-get install libnginx-mod-http-lua (npm start does this)');
}
