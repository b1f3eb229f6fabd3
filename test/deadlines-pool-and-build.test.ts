/**
 * Deadlines on an app's pool and on concurrent builds, with faults injected into a real server
 * through a proxy that freezes (stops forwarding, sockets left open): a frozen client checked
 * out of the app's pg Pool is released as broken, and a concurrent build is waited for as long
 * as the server runs it, past every fixed deadline, then given up on once the server is done
 * and no answer came. (test/deadlines.test.ts has the transaction's.) Nothing here asserts on
 * elapsed time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { installOrDropPostgresBackend } from '../src/index.js';
import { READ_DEADLINE_MS } from '../src/connection/deadline.js';
import { createDatabase } from './support/db.js';
import { freezingProxy } from './support/proxy.js';
import { failure } from './support/failure.js';
import { waitFor } from './support/wait.js';


test("a pg Pool's client frozen during the DDL: released as broken, so the pool discards it and works on", async () => {
  const db = await createDatabase();
  const proxy = await freezingProxy(db.url, /CREATE TABLE/);
  const pool = new pg.Pool({ connectionString: proxy.via(db.url), max: 2 });
  pool.on('error', () => {});
  try {
    const error = await failure(installOrDropPostgresBackend({ client: pool, env: {}, settings: { postgresLockTimeout: 1000 } }));
    assert.equal(error.code, 'ASYNCMQ_DEADLINE_EXCEEDED');
    assert.match(error.message, /while creating table public\.asyncmq_jobs .*released it as broken/);
    assert.equal(pool.totalCount, 0, 'the frozen client is gone from the pool');
    const report = await installOrDropPostgresBackend({ client: pool, env: {} });
    assert.equal(report.created.length, 6);
  } finally {
    await pool.end();
    await proxy.close();
  }
});

test('a concurrent build is waited for while the server runs it, past every fixed bound, and given up on once it is done with no answer', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql`drop index idx_asyncmq_jobs_status`;
  // An open transaction that wrote to the table: the build waits for it.
  const writer = await db.sql.reserve();
  const proxy = await freezingProxy(db.url, /CREATE INDEX CONCURRENTLY/);
  const events: string[] = [];
  try {
    await writer`begin`;
    await writer`insert into asyncmq_jobs (queue_name, job_id, data) values ('q0', 'open-tx', '{}')`;
    const install = failure(installOrDropPostgresBackend({ connectionString: proxy.via(db.url), env: {}, concurrentIndexes: true, settings: { postgresLockTimeout: 1000 } })).then((error) => {
      events.push('install failed');
      return error;
    });
    await proxy.frozen;
    await waitFor('the build to wait for the writer', async () => {
      const found = await db.sql`select 1 from pg_stat_activity where datname = ${db.name} and query ilike 'CREATE INDEX CONCURRENTLY%' and wait_event_type = 'Lock'`;
      return found.length > 0 ? true : undefined;
    });
    // Longer than a read's deadline, the longest fixed one: the server shows the build running.
    await new Promise((r) => setTimeout(r, READ_DEADLINE_MS + 2_000));
    assert.equal(events.length, 0, 'still waiting for the build');
    await writer`commit`;
    events.push('writer committed');
    const error = await install;
    assert.deepEqual(events, ['writer committed', 'install failed']);
    assert.equal(error.code, 'ASYNCMQ_DEADLINE_EXCEEDED');
    assert.match(error.message, /^no answer while running CREATE INDEX CONCURRENTLY .*"idx_asyncmq_jobs_status".*, though the server shows its session done with it \(idle\): the connection stopped answering/);
  } finally {
    writer.release();
    await proxy.close();
  }
  // Built on the server; its session was ended, so its index-build lock is gone too.
  const [{ valid }] = await db.sql<[{ valid: boolean }]>`select indisvalid as valid from pg_index where indexrelid = 'idx_asyncmq_jobs_status'::regclass`;
  assert.equal(valid, true);
  await waitFor('no advisory lock left', async () => {
    const [{ n }] = await db.sql<[{ n: number }]>`select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = ${db.name})`;
    return n === 0 ? true : undefined;
  });
});

