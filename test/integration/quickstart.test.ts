/**
 * The README's quick start, run exactly as written, in an empty directory, against the npm
 * registry as it is today: its shell lines one by one, its app.ts as printed. Two things stand in
 * for what a reader has and this run does not: the packed package stands in for the registry's
 * `asyncmq-postgres` on the install line, and the test database's URL for the `export` line's.
 * So a peer range that shuts out a current release of drizzle-orm or postgres fails here as
 * `npm install` fails for a reader (ERESOLVE).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pack, root } from '../support/apps.js';
import { createDatabase } from '../support/db.js';
import { HANG_MS } from '../support/patience.js';
import { snapshot } from '../support/snapshot.js';
import { testTmp } from '../support/tmp.js';
import { reference } from '../support/versions.js';

/** The quick start's code blocks, in order, with their language. */
function quickStart(): { language: string; text: string }[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start\n'), readme.indexOf('\n## ', readme.indexOf('## Quick start\n') + 1));
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ language: m[1]!, text: m[2]! }));
}

test('the README quick start works as written in an empty directory, with the registry\'s current releases', async () => {
  const blocks = quickStart();
  assert.deepEqual(blocks.map((b) => b.language), ['sh', 'sh', 'ts', 'sh'], 'the quick start: set-up, install, app.ts, run');
  const db = await createDatabase();
  const work = await testTmp('asyncmq-quickstart-');
  const { tarball } = await pack(work);
  const app = join(work, 'app');
  mkdirSync(app);
  const env: NodeJS.ProcessEnv = { ...process.env, ASYNCMQ_POSTGRES_BACKEND_URL: db.url, npm_config_audit: 'false', npm_config_fund: 'false' };
  for (const key of Object.keys(env)) if (key.startsWith('npm_') && !/^npm_config_(audit|fund|cache|registry)$/.test(key)) delete env[key];

  const shell = (line: string) => {
    const run = spawnSync('bash', ['-c', line], { cwd: app, env, encoding: 'utf8', timeout: HANG_MS });
    assert.equal(run.status, 0, `${line}\n${run.stdout}\n${run.stderr}`);
    return run.stdout;
  };
  const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
  const [setUp, install, code, start] = blocks as [(typeof blocks)[0], (typeof blocks)[0], (typeof blocks)[0], (typeof blocks)[0]];

  for (const line of lines(setUp.text)) {
    // The package itself is not on the registry: the packed one stands in for it, nothing else.
    shell(line.replace(/^(npm install .*?)\basyncmq-postgres\b/, `$1${tarball}`));
  }
  for (const line of lines(install.text)) {
    if (line.startsWith('export ASYNCMQ_POSTGRES_BACKEND_URL=')) continue; // the test database's URL is in env
    assert.match(shell(line), /^AsyncMQ schema 0\.9 /);
  }
  const file = /^\/\/ (\S+)\n/.exec(code.text)?.[1];
  assert.equal(file, 'app.ts', 'the code block names its file');
  writeFileSync(join(app, file), code.text);
  for (const line of lines(start.text)) assert.equal(shell(line).trim(), '0 waiting in emails');

  assert.deepEqual(await snapshot(db.sql), await reference('0.9'), "the database holds AsyncMQ 0.9's tables");
  // The registry's current releases are what the app got.
  const latest = (name: string) => spawnSync('npm', ['view', name, 'dist-tags.latest'], { env, encoding: 'utf8' }).stdout.trim();
  const installed = (name: string) => JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')).version;
  for (const name of ['drizzle-orm', 'postgres']) assert.equal(installed(name), latest(name), name);
});
