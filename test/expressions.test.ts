/**
 * Index expressions and predicates, read without a lock: the catalog read prints the stored
 * trees itself (src/catalog/node-tree.ts) instead of asking pg_get_indexdef(), which locks the table.
 * What it prints must be what Postgres prints; what it cannot print faithfully it must show as
 * no schema's definition; and two different expressions must never print alike.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import { readCatalog, UNREADABLE_EXPRESSION } from '../src/catalog/compare.js';
import { installOrDropPostgresBackend, inspectPostgresBackend } from '../src/index.js';
import { normalizeSql } from '../src/schema/sql-text.js';
import { runCli } from './support/cli.js';
import { createDatabase } from './support/db.js';
import { failure } from './support/failure.js';
import { queryable } from './support/queryable.js';

const TABLE = `create table corpus (
  id serial primary key, queue_name text not null, job_id text not null, data jsonb not null, status text,
  delay_until double precision, created_at timestamp default now(), paused boolean not null default false,
  tag varchar(20), n int2, big bigint, twice int generated always as (id * 2) stored)`;

/** Index definitions Postgres prints from `USING` on, and what the catalog read prints for them. */
async function definitions(sql: postgres.Sql, table = 'corpus') {
  const state = await readCatalog(queryable(sql), [], { tables: [table] });
  const ours = new Map(state.tables[0]!.indexes.map((i) => [i.name, i.definition]));
  const theirs = await sql<{ name: string; definition: string }[]>`
    select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
    from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = ${table}::regclass order by 1`;
  return theirs.map((t) => ({
    name: t.name,
    ours: ours.get(t.name)!,
    postgres: normalizeSql(t.definition.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+ /, (_, unique) => unique ?? '')),
  }));
}

// Each prints exactly as pg_get_indexdef() does.
const PRINTED = [
  `(queue_name, (COALESCE((data ->> 'priority')::int, 5)), created_at) where status = 'waiting'`,
  `((case when data->>'priority' ~ '^-?\\d{1,9}$' then (data->>'priority')::int end)) where status = 'waiting' and not paused`,
  `(((data ->> 'delay_until')::double precision)) where status = 'delayed'`,
  `((status in ('waiting', 'delayed'))) where status <> 'completed' or paused`,
  `(((data -> 'depends_on') is null), (paused is not true), (-id), ('5'::bigint + id), (n + 1::int2))`,
  `(lower(job_id), upper(tag), created_at desc, queue_name nulls first, status desc nulls last)`,
  `(queue_name text_pattern_ops, status collate "C")`,
  `(queue_name) include (job_id, status)`,
  `(jsonb_typeof(data -> 'x'), jsonb_array_length(data -> 'y')) where data ? 'heartbeat'`,
  `((coalesce(case when jsonb_typeof(data -> 'depends_on') = 'array' then jsonb_array_length(data -> 'depends_on') else 0 end, 0)))`,
  `((status = any (array['a', 'it''s', 'ünï'])), (job_id <> all (array['x'])), (tag || 'x'))`,
  `(((data ->> 'a')::int = -5), (big > -1), (paused is null), (not (paused and status is not null)))`,
  `(twice, (twice > 0))`,
  `(queue_name, status) where (data ->> 'delay_until') is not null`,
];

test('the catalog read prints index expressions and predicates exactly as pg_get_indexdef() does, on this server', async () => {
  const db = await createDatabase();
  await db.sql.unsafe(TABLE);
  for (const [i, spec] of PRINTED.entries()) await db.sql.unsafe(`create index ix_${i} on corpus ${spec}`);
  await db.sql.unsafe(`create unique index ux_plain on corpus (queue_name, job_id)`);
  const [{ version }] = (await db.sql`select current_setting('server_version_num')::int as version`) as unknown as [{ version: number }];
  if (version >= 150000) await db.sql.unsafe(`create unique index ux_nnd on corpus (tag) nulls not distinct`);
  const rows = await definitions(db.sql);
  assert.ok(rows.length >= PRINTED.length + 2);
  for (const row of rows) {
    assert.ok(!row.ours.includes(UNREADABLE_EXPRESSION), `${row.name}: ${row.ours}`);
    assert.equal(row.ours, row.postgres, row.name);
  }
});

test('what it cannot print faithfully shows as no definition, never as a look-alike', async () => {
  const db = await createDatabase();
  await db.sql.unsafe(TABLE);
  const unprintable = [
    // constants of types it does not decode, explicit collations, functions outside pg_catalog,
    // operators that are not an exact match, SQL-syntax functions, subscripts
    `((delay_until > 1.5))`,
    `((big::numeric > 2.50))`,
    `((status collate "C" > 'a'))`,
    `((extract(epoch from created_at)))`,
    `((data['x']))`,
    `((public.corpus_fn(id)))`,
  ];
  await db.sql.unsafe(`create function public.corpus_fn(int) returns int language sql immutable as 'select $1'`);
  for (const [i, spec] of unprintable.entries()) await db.sql.unsafe(`create index un_${i} on corpus ${spec}`);
  await db.sql.unsafe(`create index un_pred on corpus (id) where delay_until > 1.5`);
  for (const row of await definitions(db.sql)) {
    if (row.name === 'corpus_pkey') continue;
    assert.ok(row.ours.includes(UNREADABLE_EXPRESSION), `${row.name}: ${row.ours}`);
    assert.notEqual(row.ours, row.postgres);
  }
});

test('near-miss expressions and predicates all print differently', async () => {
  const db = await createDatabase();
  await db.sql.unsafe(TABLE);
  const variants = [
    `((COALESCE((data ->> 'priority')::int, 5)))`,
    `((COALESCE((data ->> 'priority')::int, 6)))`,
    `((COALESCE((data ->> 'priority')::bigint, 5)))`,
    `((COALESCE((data ->> 'Priority')::int, 5)))`,
    `((COALESCE((data -> 'priority')::text::int, 5)))`,
    `((COALESCE(5, (data ->> 'priority')::int)))`,
    `((COALESCE((data ->> 'priority')::int, -5)))`,
    `((COALESCE((data ->> 'priority')::int, 5)) desc)`,
    `((COALESCE((data ->> 'priority')::int, 5)) nulls first)`,
    `((COALESCE((data ->> 'priority')::int, 5))) where status = 'waiting'`,
    `((COALESCE((data ->> 'priority')::int, 5))) where status = 'waiting '`,
    `((COALESCE((data ->> 'priority')::int, 5))) where status <> 'waiting'`,
    `((COALESCE((data ->> 'priority')::int, 5))) where job_id = 'waiting'`,
    `((COALESCE((data ->> 'priority')::int, 5))) where status = 'waiting' and paused`,
    `((COALESCE((data ->> 'priority')::int, 5))) where status = 'waiting' or paused`,
    `((COALESCE((data ->> 'priority')::int, 5))) where status is null`,
    `((COALESCE((data ->> 'priority')::int, 5))) where status is not null`,
    `((COALESCE((data ->> 'priority')::int, 5))) where status = any (array['waiting'])`,
    `((COALESCE((data ->> 'priority')::int, 5))) where status <> all (array['waiting'])`,
    `((COALESCE((data ->> 'priority')::int, 5))) where not paused`,
    `((COALESCE((data ->> 'priority')::int, 5))) where paused is not true`,
  ];
  for (const [i, spec] of variants.entries()) await db.sql.unsafe(`create index v_${i} on corpus ${spec}`);
  const printed = (await definitions(db.sql)).filter((r) => r.name.startsWith('v_'));
  assert.equal(printed.length, variants.length);
  assert.equal(new Set(printed.map((r) => r.ours)).size, variants.length, printed.map((r) => r.ours).join('\n'));
  for (const row of printed) assert.equal(row.ours, row.postgres, row.name);
});

test('reading the catalog takes no lock on the tables, even with check constraints, expression indexes and generated columns', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql.unsafe(`
    alter table asyncmq_jobs add column twice int generated always as (id * 2) stored;
    alter table asyncmq_jobs add constraint known_status check (status in ('waiting', 'active'));
    alter table asyncmq_jobs add constraint one_per_queue exclude using btree (queue_name with =) where (status = 'active');
    create table app_queues (name text primary key);
    alter table asyncmq_jobs add constraint known_queue foreign key (queue_name) references app_queues (name);
    create index app_priority on asyncmq_jobs ((coalesce((data ->> 'priority')::int, 5))) where status = 'waiting'`);
  const tables = ['asyncmq_jobs', 'asyncmq_repeatables', 'asyncmq_cancelled_jobs'];

  // Every lock the read's own session holds at its end, on the tables or their indexes.
  const reader = postgres(db.url, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    const held = await reader.begin(async (tx) => {
      await readCatalog(queryable(tx), [], { tables, relations: true });
      await readCatalog(queryable(tx), [], { tables, detail: 'check' });
      return tx<{ relation: string; mode: string }[]>`
        select c.relname as relation, l.mode from pg_locks l join pg_class c on c.oid = l.relation
        where l.pid = pg_backend_pid() and l.locktype = 'relation'
          and (c.relname = any(string_to_array(${tables.join(',')}, ','))
            or c.oid in (select indexrelid from pg_index where indrelid::regclass::text = any(string_to_array(${tables.join(',')}, ','))))`;
    });
    assert.deepEqual([...held], []);
  } finally {
    await reader.end({ timeout: 5 });
  }

  // And so it goes past an ALTER TABLE's lock held elsewhere: status and a no-op install finish
  // while another session holds ACCESS EXCLUSIVE on the jobs table (a lock wait would hit the
  // 2 s lock_timeout and fail).
  await db.sql.unsafe('alter table asyncmq_jobs drop constraint known_status, drop constraint one_per_queue, drop constraint known_queue');
  const holder = postgres(db.url, { max: 1, onnotice: () => {} });
  const locked = holder.reserve();
  const session = await locked;
  try {
    await session.unsafe('begin; lock table asyncmq_jobs in access exclusive mode');
    const options = { connectionString: db.url, env: {}, pool: { connection: { lock_timeout: '2s' } } };
    const status = await inspectPostgresBackend(options);
    assert.equal(status.tables.find((t) => t.name === 'asyncmq_jobs')!.status, 'present');
    const report = await installOrDropPostgresBackend(options);
    assert.deepEqual(report.created, []);
    await session.unsafe('rollback');
  } finally {
    session.release();
    await holder.end({ timeout: 5 });
  }
});

test("a LATIN1 database with an app's partial index on a non-ASCII literal: status, verifyOnly, install, upgrade and drop all work, and the predicate prints as Postgres's", async () => {
  const db = await createDatabase({ encoding: 'LATIN1' });
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  const at = (version: '0.1' | '0.9') => ({ connectionString: db.url, env: {}, settings: { postgresSchemaVersion: version } });
  await installOrDropPostgresBackend(at('0.1'));
  await db.sql.unsafe(`create index app_done on asyncmq_jobs (queue_name) where status <> 'terminé'`);
  const [done] = (await definitions(db.sql, 'asyncmq_jobs')).filter((r) => r.name === 'app_done');
  assert.equal(done!.ours, `USING btree (queue_name) WHERE (status <> 'terminé'::text)`);
  assert.equal(done!.ours, done!.postgres);

  const status = await inspectPostgresBackend(at('0.1'));
  assert.deepEqual([status.ok, status.problems, status.warnings], [true, 0, 0]);
  assert.equal((await runCli(['status'], env)).code, 0);
  await installOrDropPostgresBackend({ ...at('0.1'), verifyOnly: true });
  // Install with work to do, then the upgrade, then drop.
  await db.sql.unsafe('drop index idx_asyncmq_jobs_status');
  assert.deepEqual((await installOrDropPostgresBackend({ ...at('0.1'), concurrentIndexes: true })).created, ['index public.idx_asyncmq_jobs_status']);
  assert.equal((await installOrDropPostgresBackend({ ...at('0.9'), upgrade: true })).upgradedFrom, '0.1');
  assert.equal((await inspectPostgresBackend(at('0.9'))).ok, true);
  assert.equal((await installOrDropPostgresBackend({ ...at('0.9'), drop: true })).dropped.length, 5);
});

test("a 1,500-term expression in an app's generated column and a 2,000-term CHECK read as unreadable: the no-op install and status still answer", async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  const sum = (n: number) => Array.from({ length: n }, () => 'id').join(' + ');
  await db.sql.unsafe(`alter table asyncmq_jobs add column total bigint generated always as (${sum(1500)}) stored`);
  assert.deepEqual((await installOrDropPostgresBackend({ connectionString: db.url, env: {} })).created, []);
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {} });
  const total = status.tables[0]!.items.find((i) => i.name === 'total')!;
  assert.deepEqual([total.status, total.impact, total.actual], ['extra', 'harmless', `bigint GENERATED ALWAYS AS ((${UNREADABLE_EXPRESSION})) STORED`]);
  assert.equal((await runCli(['status'], env)).code, 4);

  await db.sql.unsafe(`alter table asyncmq_jobs add constraint huge check (${sum(2000)} > -1)`);
  const checked = await inspectPostgresBackend({ connectionString: db.url, env: {} });
  const huge = checked.tables[0]!.items.find((i) => i.name === 'huge')!;
  assert.deepEqual([huge.status, huge.impact, huge.actual], ['extra', 'breaks', `CHECK ((${UNREADABLE_EXPRESSION}))`]);
  assert.equal((await runCli(['status'], env)).code, 1);
  const error = await failure(installOrDropPostgresBackend({ connectionString: db.url, env: {} }));
  assert.equal(error.code, 'ASYNCMQ_SCHEMA_MISMATCH');
});
