/**
 * Upgrades in place: every path from each version to each newer one, on tables holding rows,
 * with concurrent upgraders, beside an open writer, and interrupted, then run again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspectPostgresBackend, installOrDropPostgresBackend } from '../src/index.js';
import { lockKey } from '../src/operations/locking.js';
import { SCHEMA_VERSIONS } from '../src/config/versions.js';
import type { TestDatabase } from './support/db.js';
import { asyncmqInstallSql } from './support/seed.js';
import { snapshot } from './support/snapshot.js';
import { asyncmqDatabase, at, failure, fill, reference, rows } from './support/versions.js';
import { until } from './support/wait.js';

const PAIRS = SCHEMA_VERSIONS.flatMap((from, i) => SCHEMA_VERSIONS.slice(i + 1).map((to) => [from, to] as const));

test('every upgrade path, from each version to each newer one, on AsyncMQ\'s own tables holding rows: catalog of the newer, every row kept', async () => {
  for (const [from, to] of PAIRS) {
    const db = await asyncmqDatabase(from);
    await fill(db, from);
    const before = await rows(db);

    const swapsKey = (from === '0.1' || from === '0.2') && (to === '0.8' || to === '0.9');
    if (swapsKey) {
      const refused = await failure(installOrDropPostgresBackend({ connectionString: db.url, ...at(to) }));
      assert.equal(refused.code, 'ASYNCMQ_UPGRADE_REQUIRED');
      assert.match(refused.message, new RegExp(`holds AsyncMQ ${from.replace('.', '\\.')}'s schema; the configured ${to.replace('.', '\\.')} needs an upgrade: upgradePostgresBackend\\(\\) \\(or upgrade: true\\) with postgresSchemaVersion: '${to.replace('.', '\\.')}'`));
      assert.deepEqual(await rows(db), before, `${from} -> ${to}: the refusal touched nothing`);
    }

    const report = await installOrDropPostgresBackend({ connectionString: db.url, ...at(to), upgrade: true });
    assert.deepEqual(await snapshot(db.sql), await reference(to), `${from} -> ${to}`);
    const after = await rows(db);
    for (const [table, kept] of Object.entries(before)) assert.deepEqual(after[table], kept, `${from} -> ${to}: ${table}`);
    // Steps that only add tables are what install does anyway; the key swap needs the upgrade.
    assert.equal(report.upgradedFrom, swapsKey ? from : undefined, `${from} -> ${to}`);
    // Done: the next start is a no-op.
    const again = await installOrDropPostgresBackend({ connectionString: db.url, ...at(to), upgrade: true });
    assert.deepEqual([again.created, again.dropped], [[], []], `${from} -> ${to}: a second upgrade`);
  }
});

test('after the 0.8 step, two queues may hold the same job id, as AsyncMQ 0.8 writes them', async () => {
  const db = await asyncmqDatabase('0.2');
  await fill(db, '0.2');
  await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.8'), upgrade: true });
  await db.sql.unsafe(`insert into asyncmq_jobs (queue_name, job_id, data) values ('other', 'job-1', '{}')
    on conflict (queue_name, job_id) do update set data = excluded.data`);
  assert.equal((await db.sql`select count(*)::int as n from asyncmq_jobs where job_id = 'job-1'`)[0]!.n, 2);
});

test('16 upgraders at once: all succeed, the database ends at the newer version, no row lost', async () => {
  const db = await asyncmqDatabase('0.1');
  await fill(db, '0.1');
  const before = await rows(db);
  const results = await Promise.allSettled(
    Array.from({ length: 16 }, () => installOrDropPostgresBackend({ connectionString: db.url, ...at('0.9'), upgrade: true, pool: { max: 1 } })),
  );
  assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
  assert.deepEqual(await snapshot(db.sql), await reference('0.9'));
  const after = await rows(db);
  for (const [table, kept] of Object.entries(before)) assert.deepEqual(after[table], kept, table);
  const upgraded = results.filter((r) => r.status === 'fulfilled' && r.value.dropped.length > 0);
  assert.equal(upgraded.length, 1, 'exactly one upgrader swapped the key');
  // One upgrader at a time does the whole upgrade: only that one reports it; those that waited
  // for it report it as another session's.
  const reports = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  assert.deepEqual(reports.filter((r) => r.upgradedFrom !== undefined).map((r) => [r.upgradedFrom, r.dropped]), [['0.1', ['constraint public.asyncmq_jobs_job_id_key']]]);
  for (const report of reports.filter((r) => r.upgradedFrom === undefined)) {
    assert.deepEqual([report.created, report.dropped], [[], []]);
    assert.ok(report.foundUpgradedFrom === undefined || report.foundUpgradedFrom === '0.1' || report.foundUpgradedFrom === '0.2', JSON.stringify(report));
  }
});

test('an upgrade beside an open transaction that wrote to the jobs table waits for it, and blocks no other writer meanwhile', async () => {
  const db = await asyncmqDatabase('0.2');
  await fill(db, '0.2');
  const events: string[] = [];
  const writer = await db.sql.reserve();
  try {
    await writer`begin`;
    await writer`insert into asyncmq_jobs (queue_name, job_id, data) values ('q0', 'open-tx', '{}')`;
    const upgrade = installOrDropPostgresBackend({ connectionString: db.url, ...at('0.8'), upgrade: true }).then((report) => {
      events.push('upgrade done');
      return report;
    });
    // The concurrent build waits for the open writer (a virtualxid lock), without blocking others.
    for (let i = 0; i < 200; i++) {
      const [{ waiting }] = (await db.sql`select count(*)::int as waiting from pg_stat_activity
        where datname = current_database() and query ilike 'CREATE UNIQUE INDEX CONCURRENTLY%' and wait_event_type = 'Lock'`) as unknown as [{ waiting: number }];
      if (waiting > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await db.sql`insert into asyncmq_jobs (queue_name, job_id, data) values ('q1', 'during-upgrade', '{}')`;
    events.push('another writer committed');
    assert.deepEqual(events, ['another writer committed']);
    await writer`commit`;
    events.push('open writer committed');
    const report = await upgrade;
    assert.deepEqual(events, ['another writer committed', 'open writer committed', 'upgrade done']);
    assert.equal(report.upgradedFrom, '0.2');
  } finally {
    writer.release();
  }
  assert.equal((await db.sql`select count(*)::int as n from asyncmq_jobs`)[0]!.n, 52);
});

/** Waits until a backend of this database runs a statement matching `pattern` and waits on a lock, then terminates it. */
async function terminateWhenWaiting(db: TestDatabase, pattern: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const [{ n }] = (await db.sql`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and query ilike ${pattern} and wait_event_type = 'Lock'`) as unknown as [{ n: number }];
    if (n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`no backend waited on a lock running ${pattern}`);
}

test('an upgrade killed at each stage fails with ASYNCMQ_CONNECTION_FAILED, leaves a known state, and finishes when run again', async () => {
  const db = await asyncmqDatabase('0.1');
  await fill(db, '0.1');
  const before = await rows(db);
  const upgrade = () => installOrDropPostgresBackend({ connectionString: db.url, ...at('0.9'), upgrade: true });
  const held = async () => (await inspectPostgresBackend({ connectionString: db.url, ...at('0.9') })).schemaVersion;

  // 1. In the 0.2 step's transaction, waiting for the install lock another session holds.
  const holder = await db.sql.reserve();
  try {
    await holder`begin`;
    await holder.unsafe(`select pg_advisory_xact_lock(${lockKey('public')})`);
    const killed = failure(upgrade());
    await terminateWhenWaiting(db, '%pg_advisory_xact_lock%');
    assert.equal((await killed).code, 'ASYNCMQ_CONNECTION_FAILED');
    await holder`rollback`;
  } finally {
    holder.release();
  }
  assert.deepEqual([(await held()).held, (await held()).verdict], ['0.1', 'upgrade-required']);

  // 2. During the concurrent build of the 0.8 key, waiting for a writer's open transaction: an INVALID index is left.
  await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.2'), upgrade: true });
  const writer = await db.sql.reserve();
  try {
    await writer`begin`;
    await writer`insert into asyncmq_jobs (queue_name, job_id, data) values ('q0', 'open-tx', '{}')`;
    const killed = failure(upgrade());
    await terminateWhenWaiting(db, 'CREATE UNIQUE INDEX CONCURRENTLY%');
    assert.equal((await killed).code, 'ASYNCMQ_CONNECTION_FAILED');
    await writer`rollback`;
  } finally {
    writer.release();
  }
  const [{ valid }] = (await db.sql`select indisvalid as valid from pg_index where indexrelid = 'asyncmq_jobs_queue_name_job_id_key'::regclass`) as unknown as [{ valid: boolean }];
  assert.equal(valid, false, 'the interrupted build left an INVALID index');
  assert.deepEqual([(await held()).held, (await held()).verdict], ['0.2', 'upgrade-required']);

  // Run again: it drops the INVALID leftover, builds the key and finishes.
  const report = await upgrade();
  assert.equal(report.upgradedFrom, '0.2');
  assert.deepEqual(await snapshot(db.sql), await reference('0.9'));
  const after = await rows(db);
  for (const [table, kept] of Object.entries(before)) assert.deepEqual(after[table], kept, table);

  // 3. Attaching the key (its index built), waiting behind a reader's lock on the jobs table:
  // the swap's transaction is rolled back whole.
  const other = await asyncmqDatabase('0.2');
  await fill(other, '0.2');
  await other.sql.unsafe('create unique index asyncmq_jobs_queue_name_job_id_key on asyncmq_jobs (queue_name, job_id)');
  const reader = await other.sql.reserve();
  try {
    await reader`begin`;
    await reader`select count(*) from asyncmq_jobs`;
    const killed = failure(installOrDropPostgresBackend({ connectionString: other.url, ...at('0.8'), upgrade: true }));
    await terminateWhenWaiting(other, 'LOCK TABLE%');
    assert.equal((await killed).code, 'ASYNCMQ_CONNECTION_FAILED');
    await reader`rollback`;
  } finally {
    reader.release();
  }
  const constraints = await other.sql`select conname from pg_constraint where conrelid = 'asyncmq_jobs'::regclass and contype = 'u' order by 1`;
  assert.deepEqual(constraints.map((c) => c.conname), ['asyncmq_jobs_job_id_key'], 'the swap is all or nothing');
  await installOrDropPostgresBackend({ connectionString: other.url, ...at('0.8'), upgrade: true });
  assert.deepEqual(await snapshot(other.sql), await reference('0.8'));
});

test('an upgrade stopped between building the key and attaching it, or between steps, finishes when run again', async () => {
  const db = await asyncmqDatabase('0.1');
  await fill(db, '0.1');
  const before = await rows(db);
  // Between steps: the database was taken to 0.2 only.
  await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.2'), upgrade: true });
  // The key's index built, not yet attached (as if stopped right after the build).
  await db.sql.unsafe('create unique index concurrently asyncmq_jobs_queue_name_job_id_key on asyncmq_jobs (queue_name, job_id)');
  const status = await inspectPostgresBackend({ connectionString: db.url, ...at('0.9') });
  assert.equal(status.schemaVersion.verdict, 'upgrade-required');
  const report = await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.9'), upgrade: true });
  assert.ok(!report.created.includes('index public.asyncmq_jobs_queue_name_job_id_key'), 'the index was not built again');
  assert.ok(report.created.includes('constraint public.asyncmq_jobs_queue_name_job_id_key'));
  assert.deepEqual(await snapshot(db.sql), await reference('0.9'));
  const after = await rows(db);
  for (const [table, kept] of Object.entries(before)) assert.deepEqual(after[table], kept, table);
});

test('refusals, touching nothing: a newer schema, the default version on a 0.9 database, a mix', async () => {
  const latest = await asyncmqDatabase('0.9');
  await fill(latest, '0.9');
  const before = await snapshot(latest.sql);
  for (const options of [{ env: {} }, at('0.2')]) {
    const error = await failure(installOrDropPostgresBackend({ connectionString: latest.url, ...options, upgrade: true }));
    assert.equal(error.code, 'ASYNCMQ_SCHEMA_NEWER');
    assert.match(error.message, /holds AsyncMQ 0\.9's schema, newer than the configured 0\.[12].*no downgrade/);
  }
  assert.deepEqual(await snapshot(latest.sql), before);
  // 0.8 is served by 0.9's tables as they are: no refusal, nothing done.
  const served = await installOrDropPostgresBackend({ connectionString: latest.url, ...at('0.8') });
  assert.deepEqual(served.created, []);
  const status = await inspectPostgresBackend({ connectionString: latest.url, env: {} });
  assert.equal(status.ok, false);
  assert.deepEqual([status.schemaVersion.held, status.schemaVersion.verdict], ['0.9', 'newer']);
  // The newer key implies nothing while the configured key is missing, and the advice is the version's, not a hand edit.
  const newerKey = status.tables[0]!.items.find((i) => i.name === 'asyncmq_jobs_queue_name_job_id_key')!;
  assert.deepEqual([newerKey.status, newerKey.impact], ['extra', 'breaks']);
  assert.match(newerKey.advice!, /AsyncMQ 0\.9's shape, newer than the configured 0\.1; configure 0\.9/);

  // A mix: 0.2's tables beside the paused-queues table that AsyncMQ 0.9 workers create on connecting.
  const mixed = await asyncmqDatabase('0.2');
  await mixed.sql.unsafe('create table asyncmq_paused_queues (queue_name text primary key, paused_at timestamp without time zone default now())');
  const mixedBefore = await snapshot(mixed.sql);
  const mixedStatus = await inspectPostgresBackend({ connectionString: mixed.url, ...at('0.9') });
  assert.deepEqual([mixedStatus.schemaVersion.state, mixedStatus.schemaVersion.held], ['mixed', '0.2']);
  const error = await failure(installOrDropPostgresBackend({ connectionString: mixed.url, ...at('0.9') }));
  assert.equal(error.code, 'ASYNCMQ_UPGRADE_REQUIRED');
  assert.match(error.message, /a mix of AsyncMQ schemas \(.*public\.asyncmq_jobs is 0\.1-0\.2's, public\.asyncmq_paused_queues is 0\.9's/);
  assert.deepEqual(await snapshot(mixed.sql), mixedBefore);
  await installOrDropPostgresBackend({ connectionString: mixed.url, ...at('0.9'), upgrade: true });
  assert.deepEqual(await snapshot(mixed.sql), await reference('0.9'));
});


test("an index or constraint under the new key's name that is not the key: refused before anything changes, with the statement that clears the way", async () => {
  const key = 'asyncmq_jobs_queue_name_job_id_key';
  const needed = 'UNIQUE USING btree (queue_name, job_id)';
  // What holds the name, what status shows of it, and the statement the refusal must give.
  const holders: { sql: string; found: string; clear: string }[] = [
    // The report's case: unique, but on other columns; attached, it let duplicates in and broke AsyncMQ 0.9's ON CONFLICT.
    { sql: `create unique index ${key} on asyncmq_jobs (job_id, status)`, found: 'UNIQUE USING btree (job_id, status)', clear: `DROP INDEX CONCURRENTLY IF EXISTS "public"."${key}"` },
    { sql: `create index ${key} on asyncmq_jobs (queue_name, job_id)`, found: 'USING btree (queue_name, job_id)', clear: `DROP INDEX CONCURRENTLY IF EXISTS "public"."${key}"` },
    { sql: `create unique index ${key} on asyncmq_jobs (queue_name, job_id) where status = 'waiting'`, found: "UNIQUE USING btree (queue_name, job_id) WHERE (status = 'waiting'::text)", clear: `DROP INDEX CONCURRENTLY IF EXISTS "public"."${key}"` },
    {
      sql: `create unique index ${key} on asyncmq_jobs (job_id, status); update pg_index set indisvalid = false where indexrelid = '${key}'::regclass`,
      found: 'the INVALID index UNIQUE USING btree (job_id, status)',
      clear: `DROP INDEX CONCURRENTLY IF EXISTS "public"."${key}"`,
    },
    { sql: `create unique index ${key} on asyncmq_jobs (queue_name text_pattern_ops, job_id)`, found: 'UNIQUE USING btree (queue_name text_pattern_ops, job_id)', clear: `DROP INDEX CONCURRENTLY IF EXISTS "public"."${key}"` },
    { sql: `create unique index ${key} on asyncmq_jobs (queue_name, job_id) nulls not distinct`, found: 'UNIQUE USING btree (queue_name, job_id) NULLS NOT DISTINCT', clear: `DROP INDEX CONCURRENTLY IF EXISTS "public"."${key}"` },
    { sql: `alter table asyncmq_jobs add constraint ${key} unique (job_id, status)`, found: 'UNIQUE (job_id, status)', clear: `ALTER TABLE "public"."asyncmq_jobs" DROP CONSTRAINT "${key}"` },
    { sql: `create unique index ${key} on asyncmq_cancelled_jobs (queue_name, job_id)`, found: 'the index public.asyncmq_jobs_queue_name_job_id_key of table asyncmq_cancelled_jobs', clear: `DROP INDEX CONCURRENTLY IF EXISTS "public"."${key}"` },
  ];
  // One database, made AsyncMQ 0.1's again for each holder.
  const db = await asyncmqDatabase('0.1');
  for (const holder of holders) {
    await db.sql.unsafe(`drop table if exists ${Object.keys((await snapshot(db.sql)).tables).join(', ') || 'asyncmq_jobs'}; ${asyncmqInstallSql('0.1')}`);
    await fill(db, '0.1');
    await db.sql.unsafe(holder.sql);
    const before = await snapshot(db.sql);
    const beforeRows = await rows(db);
    for (let run = 0; run < 2; run++) {
      const error = await failure(installOrDropPostgresBackend({ connectionString: db.url, ...at('0.9'), upgrade: true }));
      assert.equal(error.code, 'ASYNCMQ_NAME_CONFLICT', `${holder.sql}: ${error.message}`);
      assert.ok(error.message.includes(key), error.message);
      assert.ok(error.message.includes(holder.found), `${holder.sql}: ${error.message}`);
      assert.ok(error.message.includes(needed), `${holder.sql}: ${error.message}`);
      assert.ok(error.message.includes(`${holder.clear};`), `${holder.sql}: ${error.message}`);
      assert.ok(error.message.includes('nothing was changed'), error.message);
      assert.deepEqual(await snapshot(db.sql), before, `${holder.sql}: nothing changed, not even the 0.2 step's table`);
      assert.deepEqual(await rows(db), beforeRows);
    }
    // The printed statement, run as printed, clears the way.
    await db.sql.unsafe(holder.clear);
    const report = await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.9'), upgrade: true });
    assert.equal(report.upgradedFrom, '0.1');
    await db.sql.unsafe(`truncate asyncmq_jobs; insert into asyncmq_jobs (queue_name, job_id, data, status) values ('a', 'j', '{}', 'waiting'), ('b', 'j', '{}', 'waiting')`);
    const changed = await db.sql`select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'asyncmq_jobs'::regclass and contype = 'u'`;
    assert.deepEqual(changed.map((c) => c.def), ['UNIQUE (queue_name, job_id)'], holder.sql);
  }
});

/** Sessions of this database waiting for the jobs table's ACCESS EXCLUSIVE lock: the key swap's tries. */
async function swapWaiters(db: TestDatabase): Promise<number> {
  const [{ n }] = (await db.sql`select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database
    where d.datname = current_database() and l.relation = 'asyncmq_jobs'::regclass and l.mode = 'AccessExclusiveLock' and not l.granted`) as unknown as [{ n: number }];
  return n;
}

test('the key swap beside an idle reader: tries that give way, so writers go on meanwhile, one upgrader at a time, and done once the reader ends', async () => {
  const db = await asyncmqDatabase('0.2');
  await fill(db, '0.2');
  // The key's index built (as the upgrade's first part leaves it), so what follows is the swap alone.
  await db.sql.unsafe('create unique index concurrently asyncmq_jobs_queue_name_job_id_key on asyncmq_jobs (queue_name, job_id)');
  const events: string[] = [];
  const reader = await db.sql.reserve();
  const writer = await db.sql.reserve();
  try {
    // Only a read, then idle in its transaction: its ACCESS SHARE lock stays until it ends.
    await reader`begin`;
    await reader`select count(*) from asyncmq_jobs`;
    // Replicas upgrading at once. The budget is generous, so that however slow the machine,
    // they are still trying when the writer writes.
    const upgraders = Array.from({ length: 3 }, () =>
      installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchemaVersion: '0.8', postgresLockTimeout: 600_000 }, upgrade: true }).then(
        (report) => {
          events.push('an upgrade done');
          return report;
        },
      ),
    );
    let most = 0;
    const waiting = async () => {
      const n = await swapWaiters(db);
      most = Math.max(most, n);
      return n > 0;
    };
    await until(waiting, "an upgrader's try waits for the jobs table's lock");
    // A writer comes while the swap is being tried. Its lock_timeout bounds a hang only: behind
    // an ALTER that waits for the reader, it would wait until the reader ends.
    await writer`set lock_timeout = '60s'`;
    await writer`insert into asyncmq_jobs (queue_name, job_id, data) values ('q9', 'during-swap', '{}')`;
    events.push('writer committed');
    // The upgrade is still being tried: another try waits again.
    await until(waiting, 'the swap is tried again');
    assert.deepEqual(events, ['writer committed']);
    assert.equal(most, 1, 'one upgrader tries the swap at a time');
    await reader`commit`;
    events.push('reader ended');
    const reports = await Promise.all(upgraders);
    assert.deepEqual(events, ['writer committed', 'reader ended', 'an upgrade done', 'an upgrade done', 'an upgrade done']);
    // One did the swap; the others found it done by that one, and say so.
    const said = reports.map((r) => (r.upgradedFrom ? `upgraded from ${r.upgradedFrom}` : `found upgraded from ${r.foundUpgradedFrom}`)).sort();
    assert.deepEqual(said, ['found upgraded from 0.2', 'found upgraded from 0.2', 'upgraded from 0.2']);
  } finally {
    reader.release();
    writer.release();
  }
  assert.deepEqual(await snapshot(db.sql), await reference('0.8'));
  assert.equal((await db.sql`select count(*)::int as n from asyncmq_jobs`)[0]!.n, 51);
});

test('the key swap that cannot have its lock within the lock timeout: ASYNCMQ_LOCK_TIMEOUT naming the holder, nothing changed, done when run again', async () => {
  const db = await asyncmqDatabase('0.2');
  await fill(db, '0.2');
  await db.sql.unsafe('create unique index concurrently asyncmq_jobs_queue_name_job_id_key on asyncmq_jobs (queue_name, job_id)');
  const before = await snapshot(db.sql);
  const reader = await db.sql.reserve();
  try {
    await reader`begin`;
    await reader`select count(*) from asyncmq_jobs`;
    const [{ pid }] = (await reader`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
    // The reader stays for the whole call: the budget runs out whatever the machine's speed.
    const error = await failure(
      installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchemaVersion: '0.8', postgresLockTimeout: 1500 }, upgrade: true }),
    );
    assert.equal(error.code, 'ASYNCMQ_LOCK_TIMEOUT', error.message);
    assert.match(error.message, /timed out after 1500 ms \(postgresLockTimeout\) upgrading to 0\.8: the key swap: it needs the ACCESS EXCLUSIVE lock of "public"\."asyncmq_jobs" for a moment, and \d+ tries of at most 200 ms each/);
    assert.ok(error.message.includes(`pid ${pid} holds AccessShareLock, idle in transaction`), error.message);
    assert.match(error.message, /the swap was rolled back, the old key kept/);
    assert.deepEqual(await snapshot(db.sql), before, 'nothing changed');
    await reader`commit`;
  } finally {
    reader.release();
  }
  const report = await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.8'), upgrade: true });
  assert.equal(report.upgradedFrom, '0.2');
  assert.deepEqual(await snapshot(db.sql), await reference('0.8'));
});
