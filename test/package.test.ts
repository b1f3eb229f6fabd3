/**
 * The package as npm would ship it: packed, unpacked into the two example apps' node_modules
 * (examples/drizzle-kit-owns, examples/installer-owns), and used there with the real drizzle-kit
 * commands against a real Postgres. The apps type-check, typed joins included, under strict
 * TypeScript 5 and 7 against the packed types.
 *
 * ASYNCMQ_TEST_DRIZZLE_MODULES names a node_modules holding another drizzle-orm and drizzle-kit
 * (the 1.0 lane of .ci/run); by default the apps use this checkout's.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { installOrDropPostgresBackend } from '../src/index.js';
import { createAsyncmqSchema } from '../src/tables.js';
import { createDatabase, type TestDatabase } from './support/db.js';
import { snapshot } from './support/snapshot.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const drizzleModules = process.env.ASYNCMQ_TEST_DRIZZLE_MODULES ?? join(root, 'node_modules');
const kitVersion = JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("./drizzle-kit/package.json").version)'], { cwd: drizzleModules, encoding: 'utf8' }));
let work: string;
let files: string[];
const apps: Record<'kitOwns' | 'installerOwns', string> = { kitOwns: '', installerOwns: '' };

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'asyncmq-apps-'));
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'pipe' });
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' }));
  files = packed[0].files.map((f: { path: string }) => f.path);
  for (const [key, dir] of [['kitOwns', 'drizzle-kit-owns'], ['installerOwns', 'installer-owns']] as const) {
    const app = join(work, dir);
    apps[key] = app;
    await cp(join(root, 'examples', dir), app, { recursive: true });
    const target = join(app, 'node_modules/asyncmq-postgres');
    await mkdir(target, { recursive: true });
    execFileSync('tar', ['-xzf', join(work, packed[0].filename), '-C', target, '--strip-components=1']);
    // The app's own dependencies: drizzle from the line under test, the rest from this checkout.
    for (const dep of ['drizzle-orm', 'drizzle-kit']) await symlink(join(drizzleModules, dep), join(app, 'node_modules', dep));
    for (const dep of ['postgres', 'tsx', '@types']) await symlink(join(root, 'node_modules', dep), join(app, 'node_modules', dep));
  }
});

after(() => rm(work, { recursive: true, force: true }));

/** drizzle-kit with no terminal and no input (it would wait for an answer forever), bounded in time. */
function kit(app: string, args: string[], url: string): Promise<{ code: number | null; output: string }> {
  const env = { ...process.env, DATABASE_URL: url };
  const child = spawn(process.execPath, [join(app, 'node_modules/drizzle-kit/bin.cjs'), ...args], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve({ code, output }))));
}

async function kitOk(app: string, args: string[], url: string): Promise<string> {
  const { code, output } = await kit(app, args, url);
  assert.equal(code, 0, `drizzle-kit ${args.join(' ')}:\n${output}`);
  return output;
}

/** Runs one of the app's exported functions in a process of its own, the way the app runs. */
function runApp(app: string, fn: 'startup' | 'enqueueAndFetch', url: string): { ok: boolean; value: unknown; error: { code?: string; message: string } | undefined } {
  const script = `import(${JSON.stringify(join(app, 'app.ts'))}).then((m) => m.${fn}(${JSON.stringify(url)}))
    .then((value) => console.log(JSON.stringify({ ok: true, value: value ?? null })),
          (e) => console.log(JSON.stringify({ ok: false, error: { code: e.code, message: e.message } })))`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: app, encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!);
}

/** Every SQL file drizzle-kit wrote (0.x: drizzle/NNNN_x.sql; 1.0: drizzle/<stamp>_x/migration.sql). */
async function migrationSql(app: string): Promise<string[]> {
  const entries = await readdir(join(app, 'drizzle'), { recursive: true }).catch(() => [] as string[]);
  const sqlFiles = entries.filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(sqlFiles.map((f) => readFile(join(app, 'drizzle', f), 'utf8')));
}

async function catalog(db: TestDatabase) {
  const [jobs] = await db.sql<{ n: number }[]>`select count(*)::int as n from asyncmq.asyncmq_jobs`.catch(() => [{ n: -1 }]);
  return { public: await snapshot(db.sql, 'public'), asyncmq: await snapshot(db.sql, 'asyncmq'), jobs: jobs!.n };
}

test('the tarball holds the built code, drizzle/, the license and the bin, and no sources or tests', () => {
  for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/schema.js', 'dist/schema.d.ts', 'dist/bin.js', 'drizzle/0.1/0000_init.sql', 'drizzle/0.9/0000_init.sql', 'drizzle/0.9/meta/_journal.json', 'LICENSE', 'package.json']) {
    assert.ok(files.includes(file), `${file} is packed`);
  }
  assert.deepEqual(files.filter((f) => /^(src|test|bench|scripts|examples)\//.test(f)), []);
});

// Consumers are mostly on TypeScript 5.x; 7 is the newest major. The packed types must serve both,
// typed joins between the package's tables and the app's included (types-check.ts).
for (const [pkg, major] of [['typescript', '5'], ['typescript7', '7']] as const) {
  test(`both example apps type-check under strict TypeScript ${major} against the packed types`, () => {
    const tsc = join(root, 'node_modules', pkg, 'bin/tsc');
    assert.match(execFileSync(process.execPath, [tsc, '--version'], { encoding: 'utf8' }), new RegExp(`Version ${major}\\.`));
    for (const app of Object.values(apps)) {
      const result = spawnSync(process.execPath, [tsc, '-p', app], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stdout + result.stderr);
    }
  });
}

test('the schema entry loads under require() and imports neither postgres.js nor drizzle-kit', async () => {
  const loaded = spawnSync(process.execPath, ['-e', "const s = require('asyncmq-postgres/schema'); console.log(Object.keys(s).sort().join(','))"], { cwd: apps.kitOwns, encoding: 'utf8' });
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.match(loaded.stdout, /asyncmq01,asyncmq02,asyncmq08,asyncmq09,asyncmqCancelledJobs,asyncmqJobs,asyncmqRepeatables,createAsyncmqSchema/);

  // Walk the entry's import graph inside the package: only drizzle-orm leaves it.
  const dist = join(apps.kitOwns, 'node_modules/asyncmq-postgres/dist');
  const seen = new Set<string>();
  const outside = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = await readFile(join(dist, file), 'utf8');
    for (const [, spec] of code.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
      if (spec!.startsWith('./')) await visit(spec!.slice(2));
      else outside.add(spec!.split('/')[0]!);
    }
  };
  await visit('schema.js');
  assert.ok(seen.size >= 4, `followed ${[...seen].join(', ')}`);
  assert.deepEqual([...outside], ['drizzle-orm']);
});

test(`drizzle-kit ${kitVersion} owns the tables: generate and migrate make them, the startup check passes, a second run changes nothing`, async () => {
  const app = apps.kitOwns;
  const db = await createDatabase();
  const empty = await catalog(db);
  // Before the migrations: the check fails with its code, and creates nothing.
  const early = runApp(app, 'startup', db.url);
  assert.equal(early.ok, false);
  assert.equal(early.error?.code, 'ASYNCMQ_SCHEMA_INCOMPLETE', early.error?.message);
  assert.deepEqual(await catalog(db), empty);

  await kitOk(app, ['generate'], db.url);
  const generated = (await migrationSql(app)).join('\n');
  assert.match(generated, /CREATE SCHEMA "asyncmq"/);
  assert.match(generated, /CREATE TABLE "asyncmq"\."asyncmq_jobs"/);
  assert.match(generated, /CREATE TABLE "asyncmq"\."asyncmq_paused_queues"/);
  assert.match(generated, /CREATE TABLE "users"/);
  await kitOk(app, ['migrate'], db.url);

  assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
  const fetched = runApp(app, 'enqueueAndFetch', db.url);
  assert.equal(fetched.ok, true, JSON.stringify(fetched.error));
  assert.deepEqual({ ...(fetched.value as object), createdAt: undefined }, { email: 'ada@example.com', jobId: 'welcome-1', task: 'emails.welcome', createdAt: undefined, cancelled: false });

  // What the migrations made is what the installer makes for the same tables.
  const reference = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: reference.url, env: {}, schema: createAsyncmqSchema({ postgresSchema: 'asyncmq', postgresSchemaVersion: '0.9', postgresIndexes: 'queue' }) });
  assert.deepEqual((await catalog(db)).asyncmq, (await catalog(reference)).asyncmq);

  const settled = await catalog(db);
  const migrations = (await migrationSql(app)).length;
  await kitOk(app, ['generate'], db.url);
  assert.equal((await migrationSql(app)).length, migrations, 'a second generate writes no migration');
  await kitOk(app, ['migrate'], db.url);
  assert.deepEqual(await catalog(db), settled);
});

test(`drizzle-kit ${kitVersion} owns the tables: push makes them, the startup check passes, a second push changes nothing`, async () => {
  const app = apps.kitOwns;
  const db = await createDatabase();
  await kitOk(app, ['push'], db.url);
  assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
  assert.equal(runApp(app, 'enqueueAndFetch', db.url).ok, true);
  const settled = await catalog(db);
  assert.equal(settled.jobs, 1);
  await kitOk(app, ['push'], db.url);
  assert.deepEqual(await catalog(db), settled);
});

test(`the installer owns the tables: drizzle-kit ${kitVersion} generate and migrate leave them alone, before and after, and a second run changes nothing`, async () => {
  const app = apps.installerOwns;
  const db = await createDatabase();
  assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
  await db.sql`insert into asyncmq.asyncmq_jobs (queue_name, job_id, data) values ('emails', 'kept', '{"id":"kept","task":"t"}')`;
  const installed = await catalog(db);
  assert.ok(Object.keys(installed.asyncmq.tables).includes('asyncmq_jobs'));

  await kitOk(app, ['generate'], db.url);
  const generated = (await migrationSql(app)).join('\n');
  assert.match(generated, /CREATE TABLE "users"/);
  assert.doesNotMatch(generated, /asyncmq/);
  await kitOk(app, ['migrate'], db.url);
  const migrated = await catalog(db);
  assert.deepEqual(migrated.asyncmq, installed.asyncmq);
  assert.equal(migrated.jobs, 1);
  assert.ok(Object.keys(migrated.public.tables).includes('users'));

  // The installer at the next start: nothing to do, and the app's tables untouched.
  assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
  assert.equal(runApp(app, 'enqueueAndFetch', db.url).ok, true);
  const settled = await catalog(db);
  assert.deepEqual(settled.public, migrated.public);
  const migrations = (await migrationSql(app)).length;
  await kitOk(app, ['generate'], db.url);
  assert.equal((await migrationSql(app)).length, migrations, 'a second generate writes no migration');
  await kitOk(app, ['migrate'], db.url);
  assert.deepEqual(await catalog(db), settled);
});

test(`the installer owns the tables: drizzle-kit ${kitVersion} push, before and after the installer, drops and alters nothing of theirs`, async () => {
  const app = apps.installerOwns;
  const db = await createDatabase();
  await kitOk(app, ['push'], db.url);
  const pushed = await catalog(db);
  assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
  assert.equal(runApp(app, 'enqueueAndFetch', db.url).ok, true);
  const installed = await catalog(db);
  assert.deepEqual(installed.public, { ...pushed.public, tables: installed.public.tables });
  assert.equal(installed.jobs, 1);
  // The push that matters: the installer's namespace now holds tables drizzle-kit was not told about.
  await kitOk(app, ['push'], db.url);
  assert.deepEqual(await catalog(db), installed);
  assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
  assert.deepEqual(await catalog(db), installed);
});
