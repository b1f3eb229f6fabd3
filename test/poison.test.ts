/**
 * Poison jobs: rows whose priority or delay_until AsyncMQ's own casts cannot read. The check
 * calls a text poison exactly when Postgres's cast refuses it (held to the real casts on a corpus
 * of edge cases, on this server); status reports them per queue under every profile, in text and
 * JSON, with statements that fix or remove them, never waits for the table's lock and bounds its
 * read; an index build over them is refused before it starts and leaves no INVALID index, even
 * when one is written while the build runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import { checkPoisonJobs, readServerVersion, renderPoisonScan, unreadable, unreadableBefore16 } from '../src/catalog/poison.js';
import { withPool } from '../src/connection/call.js';
import { installOrDropPostgresBackend, inspectPostgresBackend } from '../src/index.js';
import { resolveBackendConnection } from '../src/operations/options.js';
import { inNamespace } from '../src/schema/ddl.js';
import { resolveBackend } from '../src/schema/backend.js';
import { asJson, asyncmq09, asyncmq09Job } from './support/asyncmq09.js';
import { floatCorpus, integerCorpus } from './support/cast-corpus.js';
import { createDatabase, type TestDatabase } from './support/db.js';
import { HANG_MS } from './support/patience.js';
import { queryable } from './support/queryable.js';
import { createRole } from './support/roles.js';
import { snapshot } from './support/snapshot.js';
import { runCli as run } from './support/cli.js';

const v09 = { postgresSchemaVersion: '0.9' } as const;

const profile09 = { postgresSchemaVersion: '0.9', postgresIndexes: 'asyncmq-0.9' } as const;
type Cast = 'integer' | 'double precision';

/** Whether Postgres's own cast takes each text: one statement each, caught in PL/pgSQL. */
async function realCasts(db: TestDatabase, texts: readonly string[], type: Cast): Promise<boolean[]> {
  await db.sql.unsafe(`create or replace function casts(v text, t text) returns boolean language plpgsql as $$
    begin execute format('select %L::%s', v, t); return true; exception when others then return false; end $$`);
  const rows = await db.sql.unsafe(`select casts(t.v, $2) as ok from unnest($1::text[]) with ordinality as t(v, i) order by i`, [texts as never, type]);
  return rows.map((r) => r.ok as boolean);
}

async function predicted(db: TestDatabase, texts: readonly string[], predicate: string): Promise<boolean[]> {
  const rows = await db.sql.unsafe(`select ${predicate} as bad from unnest($1::text[]) with ordinality as t(v, i) order by i`, [texts as never]);
  return rows.map((r) => r.bad as boolean);
}

const disagreements = (texts: readonly string[], casts: boolean[], bad: boolean[]) =>
  texts.filter((_, i) => casts[i] === bad[i]).map((t) => JSON.stringify(t.length > 80 ? `${t.slice(0, 77)}...` : t));

test("the check calls a text poison exactly when Postgres's cast refuses it, on this server", async () => {
  const db = await createDatabase();
  const version = await readServerVersion(queryable(db.sql));
  for (const [type, corpus] of [['integer', integerCorpus()], ['double precision', floatCorpus()]] as const) {
    const casts = await realCasts(db, corpus, type);
    // The corpus holds plenty of both.
    assert.ok(casts.filter(Boolean).length >= 20 && casts.filter((c) => !c).length >= 20, `${type}: ${casts.filter(Boolean).length} cast`);
    assert.deepEqual(disagreements(corpus, casts, await predicted(db, corpus, unreadable('t.v', type, version))), [], `${type}, as status runs it here`);
    const emulated = disagreements(corpus, casts, await predicted(db, corpus, unreadableBefore16('t.v', type)));
    // The rules written out are Postgres 15's; 16 added other bases and underscores to integer
    // input (and the check uses pg_input_is_valid() there), while float8's input is unchanged.
    const since16 = ['"0x10"', '"0X1f"', '"0o7"', '"0b101"', '"1_000"'];
    assert.deepEqual(emulated.sort(), type === 'integer' && version >= 160000 ? since16.sort() : [], `${type}, as written out for Postgres before 16`);
  }
});

test('the check reads what AsyncMQ reads, data ->> field: JSON strings and JSON numbers alike', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  const version = await readServerVersion(queryable(db.sql));
  const jsonNumber = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
  for (const [field, type, corpus] of [['priority', 'integer', integerCorpus()], ['delay_until', 'double precision', floatCorpus()]] as const) {
    await db.sql.unsafe('truncate asyncmq_jobs');
    // Each text as a JSON string, and where it is a JSON number, as that number too (jsonb keeps
    // it as a numeric, which ->> prints in its own way: 1e2 reads as 100, 1e400 as 401 digits).
    const numbers: string[] = [];
    for (const t of corpus.filter((c) => jsonNumber.test(c))) {
      // Those jsonb can hold (its numeric has a range of its own).
      if (await db.sql.unsafe('select $1::text::jsonb', [t]).then(() => true, () => false)) numbers.push(t);
    }
    assert.ok(numbers.length >= 20, `${numbers.length} JSON numbers`);
    const values = [...corpus.map((t) => JSON.stringify(t)), ...numbers, 'null', 'true', '{}', '[1]'];
    await db.sql.unsafe(
      `insert into asyncmq_jobs (queue_name, job_id, data, status)
       select 'q' || (i % 3), 'j' || i, ('{"${field}": ' || v || '}')::jsonb, 'waiting' from unnest($1::text[]) with ordinality as t(v, i)`,
      [values as never],
    );
    const rows = await db.sql.unsafe(`select job_id, data ->> '${field}' as v from asyncmq_jobs order by id`);
    const texts = rows.map((r) => r.v as string | null);
    const casts = await realCasts(db, texts.map((t) => t ?? '0'), type);
    const bad = await predicted(db, texts as string[], unreadable('t.v', type, version));
    assert.deepEqual(disagreements(texts.map((t) => t ?? 'null'), casts.map((c, i) => (texts[i] === null ? true : c)), bad), [], field);
    // And the scan counts them all, per queue.
    const found = await queryable(db.sql).unsafe(renderPoisonScan('"public"."asyncmq_jobs"', [field], version));
    const counted = found.reduce((n, r) => n + (JSON.parse(String(r[0])) as { count: number }).count, 0);
    assert.equal(counted, bad.filter(Boolean).length, field);
    assert.ok(counted >= 20, `${field}: ${counted}`);
  }
});

/** A 0.9 database under the seed's indexes, holding healthy jobs and, in two queues, poison ones. */
async function poisoned(): Promise<TestDatabase> {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  const write = (queue: string, id: string, fields: Record<string, unknown>, status: string) =>
    db.sql.unsafe(asyncmq09('job-upsert'), [queue, id, asJson(asyncmq09Job(id, { ...fields, status })), status]);
  for (let i = 0; i < 20; i++) await write(i % 2 ? 'emails' : 'ok', `good-${i}`, { priority: 1 + (i % 9) }, 'waiting');
  for (let i = 0; i < 13; i++) await write('emails', `high-${i}`, { priority: 'high' }, 'waiting');
  for (let i = 0; i < 2; i++) await write('emails', `half-${i}`, { priority: 2.5 }, 'waiting');
  await write("it's", 'later', { delay_until: 'tomorrow' }, 'delayed');
  return db;
}

test('status reports poison jobs per queue under every profile, with what they stop and the statements that fix or remove them', async () => {
  const db = await poisoned();
  await assert.rejects(db.sql.begin((tx) => tx.unsafe(asyncmq09('dequeue-claim'), ['emails', 'waiting', 'active', 1])), /invalid input syntax for type integer/);

  const status = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  const check = status.poisonJobs!;
  assert.deepEqual([check.state, check.table, check.fields, check.queueCount], ['checked', 'public.asyncmq_jobs', ['priority', 'delay_until'], 2]);
  assert.deepEqual([status.ok, status.problems, status.warnings], [false, 2, 0]);
  const [emails, later] = check.queues;
  assert.deepEqual([emails!.queue, emails!.count, emails!.fields, emails!.jobs.length], ['emails', 15, ['priority'], 10]);
  // The first ten by id, each with the text the cast refuses.
  assert.deepEqual(emails!.jobs.slice(0, 2), [{ jobId: 'high-0', status: 'waiting', priority: 'high' }, { jobId: 'high-1', status: 'waiting', priority: 'high' }]);
  assert.deepEqual([later!.queue, later!.fields, later!.jobs], ["it's", ['delay_until'], [{ jobId: 'later', status: 'delayed', delayUntil: 'tomorrow' }]]);
  assert.match(emails!.fixes[0]!, /^UPDATE "public"\."asyncmq_jobs" SET data = pg_catalog\.jsonb_set\(data, '\{priority\}'.* ANY \(ARRAY\['2\.5', 'high'\]::pg_catalog\.text\[\]\)$/);

  // The command says the same, in text and JSON.
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  const text = await run(['status', '--schema-version', '0.9'], env);
  assert.equal(text.code, 1, text.stderr);
  assert.match(text.stdout, /\npoison jobs in public\.asyncmq_jobs: 2 queue\(s\) hold jobs whose priority and delay_until AsyncMQ cannot cast; no index of that cast can be built while they remain\n/);
  assert.match(text.stdout, /\n {2}queue emails: 15 job\(s\); a waiting one makes every dequeue of the queue fail .*\n {4}high-0 \(waiting\): priority "high"\n/);
  assert.match(text.stdout, /\n {4}and 5 more\n {4}fix: UPDATE .*;\n {4}or remove them: DELETE .*;\n {2}queue "it's": 1 job\(s\); a delayed one makes every scan of the queue's due jobs fail/);
  assert.match(text.stdout, /\nNOT OK: 2 problem\(s\): missing, breaking AsyncMQ, privileges the role lacks, or queues stalled by poison jobs\.\n$/);
  const json = JSON.parse((await run(['status', '--schema-version', '0.9', '--json'], env)).stdout);
  assert.deepEqual(json.poisonJobs, JSON.parse(JSON.stringify(check)));

  // Under another profile, the same.
  const queue = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: { ...v09, postgresIndexes: 'queue' } });
  assert.deepEqual(queue.poisonJobs!.queues.map((q) => [q.queue, q.count]), [['emails', 15], ["it's", 1]]);
  // AsyncMQ before 0.9 casts no priority (its dequeue orders by age): only the delay is poison there.
  const older = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchemaVersion: '0.8' } });
  assert.deepEqual([older.poisonJobs!.fields, older.poisonJobs!.queues.map((q) => q.queue)], [['delay_until'], ["it's"]]);

  // The statements, run as printed: the fix gives the jobs AsyncMQ's default priority and the queue
  // runs again; the removal takes the delayed job away and its queue's due jobs are found again.
  for (const statement of emails!.fixes) await db.sql.unsafe(statement);
  await db.sql.unsafe(later!.remove);
  const [{ fixed }] = (await db.sql`select count(*)::int as fixed from asyncmq_jobs where job_id like 'h%' and data -> 'priority' = '5'`) as unknown as [{ fixed: number }];
  assert.equal(fixed, 15);
  assert.equal((await db.sql.begin((tx) => tx.unsafe(asyncmq09('dequeue-claim'), ['emails', 'waiting', 'active', 1]))).length, 1);
  await db.sql.begin((tx) => tx.unsafe(asyncmq09('promote-due-delayed'), ["it's", 'delayed', Date.now() / 1000, 'waiting']));
  const clean = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  assert.deepEqual([clean.ok, clean.poisonJobs!.state, clean.poisonJobs!.queueCount], [true, 'checked', 0]);
  assert.match((await run(['status', '--schema-version', '0.9'], env)).stdout, /\npoison jobs in public\.asyncmq_jobs: none whose priority and delay_until AsyncMQ cannot cast\nOK: installed and in shape\.\n$/);
});

test("status does not read the table where the profile's indexes prove every row readable", async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: profile09 });
  const sent: string[] = [];
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: profile09, pool: { debug: (_: number, q: string) => void sent.push(q) } });
  assert.deepEqual([status.ok, status.poisonJobs!.state], [true, 'proven']);
  assert.match(status.poisonJobs!.reason!, /priority by the valid index idx_asyncmq_jobs_by_priority, delay_until by the valid index idx_asyncmq_jobs_by_delay/);
  assert.ok(sent.length > 0 && !sent.some((q) => /LOCK TABLE|FROM "public"\."asyncmq_jobs"/.test(q)), sent.join('\n'));
});

test('status never queues for the table\'s lock, bounds its read, and says when it could not check', async () => {
  const db = await poisoned();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  // An ALTER TABLE's lock held elsewhere: status does not wait for it (NOWAIT) and says so.
  const holder = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    await holder.unsafe('begin');
    await holder.unsafe('lock table asyncmq_jobs in access exclusive mode');
    const locked = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
    // Not read is not judged: neither a problem nor a warning, and said.
    assert.deepEqual([locked.ok, locked.poisonJobs!.state, locked.problems, locked.warnings], [true, 'not-checked', 0, 0]);
    assert.match(locked.poisonJobs!.reason!, /another session holds or waits for a lock that stops reads of the table/);
    const text = await run(['status', '--schema-version', '0.9'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\npoison jobs in public\.asyncmq_jobs: not checked \(priority and delay_until\): another session/);
    assert.match(text.stdout, /\nOK: installed and in shape\. The jobs were not checked for poison \(see above\)\.\n$/);
    await holder.unsafe('rollback');
  } finally {
    await holder.end({ timeout: 5 });
  }

  // A read past its budget is cancelled, and said to be.
  const backend = resolveBackend({ env: {}, settings: v09 });
  const connection = await resolveBackendConnection({ connectionString: db.url, env: {} }, backend.settings);
  await db.sql.unsafe(`insert into asyncmq_jobs (queue_name, job_id, data, status)
    select 'bulk', 'b' || g, jsonb_build_object('priority', g % 9, 'delay_until', 1.5e9 + g), 'completed' from generate_series(1, 50000) g`);
  const [jobs] = inNamespace(backend.shapes, 'public');
  const timedOut = await withPool({ kind: 'url', connection }, backend, (sql, step) =>
    checkPoisonJobs(sql, step, jobs!, { fields: ['priority', 'delay_until'], provenBy: {}, budgetMs: 1 }),
  );
  assert.deepEqual([timedOut.state, timedOut.reason], ['not-checked', "reading the table took longer than 0.001 s, status's budget for it"]);

  // A role that may not read the table: not checked, and why.
  const role = await createRole();
  const denied = await inspectPostgresBackend({ connectionString: role.url(db.name), env: {}, settings: v09 });
  assert.deepEqual([denied.poisonJobs!.state, denied.poisonJobs!.reason], ['not-checked', 'the connecting role may not read the table (SELECT)']);
});

test('an index build over poison jobs is refused before it starts, with them, and leaves no index behind', async () => {
  const db = await poisoned();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: profile09, concurrentIndexes: true });
  assert.deepEqual(report.created, ['index public.idx_asyncmq_repeatables_next_run']);
  assert.deepEqual(report.pendingIndexes.map((p) => [p.name, p.reason, p.poison?.fields, p.poison?.queues.map((q) => q.queue)]), [
    ['idx_asyncmq_jobs_by_priority', 'poison-jobs', ['priority'], ['emails']],
    ['idx_asyncmq_jobs_by_delay', 'poison-jobs', ['delay_until'], ["it's"]],
  ]);
  const indexes = () => snapshot(db.sql).then((s) => s.tables.asyncmq_jobs!.indexes.filter((i) => /by_(priority|delay)/.test(i)));
  assert.deepEqual(await indexes(), []);

  // The command prints the refusal with the jobs and the statements, and exits 1.
  const refused = await run(['install', '--schema-version', '0.9', '--indexes', 'asyncmq-0.9'], env);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stdout, /\nNot built: idx_asyncmq_jobs_by_priority, refused before it started: its build would fail on these rows\. Fix or remove them, then run install again\.\n {2}poison jobs in public\.asyncmq_jobs: 1 queue\(s\)/);
  assert.match(refused.stdout, /\n {6}high-0 \(waiting\): priority "high"\n/);

  for (const pending of report.pendingIndexes) for (const queue of pending.poison!.queues) await db.sql.unsafe(queue.remove);
  const built = await run(['install', '--schema-version', '0.9', '--indexes', 'asyncmq-0.9'], env);
  assert.equal(built.code, 0, built.stdout);
  assert.equal((await indexes()).length, 2);
  assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: profile09 })).ok, true);
});

test('a poison job committed while the build runs: the INVALID index it leaves is dropped, and the job reported', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: v09 });
  await db.sql.unsafe(`insert into asyncmq_jobs (queue_name, job_id, data, status) select 'q', 'j' || g, '{"priority": 3}', 'waiting' from generate_series(1, 100) g`);
  // A producer's transaction, open before the build starts: the check before it cannot see its
  // job, and CREATE INDEX CONCURRENTLY waits for it to end, then reads the job.
  const producer = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    await producer.unsafe('begin');
    await producer.unsafe(asyncmq09('job-upsert'), ['q', 'late', asJson(asyncmq09Job('late', { priority: 'urgent' })), 'waiting']);
    const install = installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: profile09, concurrentIndexes: true });
    let settled = false;
    void install.finally(() => (settled = true)).catch(() => {});
    const deadline = Date.now() + HANG_MS;
    for (;;) {
      const [waiting] = await db.sql`select 1 from pg_stat_activity
        where query like 'CREATE INDEX CONCURRENTLY%idx_asyncmq_jobs_by_priority%' and wait_event_type = 'Lock'`;
      if (waiting) break;
      if (settled || Date.now() > deadline) throw new Error('the build never waited for the producer');
      await new Promise((r) => setTimeout(r, 25));
    }
    await producer.unsafe('commit');
    const report = await install;
    const refused = report.pendingIndexes.find((p) => p.name === 'idx_asyncmq_jobs_by_priority')!;
    assert.equal(refused.reason, 'poison-jobs');
    assert.deepEqual(refused.poison!.queues[0]!.jobs, [{ jobId: 'late', status: 'waiting', priority: 'urgent' }]);
  } finally {
    await producer.end({ timeout: 5 });
  }
  const left = (await snapshot(db.sql)).tables.asyncmq_jobs!.indexes;
  assert.ok(!left.some((i) => i.includes('idx_asyncmq_jobs_by_priority')), left.join('\n'));
  assert.ok(left.some((i) => i.includes('idx_asyncmq_jobs_by_delay') && !i.endsWith('INVALID')), left.join('\n'));
});
