/**
 * The contract: with default names, install gives exactly the catalog of AsyncMQ's own SQL,
 * and it keeps data, and drop touches nothing else.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { installOrDropPostgresBackend } from '../src/index.js';
import { createDatabase } from './support/db.js';
import { asyncmqInstallSql, seedInstallSql } from './support/seed.js';
import { SCHEMA_VERSIONS } from '../src/config/versions.js';
import { snapshot } from './support/snapshot.js';

test('install is catalog-identical to the seed SQL run verbatim', async () => {
  const seed = await createDatabase();
  await seed.sql.unsafe(seedInstallSql());
  const ours = await createDatabase();
  const report = await installOrDropPostgresBackend({ connectionString: ours.url });

  const expected = await snapshot(seed.sql);
  assert.deepEqual(Object.keys(expected.tables), ['asyncmq_cancelled_jobs', 'asyncmq_jobs', 'asyncmq_repeatables']);
  assert.deepEqual(expected.tables.asyncmq_jobs!.constraints, ['asyncmq_jobs_job_id_key UNIQUE (job_id)', 'asyncmq_jobs_pkey PRIMARY KEY (id)']);
  assert.deepEqual(await snapshot(ours.sql), expected);
  assert.deepEqual(report.created, [
    'table public.asyncmq_jobs',
    'index public.idx_asyncmq_jobs_queue_name',
    'index public.idx_asyncmq_jobs_status',
    'index public.idx_asyncmq_jobs_delay_until',
    'table public.asyncmq_repeatables',
    'table public.asyncmq_cancelled_jobs',
  ]);
});

test("the committed drizzle/<version>/ SQL is catalog-identical to AsyncMQ's own SQL of that version", async () => {
  for (const version of SCHEMA_VERSIONS) {
    const asyncmq = await createDatabase();
    await asyncmq.sql.unsafe(asyncmqInstallSql(version));
    const kit = await createDatabase();
    const dir = new URL(`../drizzle/${version}/`, import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
      for (const statement of readFileSync(new URL(file, dir), 'utf8').split('--> statement-breakpoint')) {
        await kit.sql.unsafe(statement);
      }
    }
    assert.deepEqual(await snapshot(kit.sql), await snapshot(asyncmq.sql), version);
  }
});

test('install on a seed-installed database does nothing and keeps the rows', async () => {
  const db = await createDatabase();
  await db.sql.unsafe(seedInstallSql());
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data, status) values ('q', 'j1', '{"id":"j1","task":"t"}', 'waiting')`;
  const before = await snapshot(db.sql);
  const report = await installOrDropPostgresBackend({ connectionString: db.url });
  assert.deepEqual(report, { action: 'install', namespace: 'public', schemaVersion: '0.1', schemaVersionIsDefault: true, created: [], dropped: [], pendingIndexes: [] });
  assert.deepEqual(await snapshot(db.sql), before);
  assert.deepEqual([...await db.sql`select job_id, status from asyncmq_jobs`], [{ job_id: 'j1', status: 'waiting' }]);
});

test('install twice keeps data; the second install creates nothing', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url });
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data) values ('q', 'j1', '{}')`;
  await db.sql`insert into asyncmq_repeatables (queue_name, job_def, next_run) values ('q', '{"task_id":"t"}', now())`;
  await db.sql`insert into asyncmq_cancelled_jobs (queue_name, job_id) values ('q', 'j1')`;
  const again = await installOrDropPostgresBackend({ connectionString: db.url });
  assert.deepEqual(again.created, []);
  const [counts] = await db.sql`select (select count(*) from asyncmq_jobs)::int as jobs,
    (select count(*) from asyncmq_repeatables)::int as repeatables,
    (select count(*) from asyncmq_cancelled_jobs)::int as cancelled`;
  assert.deepEqual({ ...counts }, { jobs: 1, repeatables: 1, cancelled: 1 });
});

test('drop removes the three tables, their indexes and sequence, and leaves unrelated objects', async () => {
  const db = await createDatabase();
  await db.sql.unsafe(`
    create table app_users (id serial primary key, name text);
    create index idx_app_users_name on app_users (name);
    create sequence app_counter;
    insert into app_users (name) values ('ada');`);
  const untouched = await snapshot(db.sql);
  await installOrDropPostgresBackend({ connectionString: db.url });
  const report = await installOrDropPostgresBackend({ connectionString: db.url, drop: true });
  assert.deepEqual(report.dropped, ['table public.asyncmq_jobs', 'table public.asyncmq_repeatables', 'table public.asyncmq_cancelled_jobs']);
  assert.deepEqual(await snapshot(db.sql), untouched);
  assert.deepEqual([...await db.sql`select name from app_users`], [{ name: 'ada' }]);
  const again = await installOrDropPostgresBackend({ connectionString: db.url, drop: true });
  assert.deepEqual(again.dropped, []);
});

test('drop of a database the seed installed leaves it clean', async () => {
  const db = await createDatabase();
  await db.sql.unsafe(seedInstallSql());
  await installOrDropPostgresBackend({ connectionString: db.url, drop: true });
  assert.deepEqual(await snapshot(db.sql), { tables: {}, sequences: [] });
});
