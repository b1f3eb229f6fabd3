/**
 * A database that takes no writes: status reports it as a problem, saying why, and install (a
 * no-op included), verifyOnly, upgrade and drop refuse it with ASYNCMQ_READ_ONLY before any
 * lock or change. Here `default_transaction_read_only`, set on the database as a DBA (or a
 * provider) does; test/server-restarts.test.ts does the same on a real hot standby.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { installOrDropPostgresBackend, inspectPostgresBackend } from '../src/index.js';
import { translateError } from '../src/connection/target.js';
import { runCli } from './support/cli.js';
import { adminSql, createDatabase } from './support/db.js';
import { failure } from './support/failure.js';
import { snapshot } from './support/snapshot.js';
import { at } from './support/versions.js';

test('default_transaction_read_only on the database: status says so (exit 1), and install, verifyOnly, upgrade and drop refuse it, changing nothing', async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.1') });
  // Something for install to do, so that both its paths meet the refusal.
  await db.sql.unsafe('drop index idx_asyncmq_jobs_status');
  await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.1'), concurrentIndexes: true });
  const before = await snapshot(db.sql);
  await adminSql().unsafe(`alter database ${db.name} set default_transaction_read_only = on`);

  const status = await inspectPostgresBackend({ connectionString: db.url, ...at('0.1') });
  assert.deepEqual([status.ok, status.problems, status.warnings], [false, 1, 0]);
  assert.equal(status.readOnly?.kind, 'default');
  assert.deepEqual(status.readOnly, { kind: 'default', source: 'database', advice: status.readOnly.advice });
  assert.match(status.readOnly.advice, /read-only by default \(default_transaction_read_only = on, set for the database: ALTER DATABASE \.\.\. SET\)/);
  const text = await runCli(['status'], env);
  assert.equal(text.code, 1, text.stdout);
  assert.match(text.stdout, /\nread-only: transactions here are read-only by default .*RESET default_transaction_read_only where it is set\n/);
  assert.match(text.stdout, /\nprivileges of role postgres: everything AsyncMQ needs on .* \(but this database takes no writes\)\n/);
  assert.match(text.stdout, /\nNOT OK: 1 problem\(s\): AsyncMQ cannot write to this database/);
  assert.doesNotMatch(text.stdout, /^OK/m);

  const refused = async (options: Parameters<typeof installOrDropPostgresBackend>[0]) => {
    const error = await failure(installOrDropPostgresBackend({ connectionString: db.url, ...at('0.1'), ...options }));
    assert.equal(error.code, 'ASYNCMQ_READ_ONLY', error.message);
    assert.match(error.message, /^AsyncMQ cannot write to this database: transactions here are read-only by default/);
  };
  await refused({}); // the no-op
  await refused({ verifyOnly: true });
  await refused({ drop: true });
  await refused({ ...at('0.9'), upgrade: true });
  for (const args of [['install'], ['upgrade', '--schema-version', '0.9'], ['drop', '--yes']]) {
    const cli = await runCli(args, env);
    assert.equal(cli.code, 3, args.join(' '));
    assert.match(cli.stderr, /^asyncmq-postgres: AsyncMQ cannot write to this database: .* \[ASYNCMQ_READ_ONLY\]\n$/);
  }
  // With work to do: an index missing, as a new index profile would have it.
  await adminSql().unsafe(`alter database ${db.name} reset default_transaction_read_only`);
  await db.sql.unsafe('drop index idx_asyncmq_jobs_status');
  const missing = await snapshot(db.sql);
  await adminSql().unsafe(`alter database ${db.name} set default_transaction_read_only = on`);
  await refused({ concurrentIndexes: true });
  assert.deepEqual(await snapshot(db.sql), missing);

  // Set back, all is well again.
  await adminSql().unsafe(`alter database ${db.name} reset default_transaction_read_only`);
  const report = await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.1'), concurrentIndexes: true });
  assert.deepEqual(report.created, ['index public.idx_asyncmq_jobs_status']);
  assert.deepEqual(await snapshot(db.sql), before);
  assert.equal((await runCli(['status'], env)).code, 0);
});

test('a session made read-only by its own connection options is told apart from a database setting', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.1') });
  const pool = { connection: { default_transaction_read_only: 'on' } };
  const status = await inspectPostgresBackend({ connectionString: db.url, ...at('0.1'), pool });
  assert.equal(status.readOnly?.kind, 'default');
  assert.match(status.readOnly!.advice, /set by the connection's options/);
  assert.equal((await failure(installOrDropPostgresBackend({ connectionString: db.url, ...at('0.1'), pool }))).code, 'ASYNCMQ_READ_ONLY');
});

test('a write refused mid-call (a server demoted in a failover) is ASYNCMQ_READ_ONLY, and the server text stays on one line', async () => {
  const db = await createDatabase();
  const sql = await db.sql.reserve();
  let refused: unknown;
  try {
    await sql`begin transaction read only`;
    // A name holding a newline, quoted back by the server in its message.
    await sql.unsafe('create table "x\nOK: installed and in shape." ()').catch((e: unknown) => (refused = e));
    await sql`rollback`;
  } finally {
    sql.release();
  }
  assert.equal((refused as { code?: string }).code, '25006');
  const error = translateError(refused, { target: 'db:5432/app', user: 'app', secrets: { passwords: [] } }, 'creating table x');
  assert.equal(error.code, 'ASYNCMQ_READ_ONLY');
  assert.match(error.message, /^db:5432\/app as user app took no writes while creating table x \(.*read-only transaction.*\): .*point at the primary$/);
  assert.doesNotMatch(error.message, /\n/);
});
