/**
 * The typed producer on a real Postgres through the app's own Drizzle database (postgres.js; the
 * drizzle-orm line installed, 0.45 here, 1.0 in the lane of .ci/run): for each schema version
 * the row and job dict AsyncMQ writes, the version's upsert key, delayed jobs, cancellation as
 * the version's `cancel_job` does it, the app's transaction, input refused in the app's terms
 * with nothing written, AsyncMQ 0.9's own dequeue claiming the job, and SQL that names only
 * pg_catalog's operators and functions. test/asyncmq-worker.test.ts has AsyncMQ's own worker
 * run what this writes.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { createAsyncmqProducer, createAsyncmqSchema, installOrDropPostgresBackend, type AsyncmqNames, type DrizzleWriter } from '../src/index.js';
import { SCHEMA_VERSIONS, type SchemaVersion } from '../src/config/versions.js';
import { asyncmq09 } from './support/asyncmq09.js';
import { createDatabase } from './support/db.js';

const clients: postgres.Sql[] = [];
after(() => Promise.all(clients.map((c) => c.end({ timeout: 5 }))));

async function setUp(names: AsyncmqNames) {
  const tables = createAsyncmqSchema(names);
  const database = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: database.url, schema: tables, env: {} });
  const client = postgres(database.url, { max: 2, onnotice: () => {} });
  clients.push(client);
  const statements: string[] = [];
  const db = drizzle({ client, logger: { logQuery: (query: string) => void statements.push(query) } } as never) as unknown as DrizzleWriter;
  const J = `${names.postgresSchema ?? 'public'}.${names.postgresJobsTableName ?? 'asyncmq_jobs'}`;
  const C = `${names.postgresSchema ?? 'public'}.${names.postgresCancelledJobsTableName ?? 'asyncmq_cancelled_jobs'}`;
  const rows = async () => [...(await database.sql.unsafe(`select queue_name, job_id, data, status, delay_until, created_at is not null as created, updated_at from ${J} order by id`))];
  const cancellations = async () => [...(await database.sql.unsafe(`select queue_name, job_id from ${C} order by 1, 2`))];
  return { tables, producer: createAsyncmqProducer(tables), db, sql: database.sql, rows, cancellations, statements, J };
}

/** The keys of `Job.to_dict()` at each schema version's releases (AsyncMQ's source, 0.1.0 to 0.9.1). */
const DICT_KEYS: Record<SchemaVersion, string[]> = {
  '0.1': ['id', 'task', 'args', 'kwargs', 'retries', 'max_retries', 'backoff', 'ttl', 'created_at', 'last_attempt', 'status', 'result', 'delay_until', 'priority', 'depends_on', 'repeat_every'],
  '0.2': ['id', 'task', 'args', 'kwargs', 'retries', 'max_retries', 'backoff', 'ttl', 'created_at', 'last_attempt', 'status', 'result', 'delay_until', 'priority', 'depends_on', 'repeat_every'],
  '0.8': ['id', 'task', 'args', 'kwargs', 'retries', 'max_retries', 'backoff', 'ttl', 'created_at', 'last_attempt', 'status', 'result', 'delay_until', 'priority', 'depends_on', 'repeat_every', 'deduplication'],
  '0.9': ['id', 'task', 'args', 'kwargs', 'retries', 'max_retries', 'backoff', 'ttl', 'created_at', 'last_attempt', 'status', 'result', 'last_error', 'error_traceback', 'delay_until', 'priority', 'depends_on', 'repeat_every', 'deduplication'],
};

for (const version of SCHEMA_VERSIONS) {
  test(`schema ${version}: enqueue writes AsyncMQ's row and job dict, Queue.add's defaults, a UUID id`, async () => {
    const t = await setUp({ postgresSchemaVersion: version });
    assert.equal(t.producer.version, version);
    const before = Date.now() / 1000;
    const result = await t.producer.enqueue(t.db, { queue: 'emails', task: 'app.tasks.welcome', args: [1], kwargs: { user_id: 7, greeting: 'héllo' } });
    assert.equal(result.enqueued, true);
    assert.match(result.jobId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const [row, ...more] = await t.rows();
    assert.equal(more.length, 0);
    assert.deepEqual({ ...row, data: undefined, updated_at: undefined }, { queue_name: 'emails', job_id: result.jobId, data: undefined, status: 'waiting', delay_until: null, created: true, updated_at: undefined });
    assert.deepEqual(Object.keys(row!.data).sort(), [...DICT_KEYS[version]].sort());
    const { created_at, ...rest } = row!.data as Record<string, unknown>;
    assert.ok(typeof created_at === 'number' && created_at >= before - 1 && created_at <= Date.now() / 1000 + 1, String(created_at));
    assert.deepEqual(rest, {
      id: result.jobId,
      task: 'app.tasks.welcome',
      args: [1],
      kwargs: { user_id: 7, greeting: 'héllo' },
      retries: 0,
      max_retries: 0,
      backoff: null,
      ttl: null,
      last_attempt: null,
      status: 'waiting',
      result: null,
      delay_until: null,
      priority: 5,
      depends_on: [],
      repeat_every: null,
      ...(version === '0.8' || version === '0.9' ? { deduplication: null } : {}),
      ...(version === '0.9' ? { last_error: null, error_traceback: null } : {}),
    });
    assert.deepEqual(row!.data, result.job);

    // The options, under Queue.add's names for them.
    await t.producer.enqueue(t.db, { queue: 'emails', task: 't', retries: 3, ttl: 60, backoff: 1.5, priority: 1, jobId: 'report-a' });
    const [, second] = await t.rows();
    assert.deepEqual([second!.job_id, second!.data.max_retries, second!.data.retries, second!.data.ttl, second!.data.backoff, second!.data.priority], ['report-a', 3, 0, 60, 1.5, 1]);
  });

  test(`schema ${version}: a job id already there is skipped or replaced, by the version's key`, async () => {
    const t = await setUp({ postgresSchemaVersion: version });
    const first = await t.producer.enqueue(t.db, { queue: 'emails', task: 'a', jobId: 'job-1' });
    const again = await t.producer.enqueue(t.db, { queue: 'emails', task: 'b', jobId: 'job-1' });
    assert.deepEqual([first.enqueued, again.enqueued], [true, false]);
    assert.equal((await t.rows())[0]!.data.task, 'a');
    const replaced = await t.producer.enqueue(t.db, { queue: 'emails', task: 'c', jobId: 'job-1' }, { onConflict: 'replace' });
    assert.equal(replaced.enqueued, true);
    const [row] = await t.rows();
    assert.equal(row!.data.task, 'c');
    // Another queue: the same id is another job from 0.8 on; before, the key is the id alone.
    const other = await t.producer.enqueue(t.db, { queue: 'reports', task: 'd', jobId: 'job-1' });
    assert.equal(other.enqueued, version === '0.8' || version === '0.9');
    assert.equal((await t.rows()).length, other.enqueued ? 2 : 1);
  });

  test(`schema ${version}: a delayed job is status delayed with delay_until in its record, the column left NULL as AsyncMQ leaves it`, async () => {
    const t = await setUp({ postgresSchemaVersion: version });
    const now = Date.now() / 1000;
    await t.producer.enqueueDelayed(t.db, { queue: 'emails', task: 'later', delay: 30 });
    const at = new Date(Date.UTC(2030, 0, 1));
    await t.producer.enqueueDelayed(t.db, { queue: 'emails', task: 'then', runAt: at });
    const [later, then] = await t.rows();
    assert.deepEqual([later!.status, later!.delay_until, later!.data.status], ['delayed', null, 'delayed']);
    assert.ok(Math.abs(later!.data.delay_until - (now + 30)) < 5, String(later!.data.delay_until));
    assert.equal(then!.data.delay_until, at.getTime() / 1000);
  });

  test(`schema ${version}: cancel does what AsyncMQ ${version}'s cancel_job does`, async () => {
    const t = await setUp({ postgresSchemaVersion: version });
    await t.producer.enqueue(t.db, { queue: 'q', task: 't', jobId: 'waiting-1' });
    await t.producer.enqueueDelayed(t.db, { queue: 'q', task: 't', jobId: 'delayed-1', delay: 60 });
    await t.producer.enqueue(t.db, { queue: 'q', task: 't', jobId: 'active-1' });
    await t.sql.unsafe(`update ${t.J} set status = 'active', data = data || '{"status": "active"}' where job_id = 'active-1'`);
    const results = [];
    for (const jobId of ['waiting-1', 'delayed-1', 'active-1']) results.push(await t.producer.cancel(t.db, { queue: 'q', jobId }));
    results.push(await t.producer.cancel(t.db, { queue: 'q', jobId: 'waiting-1' }));
    assert.deepEqual(await t.cancellations(), ['active-1', 'delayed-1', 'waiting-1'].map((job_id) => ({ queue_name: 'q', job_id })));
    const left = await t.rows();
    if (version === '0.9') {
      assert.deepEqual(results, [
        { recorded: true, removed: 1, flagged: 0 },
        { recorded: true, removed: 1, flagged: 0 },
        { recorded: true, removed: 0, flagged: 1 },
        { recorded: false, removed: 0, flagged: 0 },
      ]);
      assert.deepEqual(left.map((r) => [r.job_id, r.status, r.data.status, typeof r.data.cancelled_at]), [['active-1', 'cancelled', 'cancelled', 'number']]);
    } else {
      // Up to 0.8 AsyncMQ only records the cancellation; its worker skips the job when it comes.
      assert.deepEqual(results, [{ recorded: true }, { recorded: true }, { recorded: true }, { recorded: false }]);
      assert.deepEqual(left.map((r) => r.job_id), ['waiting-1', 'delayed-1', 'active-1']);
    }
  });
}

test("inside the app's transaction: rolled back with it, committed with it", async () => {
  const t = await setUp({ postgresSchemaVersion: '0.9', postgresSchema: 'queue', postgresJobsTableName: 'app_jobs' });
  await assert.rejects(
    t.db.transaction(async (tx) => {
      await t.producer.enqueue(tx, { queue: 'q', task: 't', jobId: 'rolled-back' });
      await t.producer.cancel(tx, { queue: 'q', jobId: 'other' });
      throw new Error('the app changes its mind');
    }),
    /changes its mind/,
  );
  assert.deepEqual([await t.rows(), await t.cancellations()], [[], []]);
  await t.db.transaction(async (tx) => {
    await t.producer.enqueue(tx, { queue: 'q', task: 't', jobId: 'kept' });
  });
  assert.deepEqual((await t.rows()).map((r) => r.job_id), ['kept']);
});

test("AsyncMQ 0.9's own dequeue claims the job, by priority", async () => {
  const t = await setUp({ postgresSchemaVersion: '0.9' });
  await t.producer.enqueue(t.db, { queue: 'q', task: 't', jobId: 'low', priority: 9 });
  await t.producer.enqueue(t.db, { queue: 'q', task: 't', jobId: 'high', priority: 1 });
  const claim = asyncmq09('dequeue-claim');
  const [claimed] = await t.sql.unsafe(claim, ['q', 'waiting', 'active', Date.now() / 1000]);
  assert.equal(claimed!.data.id, 'high');
});

test('bad input is refused in the terms the app used, and nothing is written', async () => {
  const t = await setUp({ postgresSchemaVersion: '0.9' });
  const p = t.producer;
  const refusals: [() => Promise<unknown>, RegExp][] = [
    [() => p.enqueue(t.db, { queue: '', task: 't' }), /^queue must be a non-empty string, got ""/],
    [() => p.enqueue(t.db, { queue: 'q' } as never), /^task must be a non-empty string, got undefined|^task must be a non-empty string, got a undefined/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', priority: 2.5 }), /^priority must be a whole number that fits in 32 bits/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', priority: 2 ** 31 }), /^priority must be/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', retries: -1 }), /^retries must be a whole number from 0/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', ttl: 0 }), /^ttl must be/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', kwargs: { when: new Date() } as never }), /^kwargs\.when is a Date: give plain JSON/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', args: [Number.NaN] }), /^args\[0\] is NaN, which JSON cannot hold/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', args: [undefined] as never }), /^args\[0\] is a undefined, which JSON cannot hold/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', jobId: '12345' }), /^jobId "12345" is only digits/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', jobId: 'a:b' }), /^jobId "a:b" contains ':'/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', taks: 'x' } as never), /^unknown job option "taks"/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', delay: 5 } as never), /^enqueue runs a job now; for delay or runAt use enqueueDelayed/],
    [() => p.enqueueDelayed(t.db, { queue: 'q', task: 't' } as never), /^a delayed job needs one of delay/],
    [() => p.enqueueDelayed(t.db, { queue: 'q', task: 't', delay: -1 }), /^delay must be a number of seconds from 0/],
    [() => p.enqueueDelayed(t.db, { queue: 'q', task: 't', runAt: new Date('nope') }), /^runAt must be a valid Date or epoch seconds/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't', args: ['x'.repeat(1_048_576)] }), /^the job's payload is \d+ bytes as AsyncMQ measures it, over its limit of 1048576/],
    [() => p.enqueue(t.db, { queue: 'q', task: 't' }, { onConflict: 'merge' as never }), /^onConflict must be 'skip' or 'replace'/],
    [() => p.enqueue({} as never, { queue: 'q', task: 't' }), /^enqueue takes the app's Drizzle database or transaction/],
    [() => p.cancel(t.db, { queue: 'q', jobId: '' }), /^jobId must be a non-empty string/],
  ];
  for (const [call, message] of refusals) {
    await assert.rejects(call, (e: { code?: string; message?: string }) => {
      assert.equal(e.code, 'ASYNCMQ_USAGE', e.message);
      assert.match(e.message ?? '', message);
      return true;
    });
  }
  assert.deepEqual([await t.rows(), await t.cancellations()], [[], []]);
  // The payload limit is AsyncMQ 0.9's; older releases have none, and the app may set its own.
  const old = await setUp({ postgresSchemaVersion: '0.8' });
  assert.equal((await old.producer.enqueue(old.db, { queue: 'q', task: 't', args: ['x'.repeat(1_048_576)] })).enqueued, true);
  await assert.rejects(p.enqueue(t.db, { queue: 'q', task: 't', args: ['é'] }, { maxPayloadBytes: 100 }), /over its limit of 100/);
  // A producer needs the factory's tables.
  assert.throws(() => createAsyncmqProducer({ jobs: t.tables.jobs } as never), /schema must be the tables createAsyncmqSchema\(\) returns/);
});

test("the producer's SQL names only pg_catalog's operators and functions", async () => {
  const t = await setUp({ postgresSchemaVersion: '0.9' });
  await t.producer.enqueue(t.db, { queue: 'q', task: 't', jobId: 'a' });
  await t.producer.enqueue(t.db, { queue: 'q', task: 't', jobId: 'a' }, { onConflict: 'replace' });
  await t.producer.enqueueDelayed(t.db, { queue: 'q', task: 't', jobId: 'b', delay: 1 });
  await t.producer.cancel(t.db, { queue: 'q', jobId: 'a' });
  const texts = t.statements.filter((s) => !/^(begin|commit|savepoint|release)/i.test(s));
  assert.ok(texts.length >= 6, texts.join('\n'));
  for (const text of texts) {
    // Assignments (`set "col" = ...`) are syntax, not operators; everything else must be qualified.
    const stripped = text
      .replace(/'(?:[^']|'')*'/g, "''")
      .replace(/OPERATOR\(pg_catalog\.[^)]+\)/g, ' ')
      .replace(/"[a-z_]+" = /g, ' ');
    assert.doesNotMatch(stripped, /[=<>|!~]/, text);
    for (const [, name] of stripped.matchAll(/([A-Za-z_][A-Za-z0-9_.]*)\s*\(/g)) {
      assert.ok(/^pg_catalog\./.test(name!) || /^(values|EXTRACT|ANY|returning|insert into "[a-z_]+")$/i.test(name!) || /^(into|conflict)$/i.test(name!), `${name}( in ${text}`);
    }
  }
});
