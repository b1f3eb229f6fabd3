/**
 * The package as npm would ship it: packed, unpacked into the two example apps' node_modules,
 * and type-checked there, typed joins between its tables and the app's included, under strict
 * TypeScript 5 and 7 against the packed types (on the drizzle-orm line of
 * ASYNCMQ_TEST_DRIZZLE_MODULES, see support/apps.ts). test/examples.test.ts runs the same apps
 * with drizzle-kit against a real Postgres.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EXAMPLES, pack, root, setUpApp, typecheck } from '../support/apps.js';
import { testTmp } from '../support/tmp.js';
import { HANG_MS } from '../support/patience.js';

let work: string;
let files: string[];
const apps: string[] = [];
let tarball: string;

before(async () => {
  work = await testTmp('asyncmq-packed-');
  ({ tarball, files } = await pack(work));
  for (const example of Object.values(EXAMPLES)) {
    apps.push(await setUpApp(work, example, (target) => {
      execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
    }));
  }
});

after(() => rm(work, { recursive: true, force: true }));


/**
 * The static import graph of the packed package from `entries` (its files, `.js` or `.d.ts`):
 * every file of the package it reaches, and the packages outside it that it imports (Node's own
 * modules by their `node:` names).
 */
async function importGraph(...entries: string[]): Promise<{ seen: Set<string>; outside: Set<string> }> {
  const dist = join(apps[0]!, 'node_modules/asyncmq-postgres/dist');
  const seen = new Set<string>();
  const outside = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = await readFile(join(dist, file), 'utf8');
    for (const [, from, bare] of code.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^import\s*['"]([^'"]+)['"]/gm)) {
      const spec = from ?? bare;
      if (!spec) continue;
      if (spec.startsWith('./') || spec.startsWith('../')) await visit(join(file, '..', spec).replace(/\.js$/, file.endsWith('.d.ts') ? '.d.ts' : '.js'));
      else outside.add(spec.startsWith('node:') ? spec : spec.split('/')[0]!);
    }
  };
  for (const entry of entries) await visit(entry);
  return { seen, outside };
}

test('the tarball holds the built code, drizzle/, the license and the bin, and no sources or tests', () => {
  for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/schema.js', 'dist/schema.d.ts', 'dist/bin.js', 'drizzle/0.1/0000_init.sql', 'drizzle/0.9/0000_init.sql', 'drizzle/0.9/meta/_journal.json', 'LICENSE', 'package.json']) {
    assert.ok(files.includes(file), `${file} is packed`);
  }
  assert.ok(files.some((f) => /^drizzle-1\.0\/0\.9\/\d+_init\/migration\.sql$/.test(f)), 'drizzle-1.0/ is packed');
  assert.deepEqual(files.filter((f) => /^(src|test|bench|scripts|examples)\//.test(f)), []);
});

// Consumers are mostly on TypeScript 5.x; 7 is the newest major. The packed types must serve both,
// typed joins between the package's tables and the app's included (types-check.ts).
for (const [pkg, major] of [['typescript', '5'], ['typescript7', '7']] as const) {
  test(`both example apps type-check under strict TypeScript ${major} against the packed types`, () => {
    for (const app of apps) {
      const result = typecheck(app, pkg);
      assert.equal(result.major, major);
      assert.equal(result.status, 0, result.output);
    }
  });
}

test('the schema entry loads under require() and imports neither postgres.js nor drizzle-kit', async () => {
  const loaded = spawnSync(process.execPath, ['-e', "const s = require('asyncmq-postgres/schema'); console.log(Object.keys(s).sort().join(','))"], { cwd: apps[0], encoding: 'utf8' });
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.match(loaded.stdout, /asyncmq01,asyncmq02,asyncmq08,asyncmq09,asyncmqCancelledJobs,asyncmqJobs,asyncmqRelations,asyncmqRelationsPart,asyncmqRepeatables,createAsyncmqSchema/);

  // Walk the entry's import graph inside the package: only drizzle-orm leaves it.
  const { seen, outside } = await importGraph('schema.js');
  assert.ok(seen.size >= 4, `followed ${[...seen].join(', ')}`);
  assert.deepEqual([...outside], ['drizzle-orm']);
});

test('without postgres.js installed: nothing loads it until a URL is used; the app\'s PGlite works through db; a URL and the CLI ask for it', async () => {
  // The static import graph of the main entry and of its declarations leaves the package only for drizzle-orm.
  const { seen, outside } = await importGraph('index.js', 'index.d.ts');
  assert.ok(seen.has('connection/drivers/postgres-js.js') && seen.has('connection/drivers/types.d.ts'), [...seen].join(', '));
  assert.deepEqual([...outside].filter((name) => !name.startsWith('node:')), ['drizzle-orm']);

  // An app with drizzle-orm and PGlite only.
  const bare = await testTmp('asyncmq-no-postgres-');
  try {
    const target = join(bare, 'node_modules/asyncmq-postgres');
    await mkdir(target, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
    await mkdir(join(bare, 'node_modules/@electric-sql'));
    await symlink(join(root, 'node_modules/drizzle-orm'), join(bare, 'node_modules/drizzle-orm'));
    await symlink(join(root, 'node_modules/@electric-sql/pglite'), join(bare, 'node_modules/@electric-sql/pglite'));
    const script = `
      const absent = await import('postgres').then(() => false, () => true);
      const { PGlite } = await import('@electric-sql/pglite');
      const { drizzle } = await import('drizzle-orm/pglite');
      const { installOrDropPostgresBackend, inspectPostgresBackend } = await import('asyncmq-postgres');
      const { asyncmqJobs } = await import('asyncmq-postgres/schema');
      const client = new PGlite();
      const db = drizzle({ client });
      const report = await installOrDropPostgresBackend({ db, env: {} });
      const status = await inspectPostgresBackend({ db, env: {} });
      const refused = await installOrDropPostgresBackend({ connectionString: 'postgres://app@127.0.0.1:1/app', env: {} }).catch((e) => e.code + ': ' + e.message);
      await client.close();
      console.log(JSON.stringify({ absent, created: report.created.length, ok: status.ok, refused, schema: typeof asyncmqJobs }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: bare, encoding: 'utf8', timeout: HANG_MS });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.deepEqual({ ...out, refused: undefined }, { absent: true, created: 6, ok: true, refused: undefined, schema: 'object' });
    assert.match(out.refused, /^ASYNCMQ_USAGE: a database URL needs postgres\.js, which is not installed: `npm install postgres`/);

    const cli = spawnSync(process.execPath, [join(target, 'dist/bin.js'), 'install'], {
      cwd: bare,
      encoding: 'utf8',
      timeout: HANG_MS,
      env: { ...process.env, ASYNCMQ_POSTGRES_BACKEND_URL: 'postgres://app@127.0.0.1:1/app' },
    });
    assert.equal(cli.status, 2, cli.stderr);
    assert.match(cli.stderr, /`npm install postgres`.*\[ASYNCMQ_USAGE\]\n$/);
  } finally {
    await rm(bare, { recursive: true, force: true });
  }
});
