/**
 * The static `./schema` entry, the tables handed to the runtime as `schema`, and the check-only
 * mode (`verifyOnly`) that an app whose migrations own the tables runs at startup.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getTableConfig, isPgSchema } from 'drizzle-orm/pg-core';
import { AsyncmqPostgresError, createAsyncmqSchema, inspectPostgresBackend, installOrDropPostgresBackend, renderPostgresBackendSql } from '../src/index.js';
import { asyncmq01, asyncmq09, asyncmqJobs } from '../src/schema.js';
import { createDatabase } from './support/db.js';
import { snapshot } from './support/snapshot.js';
import { HANG_MS } from './support/patience.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const refused = (code: string, pattern: RegExp, setting?: string) => (error: unknown) => {
  assert.ok(error instanceof AsyncmqPostgresError, `expected AsyncmqPostgresError, got ${String(error)}`);
  assert.equal(error.code, code);
  assert.match(error.message, pattern);
  if (setting) assert.equal(error.setting, setting);
  return true;
};

test('the schema entry reads no environment and runs without process or Buffer', () => {
  // A child with a hostile environment and the Node globals removed before the entry loads.
  const script = `
    delete globalThis.process; delete globalThis.Buffer;
    const s = await import(${JSON.stringify(`${root}src/schema.ts`)});
    const { getTableConfig } = await import('drizzle-orm/pg-core');
    const custom = s.createAsyncmqSchema({ postgresJobsTableName: 'app_jobs', postgresSchema: 'queue', postgresIndexes: 'queue', postgresSchemaVersion: '0.9.1' });
    let refused = '';
    try { s.createAsyncmqSchema({ postgresJobsTableName: 'j'.repeat(64) }); } catch (error) { refused = error.code + ' ' + error.message; }
    console.log(JSON.stringify({
      jobs: getTableConfig(s.asyncmqJobs).name,
      schema: getTableConfig(s.asyncmqJobs).schema ?? null,
      latest: Object.keys(s.asyncmq09),
      custom: [getTableConfig(custom.jobs).schema, getTableConfig(custom.jobs).name, getTableConfig(custom.jobs).indexes.length, Object.keys(custom)],
      refused,
    }));`;
  const env = {
    PATH: process.env.PATH,
    ASYNCMQ_POSTGRES_JOBS_TABLE_NAME: 'Not A Name',
    ASYNCMQ_POSTGRES_SCHEMA: 'elsewhere',
    ASYNCMQ_POSTGRES_INDEXES: 'queue',
    ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.9',
  };
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env, encoding: 'utf8', timeout: HANG_MS });
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout);
  assert.equal(out.jobs, 'asyncmq_jobs');
  assert.equal(out.schema, null);
  assert.deepEqual(out.latest, ['jobs', 'repeatables', 'cancelledJobs', 'workersHeartbeat', 'pausedQueues']);
  assert.deepEqual(out.custom, ['queue', 'app_jobs', 4, ['jobs', 'repeatables', 'cancelledJobs', 'workersHeartbeat', 'pausedQueues', 'pgSchema']]);
  assert.match(out.refused, /^ASYNCMQ_INVALID_NAME .*64 bytes/);
});

test('the factory returns the namespace as pgSchema, beside the tables; the runtime iterates only the tables', () => {
  const inQueue = createAsyncmqSchema({ postgresSchema: 'queue' });
  assert.ok(isPgSchema(inQueue.pgSchema));
  assert.equal(inQueue.pgSchema.schemaName, 'queue');
  assert.equal(getTableConfig(inQueue.jobs).schema, 'queue');
  assert.equal('pgSchema' in createAsyncmqSchema(), false);
  assert.equal('pgSchema' in createAsyncmqSchema({ postgresSchema: 'public' }), false);
  const sql = renderPostgresBackendSql({ schema: inQueue, env: {} });
  assert.equal(sql[0], 'CREATE SCHEMA "queue"');
  assert.equal(sql.filter((s) => s.startsWith('CREATE TABLE')).length, 3);
});

test('schema: the names, namespace, version and profile come from the tables themselves', () => {
  const tables = createAsyncmqSchema({ postgresJobsTableName: 'app_jobs', postgresSchema: 'queue', postgresIndexes: 'queue', postgresSchemaVersion: '0.8' });
  const fromTables = renderPostgresBackendSql({ schema: tables, env: {} });
  const fromSettings = renderPostgresBackendSql({
    settings: { postgresJobsTableName: 'app_jobs', postgresSchema: 'queue', postgresIndexes: 'queue', postgresSchemaVersion: '0.8' },
    env: {},
  });
  assert.deepEqual(fromTables, fromSettings);
  // A set the app spread or rebuilt from the entry's exports is the same tables.
  const { pgSchema: _namespace, ...spread } = tables;
  assert.deepEqual(renderPostgresBackendSql({ schema: { ...spread }, env: {} }), fromTables);
  assert.deepEqual(
    renderPostgresBackendSql({ schema: { jobs: asyncmqJobs, repeatables: asyncmq01.repeatables, cancelledJobs: asyncmq01.cancelledJobs }, env: {} }),
    renderPostgresBackendSql({ env: {} }),
  );
  assert.match(renderPostgresBackendSql({ schema: asyncmq09, env: {} }).join('\n'), /asyncmq_paused_queues/);
});

test('schema: a setting or variable that names other tables is refused, naming both', () => {
  const tables = createAsyncmqSchema({ postgresSchema: 'queue', postgresSchemaVersion: '0.9' });
  assert.throws(
    () => renderPostgresBackendSql({ schema: tables, env: { ASYNCMQ_POSTGRES_JOBS_TABLE_NAME: 'other_jobs' } }),
    refused('ASYNCMQ_INVALID_SETTING', /^ASYNCMQ_POSTGRES_JOBS_TABLE_NAME is "other_jobs", but the tables passed as schema have "asyncmq_jobs"/, 'postgresJobsTableName'),
  );
  assert.throws(
    () => renderPostgresBackendSql({ schema: tables, settings: { postgresSchema: 'public' }, env: {} }),
    refused('ASYNCMQ_INVALID_SETTING', /^settings\.postgresSchema is "public", but the tables passed as schema have "queue"/, 'postgresSchema'),
  );
  assert.throws(
    () => renderPostgresBackendSql({ schema: tables, env: { ASYNCMQ_POSTGRES_INDEXES: 'queue' } }),
    refused('ASYNCMQ_INVALID_SETTING', /ASYNCMQ_POSTGRES_INDEXES is "queue", but .* have "seed"/, 'postgresIndexes'),
  );
  assert.throws(
    () => renderPostgresBackendSql({ schema: tables, env: { ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.8' } }),
    refused('ASYNCMQ_INVALID_SETTING', /ASYNCMQ_POSTGRES_SCHEMA_VERSION is "0.8", but .* have "0.9"/, 'postgresSchemaVersion'),
  );
  // Settings that agree, in another spelling, are fine.
  assert.doesNotThrow(() =>
    renderPostgresBackendSql({ schema: tables, env: { ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.9.1', ASYNCMQ_POSTGRES_SCHEMA: 'queue' } }),
  );
});

test('schema: tables the factory would not make, or no tables at all, are refused', () => {
  const { jobs, repeatables } = createAsyncmqSchema();
  const { cancelledJobs: otherCancelled } = createAsyncmqSchema({ postgresSchema: 'elsewhere' });
  assert.throws(
    () => renderPostgresBackendSql({ schema: { jobs, repeatables, cancelledJobs: otherCancelled }, env: {} }),
    refused('ASYNCMQ_INVALID_SETTING', /would not make/, 'schema'),
  );
  assert.throws(
    () => renderPostgresBackendSql({ schema: { asyncmqJobs: jobs } as never, env: {} }),
    refused('ASYNCMQ_INVALID_SETTING', /jobs, repeatables and cancelledJobs/, 'schema'),
  );
});

test('verifyOnly: fails with a coded error listing what is missing, creates nothing, then passes once the tables are there', async () => {
  const db = await createDatabase();
  const schema = createAsyncmqSchema({ postgresSchema: 'queue', postgresIndexes: 'queue' });
  const before = await snapshot(db.sql, 'queue');
  await assert.rejects(
    installOrDropPostgresBackend({ connectionString: db.url, env: {}, schema, verifyOnly: true }),
    refused('ASYNCMQ_SCHEMA_INCOMPLETE', /schema queue, table queue\.asyncmq_jobs, table queue\.asyncmq_repeatables, table queue\.asyncmq_cancelled_jobs\. verifyOnly creates nothing/),
  );
  assert.deepEqual(await snapshot(db.sql, 'queue'), before);
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_namespace where nspname = 'queue'`;
  assert.equal(row?.n, 0);

  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, schema });
  const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, schema, verifyOnly: true });
  assert.deepEqual(report, { action: 'verify', namespace: 'queue', schemaVersion: '0.1', schemaVersionIsDefault: false, created: [], dropped: [], pendingIndexes: [] });

  // An index the migrations lost is drift too; a difference that breaks AsyncMQ is the install's refusal.
  await db.sql.unsafe('drop index queue.idx_asyncmq_jobs_dequeue');
  await assert.rejects(
    installOrDropPostgresBackend({ connectionString: db.url, env: {}, schema, verifyOnly: true }),
    refused('ASYNCMQ_SCHEMA_INCOMPLETE', /index queue\.idx_asyncmq_jobs_dequeue\./),
  );
  await db.sql.unsafe('alter table queue.asyncmq_cancelled_jobs alter column job_id type integer using 0');
  await assert.rejects(
    installOrDropPostgresBackend({ connectionString: db.url, env: {}, schema, verifyOnly: true }),
    refused('ASYNCMQ_SCHEMA_MISMATCH', /asyncmq_cancelled_jobs: column job_id different/),
  );
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {}, schema });
  assert.equal(status.namespace, 'queue');
  assert.equal(status.indexes, 'queue');
  assert.equal(status.ok, false);
});

test('verifyOnly goes with nothing that changes the database', async () => {
  for (const other of [{ drop: true }, { upgrade: true }, { concurrentIndexes: true }]) {
    await assert.rejects(
      // The type refuses the mix (options.typecheck.ts); JavaScript callers meet the run-time check.
      installOrDropPostgresBackend({ connectionString: 'postgres://127.0.0.1:1/none', env: {}, verifyOnly: true, ...other } as never),
      refused('ASYNCMQ_INVALID_SETTING', /verifyOnly changes nothing/, 'verifyOnly'),
    );
  }
});
