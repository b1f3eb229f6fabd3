/**
 * The `asyncmq-0.9` index profile: its indexes, what it means on older schema versions, that
 * AsyncMQ 0.9's statements use it under generic plans too (the dequeue reads one entry and picks
 * the job it would pick without the index; the due delayed jobs are a range), and what it
 * refuses: the write of a job AsyncMQ's own casts cannot read, with the cast's error, where the
 * other profiles store it and its queue then stalls. Checked through AsyncMQ's own statements.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getTableConfig } from 'drizzle-orm/pg-core';
import postgres, { type Sql } from 'postgres';
import { createAsyncmqSchema, inspectPostgresBackend, installOrDropPostgresBackend, renderPostgresBackendSql } from '../src/index.js';
import { asJson, asyncmq09, asyncmq09Job } from './support/asyncmq09.js';
import { createDatabase } from './support/db.js';
import { snapshot } from './support/snapshot.js';
import { asyncmqDatabase, fill } from './support/versions.js';

const v09 = { postgresSchemaVersion: '0.9', postgresIndexes: 'asyncmq-0.9' } as const;
const indexNames = (tables: object) =>
  Object.values(tables).flatMap((t) => getTableConfig(t).indexes.map((i) => i.config.name));

test("asyncmq-0.9 on schema 0.9: AsyncMQ's dequeue order and due time, each after status and queue, and the due repeatables index, in place of AsyncMQ's three", async () => {
  assert.deepEqual(indexNames(createAsyncmqSchema(v09)), ['idx_asyncmq_jobs_by_priority', 'idx_asyncmq_jobs_by_delay', 'idx_asyncmq_repeatables_next_run']);
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
      'CREATE INDEX "idx_asyncmq_jobs_by_priority" ON "asyncmq_jobs" USING btree ("status", "queue_name", ' +
        `(COALESCE(((data OPERATOR(pg_catalog.->>) 'priority'::pg_catalog.text))::integer, 5)), "created_at")`,
      'CREATE INDEX "idx_asyncmq_jobs_by_delay" ON "asyncmq_jobs" USING btree ("status", "queue_name", ' +
        `(((data OPERATOR(pg_catalog.->>) 'delay_until'::pg_catalog.text))::double precision))`,
      'CREATE INDEX "idx_asyncmq_repeatables_next_run" ON "asyncmq_repeatables" USING btree ("queue_name", "next_run")',
    ],
  );

  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  const indexes = (await snapshot(db.sql)).tables;
  // As Postgres prints them (the same on 15 and 18), and as the catalog check reads them back.
  assert.deepEqual(indexes.asyncmq_jobs!.indexes, [
    'CREATE UNIQUE INDEX asyncmq_jobs_pkey ON public.asyncmq_jobs USING btree (id)',
    'CREATE UNIQUE INDEX asyncmq_jobs_queue_name_job_id_key ON public.asyncmq_jobs USING btree (queue_name, job_id)',
    "CREATE INDEX idx_asyncmq_jobs_by_delay ON public.asyncmq_jobs USING btree (status, queue_name, (((data ->> 'delay_until'::text))::double precision))",
    "CREATE INDEX idx_asyncmq_jobs_by_priority ON public.asyncmq_jobs USING btree (status, queue_name, COALESCE(((data ->> 'priority'::text))::integer, 5), created_at)",
  ]);
  assert.ok(indexes.asyncmq_repeatables!.indexes.includes('CREATE INDEX idx_asyncmq_repeatables_next_run ON public.asyncmq_repeatables USING btree (queue_name, next_run)'));
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  assert.equal(status.ok, true, JSON.stringify(status.tables[0]!.items.filter((i) => i.status !== 'present')));
  assert.equal(status.indexes, 'asyncmq-0.9');
  // Every row went through both casts: status needs no read of the table to say none is poison.
  assert.equal(status.poisonJobs?.state, 'proven');
});

test("a database AsyncMQ 0.9's installer made, switched to asyncmq-0.9: the indexes are reported, then built without blocking, and AsyncMQ's own stay", async () => {
  const db = await asyncmqDatabase('0.9');
  await fill(db, '0.9');
  const startup = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  assert.deepEqual(startup.created, []);
  assert.deepEqual(startup.pendingIndexes.map((p) => [p.name, p.reason]), [
    ['idx_asyncmq_jobs_by_priority', 'not-requested'],
    ['idx_asyncmq_jobs_by_delay', 'not-requested'],
    ['idx_asyncmq_repeatables_next_run', 'not-requested'],
  ]);
  assert.match(startup.pendingIndexes[0]!.sql.join(';'), /CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_asyncmq_jobs_by_priority"/);
  const built = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09, concurrentIndexes: true });
  assert.deepEqual(built.created, ['index public.idx_asyncmq_jobs_by_priority', 'index public.idx_asyncmq_jobs_by_delay', 'index public.idx_asyncmq_repeatables_next_run']);
  assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: v09 })).ok, true);
  const jobs = (await snapshot(db.sql)).tables.asyncmq_jobs!.indexes;
  assert.ok(jobs.some((i) => i.startsWith('CREATE INDEX idx_asyncmq_jobs_status ')), 'AsyncMQ\'s own indexes are never dropped');
});

// Jobs whose priority or delay AsyncMQ's own casts cannot read (its Job does not check them),
// with the error the cast raises: what the producer sees under asyncmq-0.9.
const POISON: Record<string, { record: Record<string, unknown>; code: string; message: string }> = {
  'priority "high"': { record: { priority: 'high' }, code: '22P02', message: 'invalid input syntax for type integer: "high"' },
  'priority 2.5': { record: { priority: 2.5 }, code: '22P02', message: 'invalid input syntax for type integer: "2.5"' },
  // Python's 5.0 reads back from jsonb as the text 5.0, which no integer cast takes.
  'priority 5.0': { record: { priority: '5.0' }, code: '22P02', message: 'invalid input syntax for type integer: "5.0"' },
  'priority 1e12': { record: { priority: 1e12 }, code: '22003', message: 'value "1000000000000" is out of range for type integer' },
  'priority true': { record: { priority: true }, code: '22P02', message: 'invalid input syntax for type integer: "true"' },
  'priority {}': { record: { priority: {} }, code: '22P02', message: 'invalid input syntax for type integer: "{}"' },
  'delay_until "tomorrow"': { record: { delay_until: 'tomorrow' }, code: '22P02', message: 'invalid input syntax for type double precision: "tomorrow"' },
  'delay_until "1e400"': { record: { delay_until: '1e400' }, code: '22003', message: '"1e400" is out of range for type double precision' },
};
// Odd, but what the casts read: stored under every profile.
const ODD_BUT_READABLE: Record<string, Record<string, unknown>> = {
  'priority null': { priority: null },
  'priority " 7 "': { priority: ' 7 ' },
  'priority -2147483648': { priority: -2147483648 },
  'priority 1e2 (reads as 100)': { priority: 1e2 },
  'delay_until "Infinity"': { delay_until: 'Infinity' },
  'delay_until "NaN"': { delay_until: 'NaN' },
  'delay_until " 1.5e9 "': { delay_until: ' 1.5e9 ' },
  'depends_on a string': { depends_on: 'job-1' },
};

const idOf = (label: string) => `odd-${label.replace(/\W+/g, '-')}`;

/** AsyncMQ 0.9's writes of a job: enqueue as waiting, delayed or active, a heartbeat, a retry, a stalled job put back. */
async function writeEveryWay(sql: Sql, id: string, record: Record<string, unknown>): Promise<void> {
  for (const status of ['waiting', 'delayed', 'active']) {
    await sql.unsafe(asyncmq09('job-upsert'), ['q', id, asJson(asyncmq09Job(id, { ...record, status })), status]);
    await sql.unsafe(asyncmq09('job-heartbeat'), ['q', id, Date.now() / 1000]);
  }
  await sql.unsafe(asyncmq09('lifecycle-upsert'), ['q', id, asJson(asyncmq09Job(id, { ...record, status: 'delayed' })), 'delayed', 1]);
  await sql.unsafe(asyncmq09('reenqueue-stalled'), ['q', id, 'waiting', asJson(asyncmq09Job(id, record)), 'delayed', null]);
}

const dequeue = (sql: Sql) => sql.begin((tx) => tx.unsafe(asyncmq09('dequeue-claim'), ['q', 'waiting', 'active', Date.now() / 1000]));
const promote = (sql: Sql) => sql.begin((tx) => tx.unsafe(asyncmq09('promote-due-delayed'), ['q', 'delayed', Date.now() / 1000, 'waiting']));
const castError = (error: Error & { code?: string }) => error.code === '22P02' || error.code === '22003';

test('seed and queue store a job AsyncMQ 0.9 cannot cast, and then every dequeue (or scan of due jobs) of its queue fails', async () => {
  for (const profile of ['seed', 'queue'] as const) {
    const db = await createDatabase();
    await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchemaVersion: '0.9', postgresIndexes: profile } });
    await writeEveryWay(db.sql, 'good', {});
    for (const [label, { record }] of Object.entries(POISON)) {
      await writeEveryWay(db.sql, idOf(label), record);
      // Waiting (the dequeue computes every waiting job's key) and due (promote casts every delayed job's time).
      await db.sql.unsafe(asyncmq09('job-upsert'), ['q', idOf(label), asJson(asyncmq09Job(idOf(label), record)), 'priority' in record ? 'waiting' : 'delayed']);
      if ('priority' in record) await assert.rejects(dequeue(db.sql), castError, `${profile}: ${label}`);
      else await assert.rejects(promote(db.sql), castError, `${profile}: ${label}`);
      await db.sql.unsafe(asyncmq09('remove-job'), [idOf(label), 'q']);
    }
    // With them gone, the queue runs again.
    assert.equal((await dequeue(db.sql)).length, 1, profile);
  }
});

test("asyncmq-0.9 refuses the write of a job AsyncMQ's casts cannot read, with the cast's own error, and stores every job they can", async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  for (const [label, record] of Object.entries(ODD_BUT_READABLE)) await writeEveryWay(db.sql, idOf(label), record);
  const [{ n }] = (await db.sql`select count(*)::int as n from asyncmq_jobs`) as unknown as [{ n: number }];
  assert.equal(n, Object.keys(ODD_BUT_READABLE).length);

  await db.sql.unsafe(asyncmq09('job-upsert'), ['q', 'good', asJson(asyncmq09Job('good')), 'waiting']);
  for (const [label, { record, code, message }] of Object.entries(POISON)) {
    const refused = (error: Error & { code?: string }) => error.code === code && error.message === message;
    // Every way AsyncMQ writes a job, whatever its status: enqueue, enqueue_delayed, a saved
    // state, a retry (the lifecycle's upsert), and a job already stored rewritten.
    for (const status of ['waiting', 'delayed', 'active', 'completed', 'failed']) {
      await assert.rejects(db.sql.unsafe(asyncmq09('job-upsert'), ['q', idOf(label), asJson(asyncmq09Job(idOf(label), { ...record, status })), status]), refused, label);
    }
    await assert.rejects(
      db.sql.unsafe(asyncmq09('lifecycle-upsert'), ['q', idOf(label), asJson(asyncmq09Job(idOf(label), { ...record, status: 'delayed' })), 'delayed', 1]),
      refused,
      label,
    );
    await assert.rejects(db.sql.unsafe(asyncmq09('job-upsert'), ['q', 'good', asJson(asyncmq09Job('good', record)), 'waiting']), refused, label);
  }
  // Nothing of them was stored, the good job is as it was, and the queue runs.
  const [{ n: after }] = (await db.sql`select count(*)::int as n from asyncmq_jobs`) as unknown as [{ n: number }];
  assert.equal(after, Object.keys(ODD_BUT_READABLE).length + 1);
  assert.equal((await db.sql`select data ->> 'priority' as p from asyncmq_jobs where job_id = 'good'`)[0]!.p, '5');
  assert.equal((await dequeue(db.sql)).length, 1);
  await assert.doesNotReject(promote(db.sql));
});

/**
 * 20000 jobs over 4 queues: a third waiting, the rest completed or delayed (a tenth of those
 * due), with priorities as AsyncMQ's producers write them: numbers, none, JSON null, and
 * numbers as strings. Priorities repeat, so ties fall to the order's second key, created_at,
 * unique within a queue (AsyncMQ's order names one job); the oldest waiting job of each queue
 * comes last by priority.
 */
async function loadJobs(sql: Sql): Promise<void> {
  await sql.unsafe(`
    insert into asyncmq_jobs (queue_name, job_id, data, status, created_at)
    select 'q' || (g % 4), 'j' || g,
      jsonb_build_object('id', 'j' || g, 'depends_on', '[]'::jsonb,
        'delay_until', case when g % 3 = 1 then extract(epoch from now()) + (g % 100) - 10 end)
        || case g % 7 when 0 then '{}'::jsonb when 1 then '{"priority": null}' when 2 then jsonb_build_object('priority', ' ' || (g % 9) || ' ')
                      else jsonb_build_object('priority', (g / 7) % 9 + 1) end,
      case when g % 3 = 0 then 'waiting' when g % 3 = 1 then 'delayed' else 'completed' end,
      timestamp '2024-01-01' + make_interval(secs => g / 3)
    from generate_series(1, 20000) g;
    -- The oldest waiting job of each queue last by priority: the order is not merely the age.
    update asyncmq_jobs j set data = data || '{"priority": 9}' where id in (
      select distinct on (queue_name) id from asyncmq_jobs where status = 'waiting' order by queue_name, created_at, id);
    analyze asyncmq_jobs`);
}

/** A session whose plans are generic, as behind a pooler that shares prepared statements, with AsyncMQ's statements prepared. */
async function genericSession(url: string): Promise<Sql> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { plan_cache_mode: 'force_generic_plan' } });
  await sql.unsafe(`prepare claim(text, text, text, double precision) as ${asyncmq09('dequeue-claim')}`);
  await sql.unsafe(`prepare promote(text, text, double precision, text) as ${asyncmq09('promote-due-delayed')}`);
  await sql.unsafe(`prepare pop(text, text, double precision) as ${asyncmq09('pop-due-delayed')}`);
  return sql;
}

const explain = async (sql: Sql, execute: string) => (await sql.unsafe(`explain (costs off) execute ${execute}`)).map((r) => r['QUERY PLAN']).join('\n');
const CLAIM = `claim('q1', 'waiting', 'active', 1)`;

test("the dequeue reads one entry of the profile's index under a generic plan, and claims the job it claims without the index", async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  await loadJobs(db.sql);
  const generic = await genericSession(db.url);
  try {
    const plan = await explain(generic, CLAIM);
    assert.match(plan, /Index Scan using idx_asyncmq_jobs_by_priority on asyncmq_jobs jobs\n\s+Index Cond: \(\(status = \$2\) AND \(queue_name = \$1\)\)/);
    assert.doesNotMatch(plan, /Sort/);

    // The same job, queue by queue, with and without the index (the plan then sorts).
    const claimed = async (dropIndex: boolean) => {
      const ids: string[] = [];
      for (const queue of ['q0', 'q1', 'q2', 'q3']) {
        await generic.unsafe('begin');
        if (dropIndex) await generic.unsafe('drop index idx_asyncmq_jobs_by_priority');
        const [row] = await generic.unsafe(`execute claim('${queue}', 'waiting', 'active', 1)`);
        if (dropIndex) assert.match(await explain(generic, CLAIM), /Sort Key: \(COALESCE/);
        await generic.unsafe('rollback');
        ids.push((row!.data as { id: string }).id);
      }
      return ids;
    };
    const withIndex = await claimed(false);
    assert.deepEqual(withIndex, await claimed(true));
    // And it is the first by AsyncMQ's order, not merely the oldest.
    for (const [i, queue] of ['q0', 'q1', 'q2', 'q3'].entries()) {
      const [first] = await db.sql.unsafe(`select job_id from asyncmq_jobs where queue_name = $1 and status = 'waiting'
        order by coalesce((data ->> 'priority')::int, 5), created_at limit 1`, [queue]);
      assert.equal(withIndex[i], first!.job_id);
    }
    const oldest = await db.sql.unsafe(`select distinct on (queue_name) job_id from asyncmq_jobs where status = 'waiting' order by queue_name, created_at, id`);
    for (const [i, row] of oldest.entries()) assert.notEqual(withIndex[i], row.job_id);
  } finally {
    await generic.end({ timeout: 5 });
  }
});

test('a partial index on the waiting jobs would serve custom plans only, and a guarded cast no plan: why the profile has neither', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  await loadJobs(db.sql);
  const generic = await genericSession(db.url);
  try {
    await generic.unsafe(`begin; drop index idx_asyncmq_jobs_by_priority;
      create index partial_waiting on asyncmq_jobs (queue_name, (COALESCE((data ->> 'priority')::int, 5)), created_at) where status = 'waiting'`);
    // AsyncMQ binds the status ($2 = 'waiting'): a generic plan cannot know it matches the predicate.
    assert.match(await explain(generic, CLAIM), /Sort Key: \(COALESCE/);
    await generic.unsafe(`set local plan_cache_mode = force_custom_plan`);
    assert.match(await explain(generic, CLAIM), /Index Scan using partial_waiting/);
    await generic.unsafe(`rollback; begin; drop index idx_asyncmq_jobs_by_priority;
      create index guarded on asyncmq_jobs (status, queue_name,
        (COALESCE(case when data ->> 'priority' ~ '^-?\\d{1,9}$' then (data ->> 'priority')::int end, 5)), created_at)`);
    // Another expression than the ORDER BY's: the plan sorts, generic or not.
    assert.match(await explain(generic, CLAIM), /Sort Key: \(COALESCE/);
    await generic.unsafe(`set local plan_cache_mode = force_custom_plan`);
    assert.match(await explain(generic, CLAIM), /Sort Key: \(COALESCE/);
    await generic.unsafe('rollback');
  } finally {
    await generic.end({ timeout: 5 });
  }
});

test("AsyncMQ 0.9's statements use the profile's indexes, and the due delayed jobs are a range of one, under generic plans too", async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  await db.sql.unsafe(`
    insert into asyncmq_jobs (queue_name, job_id, data, status, created_at)
    select 'q' || (g % 8), 'j' || g, jsonb_build_object('id', 'j' || g, 'priority', 5, 'depends_on', '[]'::jsonb,
        'delay_until', extract(epoch from now()) + (g % 1000) - 10),
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
  const uses = /Index (Only )?Scan using idx_asyncmq_jobs_by_(priority|delay)|Bitmap Index Scan on idx_asyncmq_jobs_by_(priority|delay)/;
  const now = Date.now() / 1000;
  assert.match(await plan('dequeue-claim', ['q1', 'waiting', 'active', 1]), /Index Scan using idx_asyncmq_jobs_by_priority/);
  assert.match(await plan('count-waiting', ['q1']), uses);
  assert.match(await plan('count-delayed', ['q1']), uses);
  assert.match(await plan('fetch-stalled', [now, 'active']), uses);
  assert.match(await plan('list-jobs-by-status', ['q1', 'failed']), uses);
  assert.match(await plan('due-repeatables', ['q1']), /idx_asyncmq_repeatables_next_run/);
  // The due time is a bound of the index scan, not a filter over every delayed job of the queue.
  const due = new RegExp(
    String.raw`(Index|Bitmap Index) Scan (using|on) idx_asyncmq_jobs_by_delay[^\n]*\n\s+Index Cond: \(\(status = (\$2|'delayed'::text)\) AND ` +
      String.raw`\(queue_name = (\$1|'q1'::text)\) AND \(\(\(data ->> 'delay_until'::text\)\)::double precision <= (\$3|'[\d.]+'::double precision)\)\)`,
  );
  assert.match(await plan('promote-due-delayed', ['q1', 'delayed', now, 'waiting']), due);
  assert.match(await plan('pop-due-delayed', ['q1', 'delayed', now]), due);
  const generic = await genericSession(db.url);
  try {
    assert.match(await explain(generic, CLAIM), /Index Scan using idx_asyncmq_jobs_by_priority/);
    assert.match(await explain(generic, `promote('q1', 'delayed', ${now}, 'waiting')`), due);
    assert.match(await explain(generic, `pop('q1', 'delayed', ${now})`), due);
  } finally {
    await generic.end({ timeout: 5 });
  }
});
