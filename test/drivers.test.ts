/**
 * The app's own connection: install, status, upgrade and drop through each driver (drizzle-orm's
 * postgres-js, node-postgres Pool and Client, PGlite, a raw postgres.js client), against the
 * run's server (PGlite in process). The app's connection is never closed and is left as found:
 * same server session, same settings, no lock, no prepared statement of ours. A driver with no
 * session refuses what needs one; options that cannot go together are refused before anything
 * connects; a terminated backend on the app's pool fails the call and leaves the process alive.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as nodePostgres } from 'drizzle-orm/node-postgres';
import { drizzle as pgProxy } from 'drizzle-orm/pg-proxy';
import { drizzle as pglite } from 'drizzle-orm/pglite';
import { drizzle as postgresJs } from 'drizzle-orm/postgres-js';
import pg from 'pg';
import postgres from 'postgres';
import { AsyncmqPostgresError, inspectPostgresBackend, installOrDropPostgresBackend, type InstallOrDropOptions } from '../src/index.js';
import { lockKey } from '../src/operations/locking.js';
import { createDatabase, type TestDatabase } from './support/db.js';
import { snapshot } from './support/snapshot.js';
import { at, failure, reference } from './support/versions.js';
import { HANG_MS } from './support/patience.js';
import { until } from './support/wait.js';

type Connection = Pick<InstallOrDropOptions, 'db' | 'client'>;

/**
 * 0.1 installed, a no-op second install, status, the upgrade to 0.9 (a concurrent index build
 * and transactions), status again, drop: each through `connection`. Returns the catalog the
 * upgrade left, when `db` is the server's.
 */
async function lifecycle(connection: Connection, db?: TestDatabase): Promise<void> {
  const first = await installOrDropPostgresBackend({ ...connection, ...at('0.1') });
  assert.equal(first.created.length, 6, first.created.join(', '));
  assert.deepEqual((await installOrDropPostgresBackend({ ...connection, ...at('0.1') })).created, []);
  assert.equal((await inspectPostgresBackend({ ...connection, ...at('0.1') })).ok, true);
  const upgraded = await installOrDropPostgresBackend({ ...connection, ...at('0.9'), upgrade: true });
  assert.equal(upgraded.upgradedFrom, '0.1');
  if (db) assert.deepEqual(await snapshot(db.sql), await reference('0.9'));
  const status = await inspectPostgresBackend({ ...connection, ...at('0.9') });
  assert.equal(status.ok, true, JSON.stringify(status.tables.flatMap((t) => t.items.filter((i) => i.status !== 'present'))));
  const dropped = await installOrDropPostgresBackend({ ...connection, ...at('0.9'), drop: true });
  assert.equal(dropped.dropped.length, 5, dropped.dropped.join(', '));
  if (db) assert.deepEqual(await snapshot(db.sql), { tables: {}, sequences: [] });
}


/** What a connection's own session says about itself. */
const SESSION_STATE = `select pg_backend_pid() as pid, current_setting('statement_timeout') as statement_timeout,
  current_setting('lock_timeout') as lock_timeout,
  (select count(*)::int from pg_locks where pid = pg_backend_pid() and locktype = 'advisory') as advisory_locks,
  (select count(*)::int from pg_prepared_statements where statement like '%json_build_object%') as our_statements`;

test('drizzle-orm on node-postgres, a Client: the whole life through it, the client left open, in its session, as found', async () => {
  const db = await createDatabase();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query("set statement_timeout = '7s'");
    await client.query("set lock_timeout = '3s'");
    const before = (await client.query(SESSION_STATE)).rows[0];
    await lifecycle({ db: nodePostgres({ client }) }, db);
    assert.deepEqual((await client.query(SESSION_STATE)).rows[0], before);
    assert.deepEqual(before, { pid: before.pid, statement_timeout: '7s', lock_timeout: '3s', advisory_locks: 0, our_statements: 0 });
    assert.equal(client.getTransactionStatus(), 'I');
  } finally {
    await client.end();
  }
});

test('drizzle-orm on node-postgres, a Pool: the call checks out one client and returns it as found; the pool stays open', async () => {
  const db = await createDatabase();
  // One client, so the session after the calls is the one the calls used.
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  pool.on('connect', (client) => void client.query("set lock_timeout = '3s'"));
  try {
    const before = (await pool.query(SESSION_STATE)).rows[0];
    await lifecycle({ db: nodePostgres({ client: pool }) }, db);
    assert.deepEqual((await pool.query(SESSION_STATE)).rows[0], before);
    assert.equal(before.lock_timeout, '3s');
    assert.equal(pool.totalCount, 1);
  } finally {
    await pool.end();
  }
});

test('a raw node-postgres Client as client, inside a transaction: refused before anything changes', async () => {
  const db = await createDatabase();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('begin');
    const error = await failure(installOrDropPostgresBackend({ client, env: {} }));
    assert.equal(error.code, 'ASYNCMQ_SESSION_REQUIRED');
    assert.match(error.message, /the node-postgres client given is inside a transaction/);
    await client.query('rollback');
    assert.equal((await installOrDropPostgresBackend({ client, env: {} })).created.length, 6);
  } finally {
    await client.end();
  }
});

test('drizzle-orm on postgres-js: reads on the app\'s pool, changes on a connection of the call\'s own, closed after; the app\'s client is untouched', async () => {
  const db = await createDatabase();
  // drizzle() replaces this client's date and json parsers; the package reads text, whatever they are.
  const client = postgres(db.url, { max: 1, onnotice: () => {}, connection: { application_name: 'the_app', lock_timeout: 3000 } });
  try {
    const state = async () => ({ ...(await client.unsafe(SESSION_STATE, [], { prepare: false }))[0] });
    const before = await state();
    await lifecycle({ db: postgresJs({ client }) }, db);
    assert.deepEqual(await state(), before);
    assert.equal(before.lock_timeout, '3s');
    await until(async () => {
      const [{ n }] = await db.sql<[{ n: number }]>`select count(*)::int as n from pg_stat_activity where datname = ${db.name} and application_name = 'the_app'`;
      return n === 1;
    }, 'the call\'s own connection to close');
  } finally {
    await client.end();
  }
});

test('a raw postgres.js client with transform and types of its own: the whole life through it', async () => {
  const db = await createDatabase();
  const client = postgres(db.url, {
    onnotice: () => {},
    transform: { ...postgres.camel, undefined: null },
    // Text comes back upper-cased to the app: not to the package.
    types: { shout: { to: 25, from: [25], serialize: (x: string) => x, parse: (x: string) => x.toUpperCase() } },
  });
  try {
    assert.deepEqual([...(await client`select 'quiet'::text as some_value`)], [{ someValue: 'QUIET' }]);
    await lifecycle({ client }, db);
    assert.deepEqual([...(await client`select 1 as still_open`)], [{ stillOpen: 1 }]);
  } finally {
    await client.end();
  }
});

test('PGlite, through drizzle-orm and raw: the whole life in process, its settings as found, never closed', async () => {
  const client = new PGlite();
  try {
    await client.exec("set statement_timeout = '7s'");
    // Each life ends with drop, so the second starts on an empty database again.
    for (const connection of [{ db: pglite({ client }) }, { client }]) {
      await lifecycle(connection);
      const [row] = (await client.query<{ timeout: string; locks: number }>(
        "select current_setting('statement_timeout') as timeout, (select count(*)::int from pg_locks where locktype = 'advisory') as locks",
      )).rows;
      assert.deepEqual(row, { timeout: '7s', locks: 0 });
      assert.equal(client.closed, false);
    }
  } finally {
    await client.close();
  }
});

test('a Drizzle driver without a session (pg-proxy): status and a no-op install read through it, a change is refused with ASYNCMQ_SESSION_REQUIRED', async () => {
  const db = await createDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  // Each statement a request of its own, as an HTTP driver sends them.
  const proxy = pgProxy(async (text, params, method) => {
    const result = await pool.query({ text, values: params, ...(method === 'all' ? { rowMode: 'array' as const } : {}) });
    return { rows: result.rows };
  });
  try {
    const refused = await failure(installOrDropPostgresBackend({ db: proxy, env: {} }));
    assert.equal(refused.code, 'ASYNCMQ_SESSION_REQUIRED');
    assert.match(refused.message, /^changing the tables .* needs a session of its own, which a Drizzle PgRemoteDatabase cannot provide/);
    assert.deepEqual(await snapshot(db.sql), { tables: {}, sequences: [] });
    await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
    assert.deepEqual((await installOrDropPostgresBackend({ db: proxy, env: {} })).created, []);
    assert.equal((await inspectPostgresBackend({ db: proxy, env: {} })).ok, true);
    assert.equal((await failure(installOrDropPostgresBackend({ db: proxy, env: {}, drop: true }))).code, 'ASYNCMQ_SESSION_REQUIRED');
  } finally {
    await pool.end();
  }
});

test('options that cannot go together, unknown keys and what is not a connection: ASYNCMQ_USAGE naming the key, before anything connects', async () => {
  const db = nodePostgres.mock();
  const url = 'postgres://app@127.0.0.1:1/app';
  const cases: [unknown, RegExp, string][] = [
    [{ connectionString: url, max: 1 }, /^option "max" is a pool option: pass it under pool, as pool: \{ max: \.\.\. \}$/, 'max'],
    [{ conectionString: url }, /^option "conectionString" is not known; the options are connectionString, pool, db, client, schema, settings, env, drop, concurrentIndexes, upgrade, verifyOnly$/, 'conectionString'],
    [{ connectionString: url, db }, /^db and connectionString were both given; pass one/, 'connectionString'],
    [{ db, pool: { max: 1 } }, /^pool options are for the connection asyncmq-postgres opens from a URL/, 'pool'],
    [{ db, client: new pg.Pool() }, /^db and client were both given/, 'client'],
    [{ db: new pg.Pool() }, /^db must be a Drizzle Postgres database .*, got a BoundPool: it is a driver client; pass it as client$/, ''],
    [{ client: { query() {} } }, /^client must be a postgres\.js client, a node-postgres Pool or Client, or a PGlite database, got an object/, ''],
  ];
  for (const [options, message, setting] of cases) {
    const error = await failure(installOrDropPostgresBackend({ env: {}, ...(options as object) }));
    assert.equal(error.code, 'ASYNCMQ_USAGE', String(options));
    assert.match(error.message, message);
    if (setting) assert.equal(error.setting, setting);
  }
  const status = await failure(inspectPostgresBackend({ env: {}, connectionString: url, drop: true } as never));
  assert.match(status.message, /^option "drop" is not known; the options are .*, role$/);
});

interface Outcome {
  code?: string;
  message?: string;
  poolAnswers?: boolean;
}

/** The fixture in a child process, where a crash would show as its exit code; killed after HANG_MS. */
function runFixture(args: string[]): { done: Promise<{ code: number | null; outcome: Outcome; stderr: string }> } {
  const script = fileURLToPath(new URL('./fixtures/app-connection.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d));
  child.stderr.on('data', (d: Buffer) => void (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
  const done = new Promise<{ code: number | null; outcome: Outcome; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, outcome: stdout ? (JSON.parse(stdout) as Outcome) : {}, stderr });
    }),
  );
  return { done };
}

for (const kind of ['pool', 'client'] as const) {
  test(`a backend terminated while install waits for the lock on the app's node-postgres ${kind}: ASYNCMQ_CONNECTION_FAILED, nothing created, the process lives`, async () => {
    const db = await createDatabase();
    const holder = await db.sql.reserve();
    try {
      await holder`begin`;
      await holder.unsafe(`select pg_advisory_xact_lock(${lockKey('public')})`);
      const run = runFixture([kind, db.url]);
      let pid: number | undefined;
      await until(async () => {
        const [row] = await db.sql<{ pid: number }[]>`
          select pid from pg_stat_activity
          where datname = ${db.name} and application_name = 'the_app' and wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock%'`;
        pid = row?.pid;
        return pid !== undefined;
      }, 'the install to wait for the lock');
      await db.sql`select pg_terminate_backend(${pid!})`;
      const { code, outcome, stderr } = await run.done;
      assert.equal(code, 0, stderr);
      assert.equal(stderr, '');
      assert.equal(outcome.code, 'ASYNCMQ_CONNECTION_FAILED', outcome.message);
      assert.match(outcome.message!, /^lost the connection to 127\.0\.0\.1:\d+\/\w+ while waiting for the install lock of namespace public/);
      if (kind === 'pool') assert.equal(outcome.poolAnswers, true, 'the app\'s pool still answers');
    } finally {
      await holder`rollback`;
      holder.release();
    }
    assert.deepEqual(await snapshot(db.sql), { tables: {}, sequences: [] });
  });
}

test('the error names the app\'s connection as its driver reads it, and never its password', async () => {
  const pool = new pg.Pool({ connectionString: 'postgres://app:pool-secret-1@127.0.0.1:1/appdb', connectionTimeoutMillis: 2000 });
  try {
    const error = await failure(installOrDropPostgresBackend({ db: nodePostgres({ client: pool }), env: {} }));
    assert.ok(error instanceof AsyncmqPostgresError);
    assert.equal(error.code, 'ASYNCMQ_CONNECTION_FAILED');
    assert.match(error.message, /^could not connect to 127\.0\.0\.1:1\/appdb as user app \(ECONNREFUSED/);
    assert.doesNotMatch(JSON.stringify({ message: error.message, cause: String(error.cause) }), /pool-secret-1/);
  } finally {
    await pool.end();
  }
});
