/**
 * Privileges: status reports what the role AsyncMQ runs as may do with its objects, and the
 * GRANTs for what it lacks; those GRANTs are exactly what AsyncMQ's own statements need.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AsyncmqPostgresError, installOrDropPostgresBackend, inspectPostgresBackend } from '../src/index.js';
import { runAsyncmqStatements } from './support/asyncmq.js';
import { createDatabase } from './support/db.js';
import { createRole } from './support/roles.js';
import postgres from 'postgres';
import { runCli as run } from './support/cli.js';


async function asRole<T>(url: string, body: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await body(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

test('a role without rights on the tables: status is not OK and lists the GRANTs, which are what AsyncMQ needs', async () => {
  const db = await createDatabase();
  const role = await createRole();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await assert.rejects(asRole(role.url(db.name), (sql) => runAsyncmqStatements(sql)), /permission denied/);

  const status = await inspectPostgresBackend({ connectionString: db.url, env: {}, role: role.name });
  assert.deepEqual([status.ok, status.problems, status.warnings, status.privileges.ok, status.privileges.role], [false, 13, 0, false, role.name]);
  assert.deepEqual(
    status.privileges.objects.map((o) => [o.kind, o.name, o.missing.join(' ')]),
    [
      ['database', db.name, ''],
      ['schema', 'public', ''],
      ['table', 'asyncmq_jobs', 'SELECT INSERT UPDATE DELETE'],
      ['table', 'asyncmq_repeatables', 'SELECT INSERT UPDATE DELETE'],
      ['table', 'asyncmq_cancelled_jobs', 'SELECT INSERT UPDATE DELETE'],
      ['sequence', 'asyncmq_jobs_id_seq', 'USAGE'],
    ],
  );
  assert.deepEqual(status.privileges.fixes, [
    `GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "public"."asyncmq_jobs" TO "${role.name}"`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "public"."asyncmq_repeatables" TO "${role.name}"`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "public"."asyncmq_cancelled_jobs" TO "${role.name}"`,
    `GRANT USAGE ON SEQUENCE "public"."asyncmq_jobs_id_seq" TO "${role.name}"`,
  ]);
  // Connected as the role itself, status finds the same.
  const own = await inspectPostgresBackend({ connectionString: role.url(db.name), env: {} });
  assert.deepEqual(own.privileges, status.privileges);

  const text = await run(['status', '--role', role.name], env);
  assert.equal(text.code, 1);
  assert.match(text.stdout, new RegExp(`privileges of role ${role.name}: some that AsyncMQ needs are missing\\n`));
  assert.match(text.stdout, /\n {2}table {6}asyncmq_jobs +missing SELECT, INSERT, UPDATE, DELETE\n/);
  assert.match(text.stdout, new RegExp(`\\n  fix: GRANT USAGE ON SEQUENCE "public"."asyncmq_jobs_id_seq" TO "${role.name}";\\n`));
  assert.match(text.stdout, /\nNOT OK: 13 problem\(s\): missing, breaking AsyncMQ, or privileges the role lacks\.\n$/);

  // One GRANT short: still not OK, and AsyncMQ still fails.
  for (const fix of status.privileges.fixes.slice(0, -1)) await db.sql.unsafe(fix);
  assert.equal((await run(['status', '--role', role.name], env)).code, 1);
  await assert.rejects(asRole(role.url(db.name), (sql) => runAsyncmqStatements(sql)), /permission denied for sequence asyncmq_jobs_id_seq/);
  await db.sql.unsafe(status.privileges.fixes.at(-1)!);
  const granted = await run(['status', '--role', role.name], env);
  assert.equal(granted.code, 0, granted.stdout);
  assert.match(granted.stdout, new RegExp(`privileges of role ${role.name}: everything AsyncMQ needs on database ${db.name}, schema public, table asyncmq_jobs, .*sequence asyncmq_jobs_id_seq\\n`));
  await asRole(role.url(db.name), (sql) => runAsyncmqStatements(sql));
});

test('no USAGE on the namespace, no CONNECT on the database: reported with their GRANTs, read without a table lock', async () => {
  const db = await createDatabase();
  const role = await createRole();
  const settings = { postgresSchema: 'queue' };
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings });
  await db.sql.unsafe(`grant select, insert, update, delete on all tables in schema queue to ${role.name};
    grant usage on all sequences in schema queue to ${role.name};
    revoke connect on database ${db.name} from public`);
  const holder = await db.sql.reserve();
  try {
    await holder`begin`;
    await holder`lock table queue.asyncmq_jobs, queue.asyncmq_repeatables, queue.asyncmq_cancelled_jobs in access exclusive mode`;
    const status = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings, role: role.name });
    assert.deepEqual([status.ok, status.problems], [false, 2]);
    assert.deepEqual(status.privileges.fixes, [`GRANT CONNECT ON DATABASE "${db.name}" TO "${role.name}"`, `GRANT USAGE ON SCHEMA "queue" TO "${role.name}"`]);
    await holder`rollback`;
  } finally {
    holder.release();
  }
  await assert.rejects(asRole(role.url(db.name), (sql) => sql`select 1`), /permission denied for database/);
  await db.sql.unsafe(`grant connect on database ${db.name} to ${role.name}`);
  await assert.rejects(asRole(role.url(db.name), (sql) => runAsyncmqStatements(sql, 'queue')), /permission denied for schema queue/);
  await db.sql.unsafe(`grant usage on schema queue to ${role.name}`);
  assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {}, settings, role: role.name })).ok, true);
  await asRole(role.url(db.name), (sql) => runAsyncmqStatements(sql, 'queue'));
});

test('--role: checked before connecting, a role that does not exist is ASYNCMQ_UNKNOWN_ROLE, and only status takes it', async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  for (const [role, message] of [
    ['', /^role must be a role name, got ""$/],
    ['r'.repeat(64), /is 64 bytes long; Postgres role names have at most 63$/],
    ['app\nrole', /holds a control character$/],
    ['public', /stands for every role, not the one AsyncMQ connects as/],
  ] as const) {
    // The URL points nowhere: these fail before any connection is tried.
    const error = await inspectPostgresBackend({ connectionString: 'postgres://x@127.0.0.1:1/none', env: {}, role }).catch((e: unknown) => e);
    assert.ok(error instanceof AsyncmqPostgresError);
    assert.deepEqual([error.code, error.setting], ['ASYNCMQ_INVALID_SETTING', 'role']);
    assert.match(error.message, message);
    assert.equal((await run(['status', '--role', role], { ASYNCMQ_POSTGRES_BACKEND_URL: 'postgres://x@127.0.0.1:1/none' })).code, 2);
  }
  const unknown = await run(['status', '--role', 'NoSuchRole', '--json'], env);
  assert.equal(unknown.code, 3);
  assert.deepEqual(JSON.parse(unknown.stdout), {
    error: { code: 'ASYNCMQ_UNKNOWN_ROLE', message: 'role "NoSuchRole" does not exist on this server (role names are exact: no case folding)' },
  });
  const misplaced = await run(['install', '--role', 'app'], env);
  assert.deepEqual([misplaced.code, misplaced.stderr], [2, 'asyncmq-postgres: --role does not apply to install [ASYNCMQ_USAGE]\n']);
  assert.match((await run(['status', '--help'], env)).stdout, /--role <name> +check the privileges of this role, the one AsyncMQ runs as/);
});

test('status connecting as a role without USAGE on the namespace reads the catalog and reports the GRANT, instead of failing', async () => {
  const db = await createDatabase();
  const role = await createRole();
  const settings = { postgresSchema: 'queue' };
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings });
  await db.sql.unsafe(`grant select, insert, update, delete on all tables in schema queue to ${role.name};
    grant usage on all sequences in schema queue to ${role.name}`);
  const status = await inspectPostgresBackend({ connectionString: role.url(db.name), env: {}, settings });
  assert.deepEqual(
    status.tables.map((t) => [t.name, t.status]),
    [['asyncmq_jobs', 'present'], ['asyncmq_repeatables', 'present'], ['asyncmq_cancelled_jobs', 'present']],
  );
  assert.deepEqual([status.ok, status.problems, status.privileges.fixes], [false, 1, [`GRANT USAGE ON SCHEMA "queue" TO "${role.name}"`]]);
  const cli = await run(['status', '--schema', 'queue'], { ASYNCMQ_POSTGRES_BACKEND_URL: role.url(db.name) });
  assert.equal(cli.code, 1, cli.stderr);
  assert.match(cli.stdout, /fix: GRANT USAGE ON SCHEMA "queue" TO/);
});
