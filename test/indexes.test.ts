/**
 * The `queue` index profile: the default stays the seed's schema exactly; `queue` adds the
 * dequeue index, which install creates with a new table, reports for an existing one, and
 * builds concurrently on request, once, however many starters ask at the same time; and the
 * build session's settings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withPool } from '../src/connection/call.js';
import { readJson, type Queryable } from '../src/connection/drivers/index.js';
import { installOrDropPostgresBackend, inspectPostgresBackend, renderPostgresBackendSql } from '../src/index.js';
import { withBuildSession } from '../src/operations/index-builds.js';
import { resolveBackendConnection } from '../src/operations/options.js';
import { resolveBackend } from '../src/schema/backend.js';
import { createDatabase } from './support/db.js';
import { seedInstallSql } from './support/seed.js';
import { snapshot } from './support/snapshot.js';

const queue = { postgresIndexes: 'queue' } as const;
const DEQUEUE = 'CREATE INDEX idx_asyncmq_jobs_dequeue ON public.asyncmq_jobs USING btree (queue_name, status, created_at)';

test('the queue profile on a fresh database: the seed schema plus the dequeue index', async () => {
  const db = await createDatabase();
  const reference = await createDatabase();
  await reference.sql.unsafe(seedInstallSql());
  const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: queue });
  assert.ok(report.created.includes('index public.idx_asyncmq_jobs_dequeue'));
  const ours = await snapshot(db.sql);
  const seed = await snapshot(reference.sql);
  assert.deepEqual(ours.tables.asyncmq_jobs!.indexes.filter((i) => i !== DEQUEUE), seed.tables.asyncmq_jobs!.indexes);
  assert.ok(ours.tables.asyncmq_jobs!.indexes.includes(DEQUEUE));
  assert.deepEqual({ ...ours, tables: { ...ours.tables, asyncmq_jobs: seed.tables.asyncmq_jobs } }, seed);
  assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: queue })).ok, true);
  // The seed profile does not mind the extra index.
  assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {} })).ok, true);
});

test('sql prints both profiles; the environment selects it', () => {
  const seed = renderPostgresBackendSql({ env: {} });
  const withQueue = renderPostgresBackendSql({ env: { ASYNCMQ_POSTGRES_INDEXES: 'queue' } });
  assert.deepEqual(withQueue.filter((s) => !seed.includes(s)), [
    'CREATE INDEX "idx_asyncmq_jobs_dequeue" ON "asyncmq_jobs" USING btree ("queue_name", "status", "created_at")',
  ]);
});

test('switching an installed queue with rows to the queue profile: reported, then built concurrently by one of many starters', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data, status)
    select 'q' || (g % 4), 'j' || g, '{}', case when g % 2 = 0 then 'completed' else 'waiting' end from generate_series(1, 50000) g`;

  const startup = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: queue });
  assert.deepEqual(startup.created, []);
  assert.deepEqual(startup.pendingIndexes.map((p) => p.name), ['idx_asyncmq_jobs_dequeue']);
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: queue });
  assert.equal(status.ok, false);

  // Two concurrent builds on one table deadlock in Postgres; one session builds, the others
  // leave it to that one (or find it built), and none fails.
  const starters = await Promise.all(
    Array.from({ length: 6 }, () => installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: queue, concurrentIndexes: true, pool: { max: 1 } })),
  );
  assert.ok(starters.some((r) => r.created.includes('index public.idx_asyncmq_jobs_dequeue')), 'one of them built it');
  for (const report of starters) {
    assert.ok(report.created.length + report.pendingIndexes.length <= 1, JSON.stringify(report));
    for (const pending of report.pendingIndexes) assert.equal(pending.reason, 'building-elsewhere');
  }
  const indexes = (await snapshot(db.sql)).tables.asyncmq_jobs!.indexes;
  assert.equal(indexes.filter((i) => i.includes('(queue_name, status, created_at)')).length, 1);
  assert.ok(indexes.includes(DEQUEUE), 'valid, not INVALID');
  assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: queue })).ok, true);
});

test('the dequeue uses the profile index: EXPLAIN shows an index scan where the seed sorts', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data, status, created_at)
    select 'q' || (g % 4), 'j' || g, '{}', case when g % 2 = 0 then 'completed' else 'waiting' end, now() - make_interval(secs => g)
    from generate_series(1, 20000) g`;
  await db.sql`analyze asyncmq_jobs`;
  const dequeue = `explain select id from asyncmq_jobs where queue_name = 'q1' and status = 'waiting'
    order by created_at limit 1 for update skip locked`;
  const plan = async () => (await db.sql.unsafe(dequeue)).map((r) => r['QUERY PLAN']).join('\n');
  assert.match(await plan(), /Sort/);
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: queue, concurrentIndexes: true });
  await db.sql`analyze asyncmq_jobs`;
  const after = await plan();
  assert.match(after, /Index Scan using idx_asyncmq_jobs_dequeue/);
  assert.doesNotMatch(after, /Sort/);
});

test('the build session builds without parallel workers, which would take cores from the writers, and restores the setting it found', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql.unsafe(`alter database ${db.name} set max_parallel_maintenance_workers = 3`);
  const backend = resolveBackend({ env: {} });
  const connection = await resolveBackendConnection({ connectionString: db.url, env: {} }, backend.settings);
  const show = (sql: Queryable) => readJson<string>(sql, "select to_json(current_setting('max_parallel_maintenance_workers'))::text");
  const seen = await withPool({ kind: 'url', connection }, backend, async (sql, run) => {
    const before = await show(sql);
    const inside = await withBuildSession(sql, run, 'public', show);
    return { before, inside, after: await show(sql) };
  });
  assert.deepEqual(seen, { before: '3', inside: { locked: true, value: '0' }, after: '3' });
});
