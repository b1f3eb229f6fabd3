/**
 * Deadlines, with faults injected into a real server: a proxy that freezes (stops forwarding,
 * sockets left open) in front of the package's connection. The server's
 * idle_in_transaction_session_timeout frees the locks a frozen client's transaction holds, the
 * call gives up on the connection at its deadline with ASYNCMQ_DEADLINE_EXCEEDED naming the step,
 * and an app's pg Client that was never connected is refused at once.
 * (test/deadlines-pool-and-build.test.ts has the app's pool and the concurrent builds.)
 * A small postgresLockTimeout keeps each test short; nothing here asserts on elapsed time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { inspectPostgresBackend, installOrDropPostgresBackend } from '../src/index.js';
import { idleInTransactionTimeoutMs } from '../src/operations/locking.js';
import { createDatabase, type TestDatabase } from './support/db.js';
import { freezingProxy } from './support/proxy.js';
import { snapshot } from './support/snapshot.js';
import { asyncmqDatabase, at, failure, fill, reference, rows } from './support/versions.js';
import { waitFor } from './support/wait.js';
import { HANG_MS } from './support/patience.js';

const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));


/** The package's backend running (or, after it, idle in) a statement matching `query`, in the state wanted. */
function backend(db: TestDatabase, query: string, state: string): Promise<number> {
  return waitFor(`a backend ${state} after ${query}`, async () => {
    const found = await db.sql<{ pid: number }[]>`
      select pid from pg_stat_activity where datname = ${db.name} and application_name = 'asyncmq-postgres' and state = ${state} and query ilike ${query}`;
    return found[0]?.pid;
  });
}

async function gone(db: TestDatabase, pid: number): Promise<void> {
  await waitFor(`backend ${pid} to end`, async () => {
    const [{ n }] = await db.sql<[{ n: number }]>`select count(*)::int as n from pg_stat_activity where pid = ${pid}`;
    return n === 0 ? true : undefined;
  });
}

/** The CLI in a child process, killed if it has not finished within HANG_MS (a hang fails the test, not the run). */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => void (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve({ code, stderr }))));
}

test('the idle timeout of the transaction: half the lock timeout, at least 2 s, and 5 s with no lock timeout', () => {
  assert.equal(idleInTransactionTimeoutMs(10_000), 5_000);
  assert.equal(idleInTransactionTimeoutMs(200), 2_000);
  assert.equal(idleInTransactionTimeoutMs(0), 5_000);
  assert.equal(idleInTransactionTimeoutMs(60_001), 30_001);
});

test("a client frozen just after an upgrade's ADD CONSTRAINT: writers go on once the server's idle timeout ends its transaction, the call fails at its deadline", async () => {
  const db = await asyncmqDatabase('0.1');
  await fill(db, '0.1');
  const before = await rows(db);
  const proxy = await freezingProxy(db.url, /ADD CONSTRAINT/);
  const events: string[] = [];
  try {
    const options = { env: {}, settings: { ...at('0.9').settings, postgresLockTimeout: 4000 } };
    const upgrade = failure(installOrDropPostgresBackend({ connectionString: proxy.via(db.url), ...options, upgrade: true })).then((error) => {
      events.push('upgrade failed');
      return error;
    });
    await proxy.frozen;
    // The server ran it and sits idle in the transaction, holding the jobs table.
    const pid = await backend(db, '%ADD CONSTRAINT%', 'idle in transaction');
    const [{ held }] = await db.sql<[{ held: boolean }]>`
      select exists (select 1 from pg_locks where pid = ${pid} and relation = 'asyncmq_jobs'::regclass and mode = 'AccessExclusiveLock' and granted) as held`;
    assert.ok(held, 'the frozen transaction holds an ACCESS EXCLUSIVE lock on the jobs table');
    // A writer of the queue waits behind it, with no lock timeout of its own, until the server ends it.
    await db.sql`insert into asyncmq_jobs (queue_name, job_id, data) values ('q0', 'during-freeze', '{}')`;
    events.push('writer committed');
    await gone(db, pid);
    const error = await upgrade;
    assert.deepEqual(events, ['writer committed', 'upgrade failed']);
    assert.equal(error.code, 'ASYNCMQ_DEADLINE_EXCEEDED');
    assert.match(error.message, /^no answer within \d+ s \(postgresLockTimeout 4000 ms plus 10 s\) while upgrading to 0\.8: attaching asyncmq_jobs_queue_name_job_id_key on 127\.0\.0\.1:\d+\/\w+; asyncmq-postgres closed its connection/);
  } finally {
    await proxy.close();
  }
  // The swap was rolled back whole; run again, it finishes, every row kept.
  const constraints = await db.sql`select conname from pg_constraint where conrelid = 'asyncmq_jobs'::regclass and contype = 'u' order by 1`;
  assert.deepEqual(constraints.map((c) => c.conname), ['asyncmq_jobs_job_id_key']);
  await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.9'), upgrade: true });
  assert.deepEqual(await snapshot(db.sql), await reference('0.9'));
  const after = await rows(db);
  for (const [table, kept] of Object.entries(before)) assert.deepEqual(after[table]?.filter((r) => !r.includes('during-freeze')), kept, table);
});

test("the CLI frozen in a first install's CREATE TABLE: three replicas starting meanwhile succeed once the server ends it, the CLI exits 3 on its own", async () => {
  const db = await createDatabase();
  const proxy = await freezingProxy(db.url, /CREATE TABLE/);
  try {
    const frozenCli = cli(['install'], { ASYNCMQ_POSTGRES_BACKEND_URL: proxy.via(db.url), ASYNCMQ_POSTGRES_LOCK_TIMEOUT: '4000' });
    await proxy.frozen;
    const pid = await backend(db, 'CREATE TABLE%', 'idle in transaction');
    const events: string[] = [];
    const replicas = Promise.all(
      [1, 2, 3].map(() => installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresLockTimeout: 4000 } }).then((report) => (events.push('replica done'), report))),
    );
    const reports = await replicas;
    assert.equal(reports.filter((r) => r.created.length > 0).length, 1, 'one replica created the tables, the others found them');
    await gone(db, pid);
    const run = await frozenCli;
    events.push('cli exited');
    assert.deepEqual(events, ['replica done', 'replica done', 'replica done', 'cli exited']);
    assert.equal(run.code, 3, run.stderr);
    assert.doesNotMatch(run.stderr, /TypeError|Cannot read properties/);
    assert.match(run.stderr, /no answer within \d+ s \(postgresLockTimeout 4000 ms plus 10 s\) while creating table public\.asyncmq_jobs .*\[ASYNCMQ_DEADLINE_EXCEEDED\]\n$/);
  } finally {
    await proxy.close();
  }
  assert.equal((await inspectPostgresBackend({ connectionString: db.url, env: {} })).ok, true);
});

test("an app's node-postgres Client that was never connected is refused at once, and left unconnected", async () => {
  const db = await createDatabase();
  const client = new pg.Client({ connectionString: db.url });
  for (const call of [
    () => installOrDropPostgresBackend({ client, env: {} }),
    () => inspectPostgresBackend({ client, env: {} }),
    () => installOrDropPostgresBackend({ db: drizzle({ client }), env: {} }),
  ]) {
    const error = await failure(call());
    assert.equal(error.code, 'ASYNCMQ_USAGE');
    assert.match(error.message, /^client is a node-postgres Client that is not connected: await client\.connect\(\) first/);
  }
  const state = client as unknown as { _connecting: boolean; _connected: boolean };
  assert.deepEqual([state._connecting, state._connected], [false, false]);
  await client.connect();
  try {
    assert.equal((await installOrDropPostgresBackend({ client, env: {} })).created.length, 6);
  } finally {
    await client.end();
  }
});
