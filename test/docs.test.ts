/**
 * What a new user copies from the README, and what npm shows of the package: the snippets
 * install what they import, use the variables the settings document, close what they open, and
 * never let npx fetch a stranger's package with the database URL in its environment.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ENV_VARS } from '../src/config/settings.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const blocks = (language: string) => [...readme.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);
const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

test("the app's install line holds every package the README's code imports", () => {
  const line = blocks('sh').flatMap((b) => b.split('\n')).find((l) => l.startsWith('npm install asyncmq-postgres'));
  assert.ok(line, 'the README shows how an app installs the package');
  const installed = line.split(/\s+/).slice(2);
  const imported = new Set(
    blocks('ts')
      .flatMap((b) => [...b.matchAll(/\bfrom '([^']+)'/g)].map((m) => m[1]!))
      .filter((s) => !s.startsWith('node:') && !s.startsWith('.'))
      .map(packageOf),
  );
  assert.ok(imported.size >= 3, [...imported].join(', '));
  for (const name of imported) assert.ok(installed.includes(name), `${name} is imported but not in "${line}"`);
});

test('every npx of the command says --no-install', () => {
  const calls = [...readme.matchAll(/npx (?:[-\w]+ )*asyncmq-postgres\b/g)].map((m) => m[0]);
  assert.ok(calls.length > 0);
  for (const call of calls) assert.match(call, /^npx --no-install asyncmq-postgres$/);
});

test("the snippets read only the settings' own variables, and end the clients they open", () => {
  const documented = new Set<string>(Object.values(ENV_VARS));
  for (const block of blocks('ts')) {
    for (const [, name] of block.matchAll(/process\.env\.(\w+)/g)) assert.ok(documented.has(name!), `${name} is not a documented setting`);
    if (/\bpostgres\(/.test(block)) assert.match(block, /\.end\(/, `a snippet opens a postgres() client and never ends it:\n${block}`);
  }
});

test('package.json says where the code and the issues are', () => {
  const repo = 'github.com/asyncmq-postgres/asyncmq-postgres';
  assert.equal(pkg.repository?.type, 'git');
  assert.equal(pkg.repository?.url, `git+https://${repo}.git`);
  assert.equal(pkg.homepage, `https://${repo}#readme`);
  assert.equal(pkg.bugs?.url, `https://${repo}/issues`);
});
