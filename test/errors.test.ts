/**
 * Faults: each is one clear AsyncmqPostgresError with a stable code, the database is left as
 * it was, and the password never appears.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { inspect } from 'node:util';
import postgres from 'postgres';
import { installOrDropPostgresBackend, inspectPostgresBackend } from '../src/index.js';
import { lockKey } from '../src/operations/locking.js';
import { adminSql, createDatabase, urlFor } from './support/db.js';
import { createRole } from './support/roles.js';
import { snapshot } from './support/snapshot.js';
import { failure } from './support/failure.js';


function assertNoSecret(error: unknown, secret: string): void {
  const everything = inspect(error, { depth: 20, showHidden: true }) + JSON.stringify(error);
  assert.ok(!everything.includes(secret), `the password appears in the error:\n${everything}`);
}

test('an unreachable port: ASYNCMQ_CONNECTION_FAILED naming host and port, no password', async () => {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r)); // now nothing listens there
  const error = await failure(installOrDropPostgresBackend({ connectionString: `postgres://u:hunter2-secret@127.0.0.1:${port}/db`, env: {} }));
  assert.equal(error.code, 'ASYNCMQ_CONNECTION_FAILED');
  assert.match(error.message, new RegExp(`could not connect to 127\\.0\\.0\\.1:${port}/db`));
  assert.ok(error.cause instanceof Error);
  assertNoSecret(error, 'hunter2-secret');
});

test('a server that never answers: the connect timeout ends it', async () => {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => void sockets.add(socket)).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  try {
    // asyncpg's `timeout` (seconds) is the connect timeout.
    const error = await failure(installOrDropPostgresBackend({ connectionString: `postgres://u:pw-secret@127.0.0.1:${port}/db`, env: {}, pool: { timeout: 1 } }));
    assert.equal(error.code, 'ASYNCMQ_CONNECTION_FAILED');
    assert.match(error.message, /CONNECT_TIMEOUT/);
    assertNoSecret(error, 'pw-secret');
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

test('a wrong password: ASYNCMQ_AUTHENTICATION_FAILED, and neither password is shown', async (t) => {
  const db = await createDatabase();
  const role = await createRole();
  const probe = postgres(urlFor(db.name, { user: role.name, password: 'not-the-password' }), { onnotice: () => {}, max: 1 });
  const trusted = await probe`select 1`.then(() => true, () => false);
  await probe.end();
  if (trusted) return t.skip('this server trusts local connections, so it never checks a password');
  const error = await failure(installOrDropPostgresBackend({ connectionString: urlFor(db.name, { user: role.name, password: 'wrong-pass-77' }), env: {} }));
  assert.equal(error.code, 'ASYNCMQ_AUTHENTICATION_FAILED');
  assert.match(error.message, /authentication/);
  assertNoSecret(error, 'wrong-pass-77');
  assertNoSecret(error, role.password);
});

test('a role without CREATE: ASYNCMQ_PERMISSION_DENIED saying what it was doing; nothing created', async () => {
  const db = await createDatabase();
  const role = await createRole();
  await db.sql.unsafe(`revoke create on schema public from public; grant usage on schema public to ${role.name}`);
  const error = await failure(installOrDropPostgresBackend({ connectionString: role.url(db.name), env: {} }));
  assert.equal(error.code, 'ASYNCMQ_PERMISSION_DENIED');
  assert.match(error.message, /creating table public\.asyncmq_jobs.*permission denied for schema public/);
  assert.equal((error.cause as { code?: string }).code, '42501');
  assertNoSecret(error, role.password);
  assert.deepEqual(await snapshot(db.sql), { tables: {}, sequences: [] });

  const schemaError = await failure(installOrDropPostgresBackend({ connectionString: role.url(db.name), env: {}, settings: { postgresSchema: 'queue' } }));
  assert.equal(schemaError.code, 'ASYNCMQ_PERMISSION_DENIED');
  assert.match(schemaError.message, /creating schema queue/);
});

test('a read-write role (no CREATE anywhere) can run install at startup once the schema exists', async () => {
  const db = await createDatabase();
  const role = await createRole();
  for (const settings of [{}, { postgresSchema: 'queue' }]) {
    await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings });
  }
  await db.sql.unsafe(`
    revoke create on schema public from public;
    revoke create, temporary on database ${db.name} from public;
    grant usage on schema public, queue to ${role.name};
    grant select, insert, update, delete on all tables in schema public, queue to ${role.name};
    grant usage on all sequences in schema public, queue to ${role.name};`);
  const { can_create } = (await db.sql`select has_database_privilege(${role.name}, current_database(), 'CREATE') or has_schema_privilege(${role.name}, 'public', 'CREATE') as can_create`)[0]!;
  assert.equal(can_create, false);
  for (const settings of [{}, { postgresSchema: 'queue' }]) {
    const report = await installOrDropPostgresBackend({ connectionString: role.url(db.name), env: {}, settings });
    assert.deepEqual(report.created, []);
    assert.equal((await inspectPostgresBackend({ connectionString: role.url(db.name), env: {}, settings })).ok, true);
  }
});

test('an existing table of another shape: install alters nothing and lists each difference', async () => {
  const db = await createDatabase();
  // AsyncMQ 0.8's jobs table: the unique key moved to (queue_name, job_id).
  await db.sql.unsafe(`create table asyncmq_jobs (
      id serial primary key, queue_name text not null, job_id text not null, data jsonb not null, status text,
      delay_until double precision, created_at timestamp default now(), updated_at timestamp default now(),
      unique (queue_name, job_id));
    insert into asyncmq_jobs (queue_name, job_id, data) values ('q', 'j', '{}');`);
  const before = await snapshot(db.sql);
  // Another AsyncMQ version's table is named as such, not as a generic shape error.
  const newer = await failure(installOrDropPostgresBackend({ connectionString: db.url, env: {} }));
  assert.equal(newer.code, 'ASYNCMQ_SCHEMA_NEWER');
  assert.match(newer.message, /holds AsyncMQ 0\.8's schema, newer than the configured 0\.1/);
  // Not even the missing tables are made: nothing half-made.
  assert.deepEqual(await snapshot(db.sql), before);

  // Both keys: (queue_name, job_id) rejects nothing that (job_id) does not, so AsyncMQ 0.1 works
  // with the table; install makes the missing tables and leaves the jobs table as it is.
  await db.sql.unsafe('alter table asyncmq_jobs add constraint asyncmq_jobs_job_id_key unique (job_id)');
  const both = await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  assert.deepEqual(both.created, ['table public.asyncmq_repeatables', 'table public.asyncmq_cancelled_jobs']);
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {} });
  const extra = status.tables[0]!.items.find((i) => i.name === 'asyncmq_jobs_queue_name_job_id_key')!;
  assert.deepEqual([extra.status, extra.impact], ['extra', 'harmless']);
  assert.ok(status.warnings > 0);

  await db.sql.unsafe(`alter table asyncmq_jobs drop constraint asyncmq_jobs_queue_name_job_id_key;
    alter table asyncmq_jobs alter column delay_until type numeric, drop column updated_at`);
  const columns = await failure(installOrDropPostgresBackend({ connectionString: db.url, env: {} }));
  assert.match(columns.message, /column delay_until different, expected double precision, found numeric/);
  assert.match(columns.message, /column updated_at missing, expected timestamp without time zone DEFAULT now\(\)/);
});

test('a lock held elsewhere: ASYNCMQ_LOCK_TIMEOUT saying what it waited for, nothing created', async () => {
  const db = await createDatabase();
  const holder = await db.sql.reserve();
  try {
    await holder`begin`;
    await holder`select pg_advisory_xact_lock(${lockKey('public')}::bigint)`;
    const error = await failure(installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresLockTimeout: 200 } }));
    assert.equal(error.code, 'ASYNCMQ_LOCK_TIMEOUT');
    assert.match(error.message, /200 ms .*waiting for the install lock of namespace public/);
    await holder`rollback`;
  } finally {
    holder.release();
  }
  assert.deepEqual(await snapshot(db.sql), { tables: {}, sequences: [] });
});

test('drop behind a busy table times out cleanly and drops nothing', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  const before = await snapshot(db.sql);
  const writer = await db.sql.reserve();
  try {
    await writer`begin`;
    await writer`insert into asyncmq_cancelled_jobs values ('q', 'j')`;
    const error = await failure(installOrDropPostgresBackend({ connectionString: db.url, env: {}, drop: true, settings: { postgresLockTimeout: 200 } }));
    assert.equal(error.code, 'ASYNCMQ_LOCK_TIMEOUT');
    assert.match(error.message, /dropping table public\.asyncmq_cancelled_jobs/);
    await writer`rollback`;
  } finally {
    writer.release();
  }
  assert.deepEqual(await snapshot(db.sql), before);
});

test("drop refuses to take an app's view with it (no CASCADE) and drops nothing", async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql.unsafe('create view app_waiting as select job_id from asyncmq_jobs');
  const before = await snapshot(db.sql);
  const error = await failure(installOrDropPostgresBackend({ connectionString: db.url, env: {}, drop: true }));
  assert.equal(error.code, 'ASYNCMQ_DEPENDENT_OBJECTS');
  assert.match(error.message, /dropping table public\.asyncmq_jobs/);
  // Postgres's detail names what blocks; its hint (add CASCADE) is not passed on.
  assert.match(error.message, /view app_waiting depends on table asyncmq_jobs; drop or change those objects first/);
  assert.doesNotMatch(error.message, /Use DROP \.\.\. CASCADE/);
  assert.deepEqual(await snapshot(db.sql), before);
});

test('a failure halfway through install rolls everything back', async () => {
  const db = await createDatabase();
  // Fails every CREATE INDEX: the jobs table is made, then its first index fails.
  await db.sql.unsafe(`
    create function refuse_indexes() returns event_trigger language plpgsql as $$
      begin raise exception 'no indexes today'; end $$;
    create event trigger refuse_indexes on ddl_command_end when tag in ('CREATE INDEX') execute function refuse_indexes();`);
  const error = await failure(installOrDropPostgresBackend({ connectionString: db.url, env: {} }));
  assert.equal(error.code, 'ASYNCMQ_DATABASE_ERROR');
  assert.match(error.message, /creating index public\.idx_asyncmq_jobs_queue_name failed .*no indexes today/);
  assert.deepEqual(await snapshot(db.sql), { tables: {}, sequences: [] });
});

test('a name the tables need, taken by another object: refused before anything is made, and status says so', async () => {
  const db = await createDatabase();
  // Postgres would quietly name the serial sequence asyncmq_jobs_id_seq1 instead.
  await db.sql.unsafe('create sequence asyncmq_jobs_id_seq; create table app_items (x int); create index idx_asyncmq_jobs_status on app_items (x)');
  const before = await snapshot(db.sql);
  const error = await failure(installOrDropPostgresBackend({ connectionString: db.url, env: {} }));
  assert.equal(error.code, 'ASYNCMQ_NAME_CONFLICT');
  assert.match(error.message, /public\.asyncmq_jobs: sequence asyncmq_jobs_id_seq conflict, .*taken by the sequence public\.asyncmq_jobs_id_seq/);
  assert.match(error.message, /index idx_asyncmq_jobs_status conflict, .*taken by the index public\.idx_asyncmq_jobs_status of table app_items/);
  assert.deepEqual(await snapshot(db.sql), before);
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {} });
  assert.equal(status.ok, false);
  assert.deepEqual(
    status.tables[0]!.items.filter((i) => i.status === 'conflict').map((i) => `${i.kind} ${i.name}`),
    ['index idx_asyncmq_jobs_status', 'sequence asyncmq_jobs_id_seq'],
  );
});

test('drop takes only tables of the package\'s shape', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql.unsafe("drop table asyncmq_cancelled_jobs; create table asyncmq_cancelled_jobs (note text); insert into asyncmq_cancelled_jobs values ('an app table by that name')");
  const before = await snapshot(db.sql);
  const error = await failure(installOrDropPostgresBackend({ connectionString: db.url, env: {}, drop: true }));
  assert.equal(error.code, 'ASYNCMQ_SCHEMA_MISMATCH');
  assert.match(error.message, /drop removes only tables of the package's shape.*public\.asyncmq_cancelled_jobs: column queue_name missing/s);
  assert.deepEqual(await snapshot(db.sql), before);
});

test('every connection opened is closed, on success and on failure', async () => {
  const db = await createDatabase();
  const count = async () =>
    Number((await adminSql()`select count(*) from pg_stat_activity where datname = ${db.name} and application_name = 'asyncmq-postgres'`)[0]!.count);
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, pool: { max: 3 } });
  await db.sql.unsafe('create view v as select * from asyncmq_jobs');
  await failure(installOrDropPostgresBackend({ connectionString: db.url, env: {}, drop: true }));
  await inspectPostgresBackend({ connectionString: db.url, env: {} });
  assert.equal(await count(), 0);
});
