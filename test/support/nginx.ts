import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The folders berth's nginx instances write to: `nginx -t` opens the error log and creates the temp paths. */
export function createNginxPrefix(prefix: string): void {
  for (const sub of ['run', 'logs', 'tmp', 'apps']) fs.mkdirSync(path.join(prefix, sub), { recursive: true });
}

/** Runs the real `nginx -t` as src/proxy/nginx.ts does, failing with nginx's own complaint. */
export function assertNginxAccepts(prefix: string, mainFile: string): void {
  const result = spawnSync('nginx', ['-t', '-q', '-p', prefix, '-e', path.join(prefix, 'logs', 'error.log'), '-c', mainFile], { encoding: 'utf8' });
  if (result.error) throw result.error;
  assert.equal(result.status, 0, `nginx -t rejected ${mainFile}: ${result.stderr.trim()}`);
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
