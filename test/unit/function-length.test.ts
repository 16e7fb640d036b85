import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { PACKAGE_ROOT } from '../../src/paths.js';

/** A function longer than this is hard to read at once; split it, or say here why it may not be. */
const MAX_FUNCTION_LINES = 60;
const SOURCE_DIR = path.join(PACKAGE_ROOT, 'src');

function sourceFiles(): string[] {
  return fs
    .readdirSync(SOURCE_DIR, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join(SOURCE_DIR, name));
}

function longFunctions(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.end).line;
      const lines = last - first + 1;
      const name = node.name?.getText(source) ?? '(anonymous)';
      if (lines > MAX_FUNCTION_LINES) found.push(`${path.relative(PACKAGE_ROOT, file)}:${first + 1} ${name}: ${lines} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test(`no function in src/ is longer than ${MAX_FUNCTION_LINES} lines`, () => {
  const files = sourceFiles();
  assert.ok(files.length > 20, `found only ${files.length} source files in ${SOURCE_DIR}`);
  assert.deepEqual(files.flatMap(longFunctions), []);
});
