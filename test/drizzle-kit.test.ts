/**
 * The drizzle-kit paths, run for real: push against a database AsyncMQ installed, the push
 * guard, push into a namespace of its own, the committed migrations through drizzle-orm's
 * migrator, and generate following the ASYNCMQ_* names.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { installOrDropPostgresBackend } from '../src/index.js';
import { SCHEMA_VERSIONS } from '../src/config/versions.js';
import { createDatabase } from './support/db.js';
import { seedInstallSql } from './support/seed.js';
import { snapshot } from './support/snapshot.js';
import { testTmp } from './support/tmp.js';
import { HANG_MS } from './support/patience.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const drizzleOrmVersion: string = JSON.parse(readFileSync(join(root, 'node_modules/drizzle-orm/package.json'), 'utf8')).version;

/** Runs drizzle-kit with no terminal and no input (it would wait for an answer forever), bounded in time. */
function drizzleKit(args: string[], env: Record<string, string>, cwd = root): Promise<{ code: number | null; output: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ASYNCMQ_')));
  const child = spawn(join(root, 'node_modules/.bin/drizzle-kit'), args, { cwd, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve({ code, output }))));
}

const APP_OBJECTS = `
  create table app_notes (body text);
  create table app_items (id serial primary key, name text);
  create sequence app_counter;
  create type app_mood as enum ('calm', 'busy');
  insert into app_notes values ('keep me');`;

test('push against a database made by the seed SQL: no changes, an unrelated table survives', async () => {
  const db = await createDatabase();
  await db.sql.unsafe(seedInstallSql());
  await db.sql.unsafe(`create table app_notes (body text); insert into app_notes values ('keep me')`);
  const before = await snapshot(db.sql);
  const { code, output } = await drizzleKit(['push'], { ASYNCMQ_POSTGRES_BACKEND_URL: db.url });
  assert.equal(code, 0, output);
  assert.match(output, /No changes detected/);
  assert.deepEqual(await snapshot(db.sql), before);
  assert.deepEqual([...(await db.sql`select body from app_notes`)], [{ body: 'keep me' }]);
});

test("push refuses a namespace holding sequences or enums that are not the package's, changing nothing", async () => {
  const db = await createDatabase();
  await db.sql.unsafe(seedInstallSql() + APP_OBJECTS);
  const before = await snapshot(db.sql);
  const { code, output } = await drizzleKit(['push'], { ASYNCMQ_POSTGRES_BACKEND_URL: db.url });
  assert.equal(code, 1, output);
  assert.match(output, /Refusing drizzle-kit push: namespace public holds objects/);
  assert.match(output, /enum type public\.app_mood/);
  assert.match(output, /sequence public\.app_counter/);
  assert.match(output, /sequence public\.app_items_id_seq/);
  assert.doesNotMatch(output, /asyncmq_jobs_id_seq/);
  assert.deepEqual(await snapshot(db.sql), before);
  const { enums } = (await db.sql`select count(*)::int as enums from pg_type where typname = 'app_mood'`)[0]!;
  assert.equal(enums, 1);
});

test('push into a namespace of its own: beside the app, the same catalog as install, then no changes', async () => {
  const db = await createDatabase();
  await db.sql.unsafe(APP_OBJECTS);
  const appBefore = await snapshot(db.sql, 'public');
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url, ASYNCMQ_POSTGRES_SCHEMA: 'asyncmq' };
  const first = await drizzleKit(['push'], env);
  assert.equal(first.code, 0, first.output);
  const second = await drizzleKit(['push'], env);
  assert.match(second.output, /No changes detected/);
  assert.deepEqual(await snapshot(db.sql, 'public'), appBefore);

  const reference = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: reference.url, env: {}, settings: { postgresSchema: 'asyncmq' } });
  assert.deepEqual(await snapshot(db.sql, 'asyncmq'), await snapshot(reference.sql, 'asyncmq'));
});

// drizzle-orm 1.0's migrator reads drizzle-1.0/ (drizzle-kit 1.0's folder format) and refuses drizzle/.
const artifacts = drizzleOrmVersion.startsWith('0.') ? 'drizzle' : 'drizzle-1.0';

test(`the committed ${artifacts}/<version> migrations through drizzle-orm ${drizzleOrmVersion}'s migrator give the installer's catalog; the paths do not mix`, async () => {
  for (const version of SCHEMA_VERSIONS) {
    const migrated = await createDatabase();
    const client = postgres(migrated.url, { max: 1, onnotice: () => {} });
    try {
      await migrate(drizzle({ client }), { migrationsFolder: join(root, artifacts, version), migrationsTable: '__asyncmq_postgres_migrations', migrationsSchema: 'drizzle' });
    } finally {
      await client.end();
    }
    const installed = await createDatabase();
    await installOrDropPostgresBackend({ connectionString: installed.url, env: {}, settings: { postgresSchemaVersion: version } });
    assert.deepEqual(await snapshot(migrated.sql), await snapshot(installed.sql), version);
  }

  const migrationsFolder = join(root, artifacts, '0.1');
  const installed = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: installed.url, env: {} });
  // drizzle-kit's SQL is plain CREATE TABLE: migrating a database the startup call installed fails.
  const mixed = postgres(installed.url, { max: 1, onnotice: () => {} });
  try {
    await assert.rejects(
      migrate(drizzle({ client: mixed }), { migrationsFolder, migrationsTable: '__asyncmq_postgres_migrations', migrationsSchema: 'drizzle' }),
      (error: Error) => {
        assert.match(String((error.cause as Error)?.message), /relation "asyncmq_cancelled_jobs" already exists/);
        return true;
      },
    );
  } finally {
    await mixed.end();
  }
});

test(`generate follows the ASYNCMQ_* names and index profile; with none it reproduces the committed ${artifacts}/`, async () => {
  // drizzle-kit 1.0 writes its own folder format, through its own config.
  const config = artifacts === 'drizzle' ? [] : ['--config', 'drizzle-1.config.ts'];
  const copy = await testTmp('asyncmq-kit-');
  try {
    for (const entry of ['drizzle.config.ts', 'drizzle-1.config.ts', 'src', 'scripts', artifacts, 'package.json', 'tsconfig.json']) {
      await cp(join(root, entry), join(copy, entry), { recursive: true });
    }
    await symlink(join(root, 'node_modules'), join(copy, 'node_modules'));
    const same = await drizzleKit(['generate', ...config], {}, copy);
    assert.match(same.output, /No schema changes/, same.output);

    // From empty: against the committed snapshot, a new name is a rename, and drizzle-kit asks.
    await rm(join(copy, artifacts), { recursive: true });
    const custom = await drizzleKit(['generate', ...config, '--name', 'custom'], { ASYNCMQ_POSTGRES_JOBS_TABLE_NAME: 'my_jobs', ASYNCMQ_POSTGRES_SCHEMA: 'queue', ASYNCMQ_POSTGRES_INDEXES: 'queue' }, copy);
    assert.equal(custom.code, 0, custom.output);
    // 0.x: NNNN_custom.sql; 1.0: <stamp>_custom/migration.sql.
    const file = (await readdir(join(copy, artifacts, '0.1'), { recursive: true })).find((f) => /_custom(\.sql|\/migration\.sql)$/.test(f));
    assert.ok(file, custom.output);
    const text = await readFile(join(copy, artifacts, '0.1', file), 'utf8');
    assert.match(text, /CREATE SCHEMA "queue";/);
    assert.match(text, /CREATE TABLE "queue"\."my_jobs"/);
    // 0.x: a table constraint; 1.0: the column's.
    assert.match(text, /CONSTRAINT "my_jobs_job_id_key" UNIQUE(\("job_id"\)|,)/);
    assert.match(text, /CREATE INDEX "idx_my_jobs_delay_until" ON "queue"\."my_jobs"/);
    assert.match(text, /CREATE INDEX "idx_my_jobs_dequeue" ON "queue"\."my_jobs" (USING btree )?\("queue_name","status","created_at"\)/);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
});
