/**
 * Faults that must neither kill the host process nor hang it, injected into a real server: a
 * backend terminated in each phase of install and drop (waiting for the lock, during DDL,
 * during a concurrent index build, during drop), a connection reset, a peer that accepts TCP
 * and closes it, hosts that are all down. The code under test runs in a child process where a
 * crash would show as its exit code and stderr.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ReservedSql } from 'postgres';
import { AsyncmqPostgresError, installOrDropPostgresBackend, inspectPostgresBackend } from '../src/index.js';
import { lockKey } from '../src/operations/locking.js';
import { createDatabase, postgresJsMajor, type TestDatabase } from './support/db.js';
import { snapshot } from './support/snapshot.js';
import { failure as refused } from './support/failure.js';
import { HANG_MS } from './support/patience.js';
import { waitFor } from './support/wait.js';

const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI in a child process; killed if it has not finished within HANG_MS. */
function cli(args: string[], env: Record<string, string>): { done: Promise<Finished>; exited: () => boolean } {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.on('data', (d: Buffer) => void (stdout += d));
  child.stderr.on('data', (d: Buffer) => void (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
  const done = new Promise<Finished>((resolve) =>
    child.on('close', (code) => {
      exited = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { done, exited: () => exited };
}


/** The installer's backend in `db`, once it waits for a lock in a statement matching `query`. */
function waitingInstaller(db: TestDatabase, query: RegExp, gaveUp?: () => boolean): Promise<number> {
  return waitFor(
    `the installer to wait in ${query}`,
    async () => {
      const rows = await db.sql<{ pid: number; query: string }[]>`
        select pid, query from pg_stat_activity
        where datname = ${db.name} and application_name = 'asyncmq-postgres' and wait_event_type = 'Lock'`;
      return rows.find((r) => query.test(r.query))?.pid;
    },
    gaveUp,
  );
}

async function terminate(db: TestDatabase, pid: number): Promise<void> {
  const [{ done }] = await db.sql<[{ done: boolean }]>`select pg_terminate_backend(${pid}) as done`;
  assert.equal(done, true);
}

/** No session of the package is left on `db` (a terminated backend takes a moment to go). */
async function noInstallerLeft(db: TestDatabase): Promise<void> {
  await waitFor('the installer sessions to end', async () => {
    const [{ n }] = await db.sql<[{ n: number }]>`
      select count(*)::int as n from pg_stat_activity where datname = ${db.name} and application_name = 'asyncmq-postgres'`;
    return n === 0 ? true : undefined;
  });
}

function assertLost(run: Finished, step: RegExp): void {
  assert.equal(run.code, 3, `exit code; stderr:\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /TypeError|Cannot read properties/);
  assert.match(run.stderr, /^asyncmq-postgres: lost the connection to 127\.0\.0\.1:\d+\/\w+ while .*\[ASYNCMQ_CONNECTION_FAILED\]\n$/);
  assert.match(run.stderr, step);
}

/** A session holding a lock (or an open write) until `release` is called. */
async function holding(db: TestDatabase, statements: string[]): Promise<{ session: ReservedSql; release: (finish?: 'commit' | 'rollback') => Promise<void> }> {
  const session = await db.sql.reserve();
  await session`begin`;
  for (const statement of statements) await session.unsafe(statement);
  return {
    session,
    release: async (finish = 'rollback') => {
      await session.unsafe(finish);
      session.release();
    },
  };
}

test('a backend terminated while install waits for the lock: exit 3, ASYNCMQ_CONNECTION_FAILED, nothing created', async () => {
  const db = await createDatabase();
  const before = await snapshot(db.sql);
  const lock = await holding(db, [`select pg_advisory_xact_lock(${lockKey('public')})`]);
  try {
    const install = cli(['install'], { ASYNCMQ_POSTGRES_BACKEND_URL: db.url });
    await terminate(db, await waitingInstaller(db, /pg_advisory_xact_lock/, install.exited));
    assertLost(await install.done, /while waiting for the install lock of namespace public/);
  } finally {
    await lock.release();
  }
  assert.deepEqual(await snapshot(db.sql), before);
  await noInstallerLeft(db);
});

test('a backend terminated during the DDL: exit 3, and what the transaction created before is rolled back', async () => {
  const db = await createDatabase();
  const before = await snapshot(db.sql);
  // The last CREATE TABLE of the install stops at its end until the test lets it go; every
  // other table and index is created by then, in the same transaction.
  await db.sql.unsafe(`
    create function test_hold_ddl() returns event_trigger language plpgsql as $$
    begin
      if exists (select 1 from pg_event_trigger_ddl_commands() where object_identity = 'public.asyncmq_cancelled_jobs') then
        perform pg_advisory_lock(4711);
        perform pg_advisory_unlock(4711);
      end if;
    end $$;
    create event trigger test_hold_ddl on ddl_command_end when tag in ('CREATE TABLE') execute function test_hold_ddl()`);
  const gate = await db.sql.reserve();
  await gate`select pg_advisory_lock(4711)`;
  try {
    const install = cli(['install'], { ASYNCMQ_POSTGRES_BACKEND_URL: db.url });
    await terminate(db, await waitingInstaller(db, /^CREATE TABLE "public"\."asyncmq_cancelled_jobs"/, install.exited));
    assertLost(await install.done, /while creating table public\.asyncmq_cancelled_jobs/);
  } finally {
    await gate`select pg_advisory_unlock(4711)`;
    gate.release();
  }
  await db.sql.unsafe('drop event trigger test_hold_ddl; drop function test_hold_ddl()');
  assert.deepEqual(await snapshot(db.sql), before);
  await noInstallerLeft(db);
  const again = await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  assert.equal(again.created.length, 6, 'a later install creates everything');
});

test('a backend terminated during a concurrent index build: exit 3, rows kept, and the next build completes', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  const complete = await snapshot(db.sql);
  await db.sql.unsafe(`drop index idx_asyncmq_jobs_status;
    insert into asyncmq_jobs (queue_name, job_id, data, status) select 'q', 'j' || g, '{}', 'waiting' from generate_series(1, 1000) g`);
  const before = await snapshot(db.sql);
  // A concurrent build waits for every transaction that wrote to the table to end.
  const writer = await holding(db, [`insert into asyncmq_jobs (queue_name, job_id, data) values ('q', 'open', '{}')`]);
  try {
    const install = cli(['install', '--concurrently'], { ASYNCMQ_POSTGRES_BACKEND_URL: db.url });
    await terminate(db, await waitingInstaller(db, /^CREATE INDEX CONCURRENTLY/, install.exited));
    assertLost(await install.done, /while running CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_asyncmq_jobs_status"/);
  } finally {
    await writer.release('commit');
  }
  // What Postgres leaves of a build cut short: an INVALID index, nothing else changed.
  const after = await snapshot(db.sql);
  const leftover = 'CREATE INDEX idx_asyncmq_jobs_status ON public.asyncmq_jobs USING btree (status) INVALID';
  const jobs = after.tables.asyncmq_jobs!;
  assert.deepEqual({ ...after, tables: { ...after.tables, asyncmq_jobs: { ...jobs, indexes: jobs.indexes.filter((i) => i !== leftover) } } }, before);
  assert.equal((await db.sql`select count(*)::int as n from asyncmq_jobs`)[0]!.n, 1001);
  await noInstallerLeft(db);
  // The build lock went with the session: the next build is not left to a ghost.
  const again = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, concurrentIndexes: true });
  assert.deepEqual([again.created, again.pendingIndexes], [['index public.idx_asyncmq_jobs_status'], []]);
  assert.deepEqual(await snapshot(db.sql), complete);
});

test('a backend terminated during drop: exit 3, every table kept with its rows', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data) values ('q', 'kept', '{}')`;
  const before = await snapshot(db.sql);
  // The last table drop waits; the two drops before it are done by then, in the same transaction.
  const reader = await holding(db, ['lock table asyncmq_cancelled_jobs in access share mode']);
  try {
    const drop = cli(['drop', '--yes'], { ASYNCMQ_POSTGRES_BACKEND_URL: db.url });
    await terminate(db, await waitingInstaller(db, /^DROP TABLE IF EXISTS "public"\."asyncmq_cancelled_jobs"/, drop.exited));
    assertLost(await drop.done, /while dropping table public\.asyncmq_cancelled_jobs/);
  } finally {
    await reader.release();
  }
  assert.deepEqual(await snapshot(db.sql), before);
  assert.equal((await db.sql`select count(*)::int as n from asyncmq_jobs`)[0]!.n, 1);
  await noInstallerLeft(db);
});

/**
 * A TCP proxy to the test server that can reset its client connections (RST), as a failover
 * or a dropped network path does; pg_terminate_backend closes them in order instead.
 */
async function resettingProxy(target: URL): Promise<{ url: (database: string) => string; reset: () => void; close: () => Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    const upstream = new Socket().connect(Number(target.port || 5432), target.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream).pipe(client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: (database) => Object.assign(new URL(target), { host: `127.0.0.1:${port}`, pathname: `/${database}` }).toString(),
    reset: () => {
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

test('a connection reset (RST) while install waits for the lock: exit 3, ASYNCMQ_CONNECTION_FAILED, nothing created', async () => {
  const db = await createDatabase();
  const before = await snapshot(db.sql);
  const proxy = await resettingProxy(new URL(db.url));
  const lock = await holding(db, [`select pg_advisory_xact_lock(${lockKey('public')})`]);
  try {
    const install = cli(['install'], { ASYNCMQ_POSTGRES_BACKEND_URL: proxy.url(db.name) });
    await waitingInstaller(db, /pg_advisory_xact_lock/, install.exited);
    proxy.reset();
    const run = await install.done;
    assert.equal(run.code, 3, run.stderr);
    assert.doesNotMatch(run.stderr, /TypeError|Cannot read properties/);
    assert.match(run.stderr, /lost the connection to 127\.0\.0\.1:\d+\/\w+ while waiting for the install lock .*\(ECONNRESET\) \[ASYNCMQ_CONNECTION_FAILED\]/);
  } finally {
    await lock.release();
    await proxy.close();
  }
  assert.deepEqual(await snapshot(db.sql), before);
  await noInstallerLeft(db);
});

test('in process: the call rejects with ASYNCMQ_CONNECTION_FAILED, and the process carries on', async () => {
  const db = await createDatabase();
  const lock = await holding(db, [`select pg_advisory_xact_lock(${lockKey('public')})`]);
  let settled = false;
  // The outcome is taken at once, so the rejection is handled whenever it comes.
  const install = installOrDropPostgresBackend({ connectionString: db.url, env: {} })
    .finally(() => void (settled = true))
    .then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
  try {
    await terminate(db, await waitingInstaller(db, /pg_advisory_xact_lock/, () => settled));
    const error = await install;
    assert.ok(error instanceof AsyncmqPostgresError);
    assert.equal(error.code, 'ASYNCMQ_CONNECTION_FAILED');
    assert.match(error.message, /lost the connection .* while waiting for the install lock/);
  } finally {
    await lock.release();
  }
  // Still here a while later, where the crash came from a setImmediate after the rejection.
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual((await snapshot(db.sql)).tables, {});
  await noInstallerLeft(db);
  assert.equal((await installOrDropPostgresBackend({ connectionString: db.url, env: {} })).created.length, 6);
});

/**
 * A peer that accepts TCP and closes it at once: a load balancer with no healthy backend. It
 * reads the startup message before it closes, so the client sees an orderly close (postgres.js
 * then tries again) rather than a reset (which fails the first attempt at once).
 */
async function acceptAndClose(): Promise<{ server: Server; port: number; accepted: () => number; open: () => number }> {
  let accepted = 0;
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    accepted++;
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () => socket.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, accepted: () => accepted, open: () => open.size };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * What keeps this process alive: the handle objects (sockets), and the number of timers. Other
 * tests' pools may close an idle socket meanwhile, so what a call leaves behind is what is new.
 */
function resources(): { handles: Set<unknown>; timers: number } {
  const handles = new Set((process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles());
  return { handles, timers: process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length };
}

/** Nothing of the call is left: no socket it opened, no timer it started. */
function assertNothingLeft(held: ReturnType<typeof resources>, message?: string): void {
  const now = resources();
  const added = [...now.handles].filter((h) => !held.handles.has(h)).map((h) => (h as object).constructor.name);
  assert.deepEqual(added, [], message);
  assert.ok(now.timers <= held.timers, `${message ?? 'timers'}: ${now.timers} timers, ${held.timers} before`);
}


test('a peer that accepts and closes: install and status stop at the connect timeout, and leave no socket or timer', async () => {
  const peer = await acceptAndClose();
  try {
    for (const call of [installOrDropPostgresBackend, inspectPostgresBackend]) {
      const held = resources();
      const error = await refused(call({ connectionString: `postgres://app:long-secret-1@127.0.0.1:${peer.port}/app`, env: {}, pool: { timeout: 1 } }));
      assert.equal(error.code, 'ASYNCMQ_CONNECTION_FAILED');
      assert.match(error.message, new RegExp(`^could not connect to 127\\.0\\.0\\.1:${peer.port}/app as user app \\(CONNECT_TIMEOUT: no connection within 1 s \\(connect_timeout\\) after \\d+ attempts; the last one was closed by the server`));
      assert.ok(!error.message.includes('long-secret-1'));
      assert.ok(peer.accepted() > 1, 'it did retry');
      const accepted = peer.accepted();
      assertNothingLeft(held, 'nothing of the call is left: no socket, no reconnect timer');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(peer.accepted(), accepted, 'no connection after the call returned');
      assert.equal(peer.open(), 0);
    }
  } finally {
    await new Promise((r) => peer.server.close(r));
  }
});

test('a multi-host URL whose hosts are all down: ASYNCMQ_CONNECTION_FAILED at the connect timeout, nothing left', async () => {
  const [a, b] = [await closedPort(), await closedPort()];
  for (const call of [installOrDropPostgresBackend, inspectPostgresBackend]) {
    const held = resources();
    const error = await refused(call({ connectionString: `postgres://app:long-secret-1@127.0.0.1:${a},127.0.0.1:${b}/app`, env: {}, pool: { connect_timeout: 1 } }));
    assert.equal(error.code, 'ASYNCMQ_CONNECTION_FAILED');
    // postgres.js 3 tries the hosts again and again (the session stops it at the connect
    // timeout); postgres.js 4 gives up once every host has refused.
    assert.match(
      error.message,
      postgresJsMajor === 3
        ? /^could not connect to 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/app as user app \(CONNECT_TIMEOUT: .* the last one failed with ECONNREFUSED\)$/
        : /^could not connect to 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/app as user app \(ECONNREFUSED: .*\)$/,
    );
    assert.doesNotMatch(error.message, /long-secret-1/);
    assertNothingLeft(held);
  }
});

test('a multi-host URL whose first host is down: the session connects to the next one', async () => {
  const db = await createDatabase();
  const server = new URL(db.url);
  const url = db.url.replace(server.host, `127.0.0.1:${await closedPort()},${server.host}`);
  const report = await installOrDropPostgresBackend({ connectionString: url, env: {}, pool: { connect_timeout: 5 } });
  assert.equal(report.created.length, 6);
});

test('the CLI against a peer that accepts and closes: exit 3 on its own, naming the target', async () => {
  const peer = await acceptAndClose();
  try {
    const status = cli(['status'], {
      ASYNCMQ_POSTGRES_BACKEND_URL: `postgres://app:long-secret-1@127.0.0.1:${peer.port}/app`,
      ASYNCMQ_POSTGRES_POOL_OPTIONS: '{"timeout": 1}',
    });
    const run = await status.done;
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, new RegExp(`could not connect to 127\\.0\\.0\\.1:${peer.port}/app as user app \\(CONNECT_TIMEOUT.*\\[ASYNCMQ_CONNECTION_FAILED\\]`));
  } finally {
    await new Promise((r) => peer.server.close(r));
  }
});
