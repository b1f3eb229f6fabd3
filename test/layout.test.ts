/**
 * src/ by concern (docs/architecture.md): each folder imports only from the folders before it
 * in config → schema, connection → catalog, producer → operations → entry points, and no import cycle.
 * Read from the source text, so a new file is covered as soon as it exists.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const LAYERS: Record<string, number> = { 'errors.ts': 0, config: 0, schema: 1, connection: 1, catalog: 2, producer: 2, operations: 3 };
const folderOf = (file: string) => relative(src, file).split('/')[0]!;
const layerOf = (file: string) => LAYERS[folderOf(file)] ?? 4;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const imports = new Map(
  sources(src).map((file) => [
    file,
    [...readFileSync(file, 'utf8').matchAll(/\b(?:from|import)\s*\(?'(\.{1,2}\/[^']+)'/g)].map((m) => resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts')),
  ]),
);

test('no folder of src/ imports from a folder after it, or from a sibling of the same rank', () => {
  const against: string[] = [];
  for (const [file, targets] of imports) {
    for (const target of targets) {
      const [a, b] = [layerOf(file), layerOf(target)];
      const sideways = a === b && a !== 0 && a !== 4 && folderOf(file) !== folderOf(target);
      if (b > a || sideways) against.push(`${relative(src, file)} -> ${relative(src, target)}`);
    }
  }
  assert.deepEqual(against, []);
  assert.ok(imports.size > 30, `read ${imports.size} files`);
});

test('src/ has no import cycle', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    state.set(file, 'open');
    for (const next of imports.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].map((f) => relative(src, f)).join(' -> '));
      else if (!state.has(next)) visit(next, [...path, next]);
    }
    state.set(file, 'done');
  };
  for (const file of imports.keys()) if (!state.has(file)) visit(file, [file]);
  assert.deepEqual(cycles, []);
});
