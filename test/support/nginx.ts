import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { luaModuleDirectives } from '../../src/proxy/modules.js';
import { LUA_DIR, type EdgeMainSpec } from '../../src/proxy/render.js';
import { selfSignedCertificate } from './tls.js';

let placeholder: { certPem: string; keyPem: string } | undefined;

/**
 * The folders and files `nginx -t` of berth's edge needs in `prefix`: the folders it writes to (it
 * opens the error log and creates the temp paths), and the placeholder certificate it loads.
 */
export function createNginxPrefix(prefix: string): void {
  for (const sub of ['run', 'logs', 'tmp', 'private']) fs.mkdirSync(path.join(prefix, sub), { recursive: true });
  placeholder ??= selfSignedCertificate(['placeholder.test']);
  fs.writeFileSync(path.join(prefix, 'private', 'placeholder.crt'), placeholder.certPem);
  fs.writeFileSync(path.join(prefix, 'private', 'placeholder.key'), placeholder.keyPem);
}

/** The edge's main config for a prefix, laid out as src/proxy/data-plane.ts lays it out. */
export async function edgeMainSpec(prefix: string, change: Partial<EdgeMainSpec> = {}): Promise<EdgeMainSpec> {
  const loadModules = await luaModuleDirectives('nginx');
  const priv = (name: string) => path.join(prefix, 'private', name);
  return { prefix, httpPort: 8080, httpsPort: 8443, domain: 'localhost', drainTimeoutSeconds: 30, loadModules, luaDir: LUA_DIR, luaDigest: '0123456789abcdef', routesFile: priv('routes'), adminSocket: priv('admin.sock'), placeholderCert: priv('placeholder.crt'), placeholderKey: priv('placeholder.key'), ...change };
}

/** Runs the real `nginx -t` as src/proxy/nginx.ts does (which runs init_by_lua, so loads the route table too); nginx's own complaint, or undefined. */
export function nginxComplaint(prefix: string, mainFile: string): string | undefined {
  const result = spawnSync('nginx', ['-t', '-q', '-p', prefix, '-e', path.join(prefix, 'logs', 'error.log'), '-c', mainFile], { encoding: 'utf8' });
  if (result.error) throw result.error;
  return result.status === 0 ? undefined : result.stderr.trim();
}

export function assertNginxAccepts(prefix: string, mainFile: string): void {
  const complaint = nginxComplaint(prefix, mainFile);
  assert.equal(complaint, undefined, `nginx -t rejected ${mainFile}: ${complaint}`);
}

// nginx's lexer: spaces, tabs and line ends separate words; `#` starts a comment only where a word
// could start; quotes group a word; a backslash escapes the next character.
const NGINX_TOKEN = /[ \t\r\n]+|#[^\n]*|[;{}]|"(?:\\[^]|[^"\\])*"?|'(?:\\[^]|[^'\\])*'?|(?:\\[^]|[^ \t\r\n;{}\\])+|\\/gy;

/**
 * The statements of an nginx config in order, each as its directive name, then `_` for every
 * argument except those that use a `$variable`, then how it ends (`;` or `{`). Two configs with
 * the same outline have the same directives with the same number of arguments, so a value
 * rendered into one of them cannot have added, split or ended a directive.
 */
export function nginxOutline(text: string): string[] {
  const statements: string[] = [];
  let words: string[] = [];
  const endStatement = (end: string) => {
    statements.push([words[0], ...words.slice(1).map((word) => (word.includes('$') ? word : '_')), end].join(' '));
    words = [];
  };
  for (const [token] of text.matchAll(NGINX_TOKEN)) {
    if (/^[ \t\r\n#]/.test(token)) continue;
    if (token === ';' || token === '{') endStatement(token);
    else if (token === '}') {
      if (words.length) endStatement('(unterminated)');
      statements.push('}');
    } else words.push(token);
  }
  if (words.length) endStatement('(unterminated)');
  return statements;
}
