import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { luaModuleDirectives } from '../../src/proxy/modules.js';
import { LUA_DIR } from '../../src/proxy/render.js';
import type { RouteTable } from '../../src/proxy/route-table.js';

const LOAD_MODULES = await luaModuleDirectives('nginx');

/**
 * Loads route tables, one after the other, into berth_edge.lua's shared dict inside the real
 * nginx and its LuaJIT, and returns what the dict then holds and why any table was refused. nginx runs only as far as its init_by_lua, which prints the dict and exits: nginx -t
 * skips init_by_lua, and a started edge would need ports.
 */
export function loadInEdgeLua(tables: string[]): { entries: Record<string, string>; refused: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-test-lua-'));
  try {
    const files = tables.map((text, index) => {
      const file = path.join(dir, `routes-${index}`);
      fs.writeFileSync(file, text);
      return `"${file}"`;
    });
    const config = `${LOAD_MODULES.join('\n')}
pid ${dir}/nginx.pid;
events {}
http {
  lua_package_path "${LUA_DIR}/?.lua;;";
  lua_shared_dict berth_routes 4m;
  init_by_lua_block {
    for _, file in ipairs({ ${files.join(', ')} }) do
      local ok, err = pcall(require("berth_edge").init, file, 443, "localhost")
      if not ok then io.stdout:write("refused ", ngx.encode_base64(tostring(err)), "\\n") end
    end
    local dict = ngx.shared.berth_routes
    for _, key in ipairs(dict:get_keys(0)) do io.stdout:write("entry ", key, " ", ngx.encode_base64(dict:get(key)), "\\n") end
    io.stdout:flush()
    os.exit(0)
  }
}
`;
    fs.writeFileSync(path.join(dir, 'nginx.conf'), config);
    const result = spawnSync('nginx', ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf')], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`nginx did not run berth_edge.lua: ${result.stderr}`);
    const decode = (field = '') => Buffer.from(field, 'base64').toString('utf8');
    const loaded = { entries: {} as Record<string, string>, refused: [] as string[] };
    for (const [kind, ...fields] of result.stdout.split('\n').filter(Boolean).map((line) => line.split(' '))) {
      if (kind === 'entry') loaded.entries[fields[0]] = decode(fields[1]);
      else loaded.refused.push(decode(fields[0]));
    }
    return loaded;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What berth_edge.lua's dict must hold for a table: the contract between route-table.ts and the Lua (see the Lua's header). */
export function expectedEdgeEntries(table: RouteTable): Record<string, string> {
  const entries: Record<string, string> = {};
  const onOff = (flag: boolean) => (flag ? 'on' : 'off');
  for (const [app, route] of table.apps) {
    const containers = route.upstreams.length ? route.upstreams.map((u) => `${u.host}:${u.port}`).join(',') : '-';
    const upstreams = route.holdSeconds === undefined ? containers : `hold=${route.holdSeconds}`;
    entries[`app:${app}`] = `${route.release ?? '-'} ${onOff(route.options.redirectHttps)} ${onOff(route.options.hsts)} ${upstreams}`;
    for (const host of route.hosts) entries[`host:${host}`] = app;
    const cert = route.certificate;
    if (!cert) continue;
    entries[`cert:${cert.id}`] = cert.certPem;
    entries[`key:${cert.id}`] = cert.keyPem;
    for (const host of cert.hosts.filter((name) => route.hosts.includes(name))) entries[`sni:${host}`] = cert.id;
  }
  for (const [token, answer] of table.challenges) entries[`challenge:${token}`] = answer;
  return entries;
}
