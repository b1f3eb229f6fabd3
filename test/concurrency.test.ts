/**
 * Startup on every replica, against a live queue: concurrent installers all succeed, and an
 * install with nothing to do never waits behind the queue's writers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../src/cli.js';
import { installOrDropPostgresBackend, inspectPostgresBackend } from '../src/index.js';
import { createDatabase } from './support/db.js';
import { seedInstallSql, seedInstallStatements } from './support/seed.js';
import { snapshot } from './support/snapshot.js';

test('32 installers at once on a fresh database, three rounds: none fails, one creates', async () => {
  const reference = await createDatabase();
  await reference.sql.unsafe(seedInstallSql());
  for (let round = 0; round < 3; round++) {
    const db = await createDatabase();
    const reports = await Promise.all(
      Array.from({ length: 32 }, () => installOrDropPostgresBackend({ connectionString: db.url, env: {}, pool: { max: 1 } })),
    );
    assert.equal(reports.filter((r) => r.created.length > 0).length, 1, 'exactly one installer creates');
    assert.deepEqual(await snapshot(db.sql), await snapshot(reference.sql));
  }
});

test('installs and drops at once serialize without errors', async () => {
  const db = await createDatabase();
  const runs = Array.from({ length: 16 }, (_, i) => installOrDropPostgresBackend({ connectionString: db.url, env: {}, pool: { max: 1 }, drop: i % 4 === 3 }));
  const results = await Promise.allSettled(runs);
  assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
  // Whichever ran last, the result is whole: all three tables with their indexes, or none.
  const tables = (await snapshot(db.sql)).tables;
  const names = Object.keys(tables);
  assert.ok(names.length === 0 || names.length === 3, names.join(', '));
  if (names.length === 3) assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {} })).ok, true);
});

async function withOpenWrite<T>(db: Awaited<ReturnType<typeof createDatabase>>, table: string, body: () => Promise<T>): Promise<T> {
  const writer = await db.sql.reserve();
  try {
    await writer`begin`;
    await writer.unsafe(`insert into ${table} (queue_name, job_id, data) values ('q', 'uncommitted', '{}')`);
    const result = await body();
    const { open } = (await writer`select txid_current_if_assigned() is not null as open`)[0]!;
    assert.equal(open, true, 'the writer is still in its transaction');
    await writer`commit`;
    return result;
  } finally {
    writer.release();
  }
}

test('a no-op install completes while a writer holds an uncommitted row in the jobs table', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  const events: string[] = [];
  await withOpenWrite(db, 'asyncmq_jobs', async () => {
    events.push('writer open');
    const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresLockTimeout: 0 } });
    events.push(`install done, created ${report.created.length}`);
  });
  events.push('writer committed');
  assert.deepEqual(events, ['writer open', 'install done, created 0', 'writer committed']);
  assert.equal((await db.sql`select count(*)::int as n from asyncmq_jobs`)[0]!.n, 1);
});

test("a no-op install takes no lock on the tables at all, unlike the seed's statements", async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  const holder = await db.sql.reserve();
  try {
    await holder`begin`;
    await holder`lock table asyncmq_jobs, asyncmq_repeatables, asyncmq_cancelled_jobs in access exclusive mode`;
    const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresLockTimeout: 0 } });
    assert.deepEqual(report.created, []);
    assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {} })).ok, true);
    // The seed's approach, through the same driver, waits for the same lock.
    const seed = await db.sql.reserve();
    try {
      await seed`begin`;
      await seed`set local lock_timeout = '200ms'`;
      const statements = seedInstallStatements();
      const error = await (async () => {
        for (const statement of statements) await seed.unsafe(statement);
      })().catch((e: { code?: string }) => e);
      assert.equal((error as { code?: string })?.code, '55P03', 'the seed statements are blocked by the lock');
      await seed`rollback`;
    } finally {
      seed.release();
    }
    await holder`rollback`;
  } finally {
    holder.release();
  }
});

test('a missing table is created beside a busy jobs table without waiting for it', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql`drop table asyncmq_cancelled_jobs`;
  const report = await withOpenWrite(db, 'asyncmq_jobs', () =>
    installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresLockTimeout: 2000 } }),
  );
  assert.deepEqual(report.created, ['table public.asyncmq_cancelled_jobs']);
});

test('an index missing from a table in use is reported, not built under a lock; --concurrently builds it', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data, status) select 'q', 'j' || g, '{}', 'waiting' from generate_series(1, 1000) g`;
  await db.sql`drop index idx_asyncmq_jobs_status`;

  const report = await withOpenWrite(db, 'asyncmq_jobs', () =>
    installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresLockTimeout: 200 } }),
  );
  assert.deepEqual(report.created, []);
  assert.deepEqual(report.pendingIndexes, [
    {
      table: 'asyncmq_jobs',
      name: 'idx_asyncmq_jobs_status',
      sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_asyncmq_jobs_status" ON "public"."asyncmq_jobs" USING btree ("status")'],
      reason: 'not-requested',
    },
  ]);
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {} });
  assert.equal(status.ok, false);
  assert.equal(status.tables[0]!.items.find((i) => i.name === 'idx_asyncmq_jobs_status')!.status, 'missing');

  const built = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, concurrentIndexes: true });
  assert.deepEqual(built.created, ['index public.idx_asyncmq_jobs_status']);
  assert.deepEqual(built.pendingIndexes, []);
  assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {} })).ok, true);
});

test('the INVALID leftover of an interrupted build is dropped and built again', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  // What an interrupted CREATE INDEX CONCURRENTLY leaves behind.
  await db.sql`update pg_index set indisvalid = false where indexrelid = 'idx_asyncmq_jobs_delay_until'::regclass`;
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {} });
  const item = status.tables[0]!.items.find((i) => i.name === 'idx_asyncmq_jobs_delay_until')!;
  assert.equal(item.status, 'invalid');
  assert.deepEqual(status.tables[0]!.fixes, [
    'DROP INDEX CONCURRENTLY IF EXISTS "public"."idx_asyncmq_jobs_delay_until"',
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_asyncmq_jobs_delay_until" ON "public"."asyncmq_jobs" USING btree ("delay_until")',
  ]);
  const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, concurrentIndexes: true });
  assert.deepEqual(report.created, ['index public.idx_asyncmq_jobs_delay_until']);
  const { valid } = (await db.sql`select indisvalid as valid from pg_index where indexrelid = 'idx_asyncmq_jobs_delay_until'::regclass`)[0]!;
  assert.equal(valid, true);
});

test('an INVALID index is left alone while another session holds the table for an index build or vacuum', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql`update pg_index set indisvalid = false where indexrelid = 'idx_asyncmq_jobs_status'::regclass`;
  const holder = await db.sql.reserve();
  try {
    await holder`begin`;
    await holder`lock table asyncmq_jobs in share update exclusive mode`;
    const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, concurrentIndexes: true });
    assert.deepEqual(report.created, []);
    assert.deepEqual(report.pendingIndexes.map((p) => [p.name, p.reason]), [['idx_asyncmq_jobs_status', 'table-busy']]);
    let stdout = '';
    const code = await main(['install'], { stdout: (t) => void (stdout += t), stderr: () => {}, env: { ASYNCMQ_POSTGRES_BACKEND_URL: db.url } });
    assert.equal(code, 1, 'the schema is not complete');
    assert.match(stdout, /Not rebuilt: idx_asyncmq_jobs_status\. An INVALID leftover is in the way.*\n {2}DROP INDEX CONCURRENTLY IF EXISTS "public"\."idx_asyncmq_jobs_status";/s);
    const { valid } = (await db.sql`select indisvalid as valid from pg_index where indexrelid = 'idx_asyncmq_jobs_status'::regclass`)[0]!;
    assert.equal(valid, false, 'still there, untouched');
    await holder`commit`;
  } finally {
    holder.release();
  }
  const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, concurrentIndexes: true });
  assert.deepEqual(report.created, ['index public.idx_asyncmq_jobs_status']);
  assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {} })).ok, true);
});
