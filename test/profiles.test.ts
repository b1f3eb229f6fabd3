/**
 * The `asyncmq-0.9` index profile: its indexes, what it means on older schema versions, that
 * AsyncMQ 0.9's statements use it, and that no index of any profile makes a write fail that
 * would succeed without it, checked through AsyncMQ's own statements.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getTableConfig } from 'drizzle-orm/pg-core';
import type { Sql } from 'postgres';
import { createAsyncmqSchema, inspectPostgresBackend, installOrDropPostgresBackend, renderPostgresBackendSql } from '../src/index.js';
import { asJson, asyncmq09, asyncmq09Job } from './support/asyncmq09.js';
import { createDatabase } from './support/db.js';
import { snapshot } from './support/snapshot.js';
import { asyncmqDatabase, fill } from './support/versions.js';

const v09 = { postgresSchemaVersion: '0.9', postgresIndexes: 'asyncmq-0.9' } as const;
const indexNames = (tables: object) =>
  Object.values(tables).flatMap((t) => getTableConfig(t).indexes.map((i) => i.config.name));

test('asyncmq-0.9 on schema 0.9: one index over status, queue and age, and the due repeatables index, in place of AsyncMQ\'s three', async () => {
  assert.deepEqual(indexNames(createAsyncmqSchema(v09)), ['idx_asyncmq_jobs_by_status', 'idx_asyncmq_repeatables_next_run']);
  // On an older schema it means `queue`, whose index serves those versions' dequeue.
  for (const version of ['0.1', '0.2', '0.8'] as const) {
    assert.deepEqual(
      indexNames(createAsyncmqSchema({ postgresSchemaVersion: version, postgresIndexes: 'asyncmq-0.9' })),
      indexNames(createAsyncmqSchema({ postgresSchemaVersion: version, postgresIndexes: 'queue' })),
    );
  }
  assert.deepEqual(
    renderPostgresBackendSql({ env: { ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.9', ASYNCMQ_POSTGRES_INDEXES: 'asyncmq-0.9' } }).filter((s) => s.startsWith('CREATE INDEX')),
    [
      'CREATE INDEX "idx_asyncmq_jobs_by_status" ON "asyncmq_jobs" USING btree ("status", "queue_name", "created_at")',
      'CREATE INDEX "idx_asyncmq_repeatables_next_run" ON "asyncmq_repeatables" USING btree ("queue_name", "next_run")',
    ],
  );

  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  const indexes = (await snapshot(db.sql)).tables;
  assert.deepEqual(indexes.asyncmq_jobs!.indexes, [
    'CREATE UNIQUE INDEX asyncmq_jobs_pkey ON public.asyncmq_jobs USING btree (id)',
    'CREATE UNIQUE INDEX asyncmq_jobs_queue_name_job_id_key ON public.asyncmq_jobs USING btree (queue_name, job_id)',
    'CREATE INDEX idx_asyncmq_jobs_by_status ON public.asyncmq_jobs USING btree (status, queue_name, created_at)',
  ]);
  assert.ok(indexes.asyncmq_repeatables!.indexes.includes('CREATE INDEX idx_asyncmq_repeatables_next_run ON public.asyncmq_repeatables USING btree (queue_name, next_run)'));
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  assert.equal(status.ok, true);
  assert.equal(status.indexes, 'asyncmq-0.9');
});

test("a database AsyncMQ 0.9's installer made, switched to asyncmq-0.9: the indexes are reported, then built without blocking, and AsyncMQ's own stay", async () => {
  const db = await asyncmqDatabase('0.9');
  await fill(db, '0.9');
  const startup = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  assert.deepEqual(startup.created, []);
  assert.deepEqual(startup.pendingIndexes.map((p) => [p.name, p.reason]), [
    ['idx_asyncmq_jobs_by_status', 'not-requested'],
    ['idx_asyncmq_repeatables_next_run', 'not-requested'],
  ]);
  assert.match(startup.pendingIndexes[0]!.sql.join(';'), /CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_asyncmq_jobs_by_status"/);
  const built = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09, concurrentIndexes: true });
  assert.deepEqual(built.created, ['index public.idx_asyncmq_jobs_by_status', 'index public.idx_asyncmq_repeatables_next_run']);
  assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: v09 })).ok, true);
  const jobs = (await snapshot(db.sql)).tables.asyncmq_jobs!.indexes;
  assert.ok(jobs.some((i) => i.startsWith('CREATE INDEX idx_asyncmq_jobs_status ')), 'AsyncMQ\'s own indexes are never dropped');
});

// Values AsyncMQ stores as they come (its Job does not check them), each a job AsyncMQ's own
// SQL writes without an index in the way.
const ODD_JOBS: Record<string, Record<string, unknown>> = {
  'priority "high"': { priority: 'high' },
  'priority 2.5': { priority: 2.5 },
  // Python's 5.0 reads back from jsonb as the text 5.0, which no integer cast takes.
  'priority "5.0"': { priority: '5.0' },
  'priority 1e12': { priority: 1e12 },
  'priority true': { priority: true },
  'priority {}': { priority: {} },
  'priority null': { priority: null },
  'delay_until "tomorrow"': { delay_until: 'tomorrow' },
  'delay_until 1e400 as a string': { delay_until: '1e400' },
  'depends_on a string': { depends_on: 'job-1' },
};

async function writeEveryWay(sql: Sql, label: string, record: Record<string, unknown>): Promise<void> {
  const id = `odd-${label.replace(/\W+/g, '-')}`;
  for (const status of ['waiting', 'delayed', 'active']) {
    await sql.unsafe(asyncmq09('job-upsert'), ['q', id, asJson(asyncmq09Job(id, { ...record, status })), status]);
    await sql.unsafe(asyncmq09('job-heartbeat'), ['q', id, Date.now() / 1000]);
  }
  await sql.unsafe(asyncmq09('lifecycle-upsert'), ['q', id, asJson(asyncmq09Job(id, { ...record, status: 'delayed' })), 'delayed', 1]);
  await sql.unsafe(asyncmq09('reenqueue-stalled'), ['q', id, 'waiting', asJson(asyncmq09Job(id, record)), 'delayed', null]);
}

test("no profile's index makes one of AsyncMQ 0.9's writes fail: jobs with odd priorities and delays are stored under every profile", async () => {
  for (const profile of ['seed', 'queue', 'asyncmq-0.9'] as const) {
    const db = await createDatabase();
    await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchemaVersion: '0.9', postgresIndexes: profile } });
    for (const [label, record] of Object.entries(ODD_JOBS)) await writeEveryWay(db.sql, label, record);
    const [{ n }] = (await db.sql`select count(*)::int as n from asyncmq_jobs`) as unknown as [{ n: number }];
    assert.equal(n, Object.keys(ODD_JOBS).length, profile);
    // AsyncMQ's own dequeue computes its ORDER BY for every waiting job of the queue and fails
    // on these, whatever the indexes: the profile adds no failure and takes none away.
    await assert.rejects(
      db.sql.begin((tx) => tx.unsafe(asyncmq09('dequeue-claim'), ['q', 'waiting', 'active', Date.now() / 1000])),
      // invalid input syntax for type integer, or out of its range
      (error: Error & { code?: string }) => error.code === '22P02' || error.code === '22003',
      profile,
    );
  }
});

test("the index AsyncMQ 0.9's dequeue would need rejects such a job, and a guarded one is not used: why the profile has neither", async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  await db.sql.unsafe(`
    insert into asyncmq_jobs (queue_name, job_id, data, status, created_at)
    select 'q' || (g % 4), 'j' || g, jsonb_build_object('id', 'j' || g, 'priority', 5, 'depends_on', '[]'::jsonb),
      case when g % 3 = 0 then 'waiting' else 'completed' end, now() - make_interval(secs => g)
    from generate_series(1, 20000) g`);
  await db.sql.unsafe('analyze asyncmq_jobs');
  const claim = async () => {
    const plan = await db.sql.unsafe(`explain (costs off) ${asyncmq09('dequeue-claim')}`, ['q1', 'waiting', 'active', 1]);
    return plan.map((r) => r['QUERY PLAN']).join('\n');
  };
  // AsyncMQ's own expression, indexed as it writes it: the dequeue walks the index, with no sort...
  await db.sql.unsafe(`create index exact on asyncmq_jobs (queue_name, (COALESCE((data ->> 'priority')::int, 5)), created_at) where status = 'waiting'`);
  assert.doesNotMatch(await claim(), /Sort/);
  assert.match(await claim(), /Index Scan using exact/);
  // ...but then Postgres rejects a job whose priority is not an integer.
  await assert.rejects(
    db.sql.unsafe(asyncmq09('job-upsert'), ['q1', 'high', asJson(asyncmq09Job('high', { priority: 'high' })), 'waiting']),
    (error: Error & { code?: string }) => error.code === '22P02',
  );
  // A guarded expression stores every job, and is another expression than the ORDER BY's: the dequeue sorts.
  await db.sql.unsafe(`drop index exact; create index guarded on asyncmq_jobs (queue_name,
    (COALESCE(case when data ->> 'priority' ~ '^-?\\d{1,9}$' then (data ->> 'priority')::int end, 5)), created_at) where status = 'waiting'`);
  await db.sql.unsafe(asyncmq09('job-upsert'), ['q1', 'high', asJson(asyncmq09Job('high', { priority: 'high', status: 'completed' })), 'completed']);
  assert.match(await claim(), /Sort Key: \(COALESCE\(\(\(jobs\.data ->> 'priority'::text\)\)::integer, 5\)\), jobs\.created_at/);
});

test("AsyncMQ 0.9's statements use the profile's indexes", async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  await db.sql.unsafe(`
    insert into asyncmq_jobs (queue_name, job_id, data, status, created_at)
    select 'q' || (g % 8), 'j' || g, jsonb_build_object('id', 'j' || g, 'priority', 5, 'depends_on', '[]'::jsonb),
      (array['completed', 'completed', 'completed', 'waiting', 'delayed', 'failed', 'completed', 'completed'])[1 + (g / 8) % 8],
      now() - make_interval(secs => g)
    from generate_series(1, 40000) g;
    update asyncmq_jobs set status = 'active' where id % 500 = 0;
    insert into asyncmq_repeatables (queue_name, job_def, next_run, paused)
    select 'q' || (i % 8), jsonb_build_object('task_id', 't', 'args', jsonb_build_array(i)), now() + make_interval(mins => i % 60 - 30), i % 8 = 0
    from generate_series(1, 4000) i;
    analyze asyncmq_jobs; analyze asyncmq_repeatables`);
  const plan = async (statement: Parameters<typeof asyncmq09>[0], params: unknown[]) =>
    (await db.sql.unsafe(`explain (costs off) ${asyncmq09(statement)}`, params as never[])).map((r) => r['QUERY PLAN']).join('\n');
  const uses = /Index (Only )?Scan using idx_asyncmq_jobs_by_status|Bitmap Index Scan on idx_asyncmq_jobs_by_status/;
  assert.match(await plan('dequeue-claim', ['q1', 'waiting', 'active', 1]), uses);
  assert.match(await plan('count-waiting', ['q1']), uses);
  assert.match(await plan('count-delayed', ['q1']), uses);
  assert.match(await plan('fetch-stalled', [Date.now() / 1000, 'active']), uses);
  assert.match(await plan('promote-due-delayed', ['q1', 'delayed', Date.now() / 1000, 'waiting']), uses);
  assert.match(await plan('list-jobs-by-status', ['q1', 'failed']), uses);
  assert.match(await plan('due-repeatables', ['q1']), /idx_asyncmq_repeatables_next_run/);
});
