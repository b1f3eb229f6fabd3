/**
 * The call's session as install, drop and upgrade steps use it: the concurrent index build
 * session under a role's own timeouts (common on managed Postgres), which it lifts for its
 * builds and restores after, so a build is never cancelled into an INVALID index that every
 * rerun would leave again; and the locked transaction, which does not nest.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import { readJson } from '../src/connection/drivers/index.js';
import { withBuildSession } from '../src/operations/index-builds.js';
import { beginLocked } from '../src/operations/locking.js';
import { installOrDropPostgresBackend } from '../src/index.js';
import { withPool } from '../src/connection/call.js';
import { resolveBackend } from '../src/schema/backend.js';
import { lockKey } from '../src/operations/locking.js';
import { resolveBackendConnection } from '../src/operations/options.js';
import { createDatabase, type TestDatabase } from './support/db.js';
import { createRole, type Role } from './support/roles.js';
import { snapshot } from './support/snapshot.js';
import { waitFor } from './support/wait.js';

const DEQUEUE = 'CREATE INDEX idx_asyncmq_jobs_dequeue ON public.asyncmq_jobs USING btree (queue_name, status, created_at)';

/** A role that owns the installed tables, with timeouts of its own for every later session. */
async function roleWithTimeouts(db: TestDatabase, timeouts: { statement: string; lock: string }): Promise<Role> {
  const role = await createRole();
  await db.sql.unsafe(`grant create on schema public to ${role.name}`);
  await installOrDropPostgresBackend({ connectionString: role.url(db.name), env: {} });
  await db.sql.unsafe(`alter role ${role.name} set statement_timeout = '${timeouts.statement}'`);
  await db.sql.unsafe(`alter role ${role.name} set lock_timeout = '${timeouts.lock}'`);
  return role;
}


test('install --concurrently as a role with statement_timeout and lock_timeout: the build outlasts both, valid', async () => {
  const db = await createDatabase();
  const role = await roleWithTimeouts(db, { statement: '400ms', lock: '400ms' });
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data, status)
    select 'q' || (g % 8), 'j' || g, '{}', 'waiting' from generate_series(1, 50000) g`;
  // A concurrent build waits for every transaction that wrote to the table; this one stays
  // open until the build has waited longer than both of the role's timeouts.
  const writer = await db.sql.reserve();
  await writer`begin`;
  await writer`insert into asyncmq_jobs (queue_name, job_id, data) values ('q', 'open', '{}')`;
  try {
    // The role's own build is cancelled there, leaving an INVALID index (dropped at the end).
    const direct = postgres(role.url(db.name), { max: 1, onnotice: () => {} });
    const cancelled = await direct.unsafe('create index concurrently probe on asyncmq_jobs (delay_until, status)').then(
      () => assert.fail('the role\'s timeouts did not apply'),
      (e: { code?: string }) => e.code,
    );
    await direct.end();
    assert.ok(cancelled === '57014' || cancelled === '55P03', `cancelled by a timeout, got ${cancelled}`);

    let settled = false;
    const install = installOrDropPostgresBackend({
      connectionString: role.url(db.name),
      env: {},
      settings: { postgresIndexes: 'queue' },
      concurrentIndexes: true,
    }).finally(() => void (settled = true));
    await waitFor(
      'the build to wait past the role\'s timeouts',
      async () => {
        const [row] = await db.sql`
          select 1 from pg_stat_activity
          where usename = ${role.name} and query like 'CREATE INDEX CONCURRENTLY%' and wait_event_type = 'Lock'
            and now() - query_start > interval '1200 ms'`;
        return row;
      },
      () => settled,
    );
    await writer`commit`;
    const report = await install;
    assert.deepEqual([report.created, report.pendingIndexes], [['index public.idx_asyncmq_jobs_dequeue'], []]);
  } finally {
    await writer`rollback`.catch(() => {});
    writer.release();
  }
  const indexes = (await snapshot(db.sql)).tables.asyncmq_jobs!.indexes;
  assert.ok(indexes.includes(DEQUEUE), `valid, not INVALID: ${indexes.join('; ')}`);
  assert.ok(indexes.some((i) => i.startsWith('CREATE INDEX probe') && i.endsWith('INVALID')), 'the role\'s own build was left INVALID');
});

test('a build session lifts the role\'s timeouts for its body only, and leaves them alone when another session builds', async () => {
  const db = await createDatabase();
  const role = await roleWithTimeouts(db, { statement: '4s', lock: '3s' });
  const backend = resolveBackend({ env: {} });
  const connection = await resolveBackendConnection({ connectionString: role.url(db.name), env: {} }, backend.settings);
  const seen = await withPool({ kind: 'url', connection }, backend, async (sql, run) => {
    const show = () =>
      readJson<{ statement: string; lock: string }>(
        sql,
        "select json_build_object('statement', current_setting('statement_timeout'), 'lock', current_setting('lock_timeout'))::text",
      );
    const before = await show();
    const inside = await withBuildSession(sql, run, 'public', show);
    const after = await show();
    const other = await db.sql.reserve();
    try {
      await other`select pg_advisory_lock(${lockKey('public', 'index-build')}::bigint)`;
      const elsewhere = await withBuildSession(sql, run, 'public', show);
      return { before, inside, after, elsewhere, untouched: await show() };
    } finally {
      await other`select pg_advisory_unlock_all()`;
      other.release();
    }
  });
  assert.deepEqual(seen, {
    before: { statement: '4s', lock: '3s' },
    inside: { locked: true, value: { statement: '0', lock: '0' } },
    after: { statement: '4s', lock: '3s' },
    elsewhere: { locked: false },
    untouched: { statement: '4s', lock: '3s' },
  });
});

test('a locked transaction does not nest: the inner one is refused and the outer rolled back', async () => {
  const db = await createDatabase();
  const backend = resolveBackend({ env: {} });
  const connection = await resolveBackendConnection({ connectionString: db.url, env: {} }, backend.settings);
  const outcome = await withPool({ kind: 'url', connection }, backend, (sql, run) =>
    beginLocked(sql, 1000, run, 'public', async (tx) => {
      await tx.unsafe('create table made_outside (id int)');
      // A second BEGIN would only warn, and its COMMIT would commit the outer transaction.
      return beginLocked(sql, 1000, run, 'public', async () => 'nested');
    }),
  ).then(
    () => 'resolved',
    (e: Error) => e.message,
  );
  assert.match(outcome, /a transaction is already open on this session/);
  assert.deepEqual((await snapshot(db.sql)).tables, {});
});
