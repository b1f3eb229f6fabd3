/**
 * What only a server of the test's own can show, since it is crashed and turned into a standby:
 * an UNLOGGED queue loses its jobs in a crash (why status and install count it as breaking
 * AsyncMQ), and a hot standby takes no writes (why they report and refuse it). The server is
 * the embedded Postgres (scripts/embedded-postgres.ts), started for this file and removed with
 * its directory at the end.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { startEmbeddedPostgres, type RunningServer } from '../scripts/embedded-postgres.js';
import { installOrDropPostgresBackend, inspectPostgresBackend } from '../src/index.js';
import { asJson, asyncmq09, asyncmq09Job } from './support/asyncmq09.js';
import { runCli } from './support/cli.js';
import { failure } from './support/failure.js';
import { at } from './support/versions.js';

let server: RunningServer;
let url: string;

before(async () => {
  server = await startEmbeddedPostgres();
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe('create database app');
  } finally {
    await admin.end({ timeout: 5 });
  }
  const u = new URL(server.url);
  u.pathname = '/app';
  url = u.toString();
});

after(async () => {
  await server?.stop();
});

async function withSql<T>(body: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await body(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const jobs = (sql: postgres.Sql) => sql.unsafe('select count(*)::int as n from asyncmq_jobs').then((r) => r[0]!.n as number);

test('an UNLOGGED jobs table is empty after a crash: status and install call it breaking AsyncMQ', async () => {
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: url, ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.9' };
  await installOrDropPostgresBackend({ connectionString: url, ...at('0.9') });
  await withSql((sql) => sql.unsafe('alter table asyncmq_jobs set unlogged'));

  const status = await inspectPostgresBackend({ connectionString: url, ...at('0.9') });
  const item = status.tables[0]!.items.find((i) => i.kind === 'table')!;
  assert.deepEqual([item.name, item.status, item.expected, item.actual, item.impact], ['persistence', 'different', 'logged', 'UNLOGGED', 'breaks']);
  assert.match(item.advice!, /empties an UNLOGGED table after a crash/);
  const text = await runCli(['status'], env);
  assert.equal(text.code, 1, text.stdout);
  assert.match(text.stdout, /\n {2}table {6}persistence +different \[breaks AsyncMQ\]: expected logged; found UNLOGGED\n/);
  const install = await failure(installOrDropPostgresBackend({ connectionString: url, ...at('0.9') }));
  assert.equal(install.code, 'ASYNCMQ_SCHEMA_MISMATCH');
  assert.match(install.message, /public\.asyncmq_jobs: table persistence different, expected logged, found UNLOGGED\n {6}Postgres empties/);

  // Why: jobs AsyncMQ enqueued, committed, are gone after a crash; the logged tables keep theirs.
  await withSql(async (sql) => {
    // The embedded server runs with synchronous_commit off; these commits wait for their WAL.
    await sql.unsafe('set synchronous_commit = on');
    for (const id of ['a', 'b', 'c']) await sql.unsafe(asyncmq09('job-upsert'), ['q', id, asJson(asyncmq09Job(id)), 'waiting']);
    await sql.unsafe(`insert into asyncmq_cancelled_jobs (queue_name, job_id) values ('q', 'x')`);
    assert.equal(await jobs(sql), 3);
  });
  await server.restart({ crash: true });
  await withSql(async (sql) => {
    assert.equal(await jobs(sql), 0);
    assert.equal((await sql.unsafe('select count(*)::int as n from asyncmq_cancelled_jobs'))[0]!.n, 1);
    await sql.unsafe('alter table asyncmq_jobs set logged');
  });
  assert.equal((await runCli(['status'], env)).code, 0);
});

test('a hot standby: status says the server is in recovery (exit 1); install, verifyOnly, upgrade and drop refuse it', async () => {
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: url, ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.9' };
  await installOrDropPostgresBackend({ connectionString: url, ...at('0.9') });
  await server.restart({ standby: true });
  await withSql(async (sql) => {
    assert.equal((await sql.unsafe('select pg_is_in_recovery() as r'))[0]!.r, true);
    await assert.rejects(sql.unsafe(asyncmq09('job-upsert'), ['q', 'j', asJson(asyncmq09Job('j')), 'waiting']), /read-only transaction/);
  });

  const status = await inspectPostgresBackend({ connectionString: url, ...at('0.9') });
  assert.deepEqual([status.ok, status.problems, status.readOnly?.kind], [false, 1, 'recovery']);
  assert.ok(status.tables.every((t) => t.status === 'present'));
  const text = await runCli(['status'], env);
  assert.equal(text.code, 1, text.stdout);
  assert.match(text.stdout, /\nread-only: the server is a hot standby \(in recovery\), where nothing can be written: point AsyncMQ and asyncmq-postgres at the primary\n/);
  assert.match(text.stdout, /\nNOT OK: 1 problem\(s\): AsyncMQ cannot write to this database/);

  for (const options of [{}, { verifyOnly: true }, { drop: true }, { ...at('0.9'), upgrade: true }]) {
    const error = await failure(installOrDropPostgresBackend({ connectionString: url, ...at('0.9'), ...options }));
    assert.equal(error.code, 'ASYNCMQ_READ_ONLY', JSON.stringify(options));
    assert.match(error.message, /hot standby \(in recovery\).*at the primary/);
  }
  for (const args of [['install'], ['drop', '--yes']]) {
    const cli = await runCli(args, env);
    assert.equal(cli.code, 3);
    assert.match(cli.stderr, /point AsyncMQ and asyncmq-postgres at the primary \[ASYNCMQ_READ_ONLY\]\n$/);
  }
});
