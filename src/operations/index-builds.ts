/**
 * Indexes missing from tables that already hold the queue's rows, built with
 * `CREATE INDEX CONCURRENTLY` outside any transaction, so the queue's writers never wait.
 */
import { compareCatalog, missingIndexes, readCatalog, type MissingIndex } from '../catalog/compare.js';
import { planConcurrentIndex, qualifiedName, type TableShape } from '../schema/ddl.js';
import { readJson, type Link, type Queryable } from '../connection/drivers/index.js';
import type { Step } from '../connection/call.js';
import { lockKey } from './locking.js';

export interface PendingIndex {
  table: string;
  name: string;
  /** The statements that build it without blocking writers; run each outside a transaction. */
  sql: string[];
  /**
   * `not-requested`: install builds no index on an existing table unless `concurrentIndexes` is
   * set. `building-elsewhere`: it was, but another session is building indexes there now.
   * `table-busy`: an INVALID leftover is in the way, and another session holds the table's
   * SHARE UPDATE EXCLUSIVE lock, so the leftover may be someone's build in progress.
   */
  reason: 'not-requested' | 'building-elsewhere' | 'table-busy';
}

export function pendingIndex(missing: MissingIndex, reason: PendingIndex['reason']): PendingIndex {
  return { table: missing.shape.name, name: missing.index.name, sql: planConcurrentIndex(missing), reason };
}

/**
 * Session settings lifted while this session builds. A role-level `statement_timeout` (common
 * on managed Postgres) would cancel a build on a large table and leave an INVALID index, on
 * every rerun alike; a role-level `lock_timeout` would cancel it while it waits for older
 * transactions to finish, which is part of every concurrent build; `transaction_timeout`
 * (Postgres 17) ends the session. The builds wait as long as Postgres needs instead. Read from
 * pg_settings, so a setting the server does not have is skipped.
 */
const LIFTED = ['statement_timeout', 'lock_timeout', 'transaction_timeout'];
const LIFTED_LIST = LIFTED.map((n) => `'${n}'`).join(', ');
// The values in force, to restore afterwards: on the app's own connection they may be the
// app's SET, not the role's (what RESET would restore), and the session is left as found.
const SAVE_SQL = `SELECT coalesce(json_object_agg(name, current_setting(name)), '{}')::text FROM pg_settings WHERE name IN (${LIFTED_LIST})`;
const LIFT_SQL = `SELECT count(set_config(name, '0', false))::text FROM pg_settings WHERE name IN (${LIFTED_LIST})`;
const RESTORE_SQL = 'SELECT count(set_config(key, value, false))::text FROM json_each_text($1::text::json)';

export type BuildSession<T> = { locked: false } | { locked: true; value: T };

/**
 * Runs `body` as the one session that builds indexes in `namespace`, on the call's session
 * (from withPool's link `sql`) and outside any transaction, as CREATE INDEX CONCURRENTLY needs.
 *
 * Two concurrent builds on one table deadlock in Postgres, so `body` runs only while this
 * session holds a session-level advisory lock for the namespace's index builds; a session
 * that cannot take it at once gets `{ locked: false }` and leaves the work to the one that
 * has it. While `body` runs, the session's statement, lock and transaction timeouts are lifted
 * (see LIFTED); afterwards they are restored to the values they had and the lock released, so
 * the session, the app's own connection included, is left as it was found. A lost connection
 * ends both with the server session, and nothing more is sent (see session.ts).
 */
export async function withBuildSession<T>(sql: Link, run: Step, namespace: string, body: (session: Queryable) => Promise<T>): Promise<BuildSession<T>> {
  const session = await sql.session(`building indexes concurrently (CREATE INDEX CONCURRENTLY under a session-level lock in namespace ${namespace})`);
  const key = lockKey(namespace, 'index-build');
  const locked = await run(`taking the index build lock of namespace ${namespace}`, () =>
    readJson<boolean>(session, 'SELECT pg_try_advisory_lock($1::bigint)::text', [key]),
  );
  if (!locked) return { locked: false };
  let saved: string | undefined;
  const release = async () => {
    try {
      if (saved !== undefined) await session.unsafe(RESTORE_SQL, [saved]);
    } finally {
      await session.unsafe('SELECT pg_advisory_unlock($1::bigint)::text', [key]);
    }
  };
  let value: T;
  try {
    await run('lifting the session\'s statement and lock timeouts for the index builds', async () => {
      saved = (await session.unsafe(SAVE_SQL))[0]?.[0] as string;
      await session.unsafe(LIFT_SQL);
    });
    value = await body(session);
  } catch (error) {
    // Best effort: the error that got us here is the one to report.
    if (session.canSendAfter(error)) await release().catch(() => {});
    throw error;
  }
  await run('restoring the session\'s timeouts and releasing the index build lock', release);
  return { locked: true, value };
}

/**
 * Builds the missing indexes of existing tables with CREATE INDEX CONCURRENTLY, in a build
 * session (withBuildSession). The catalog is read again under its lock, so an index another
 * session finished meanwhile is not dropped and rebuilt, and once more at the end, so that
 * only what is really there is reported as built.
 * An INVALID index is the leftover of an interrupted build and is dropped first, unless some
 * session holds the table's SHARE UPDATE EXCLUSIVE lock (a build outside this package, or a
 * vacuum), in which case it is left for later.
 */
export async function buildConcurrently(
  sql: Link,
  run: Step,
  shapes: readonly TableShape[],
  namespace: string,
): Promise<{ built: string[]; left: PendingIndex[] }> {
  const missingNow = async () =>
    missingIndexes(shapes, compareCatalog(shapes, await run('reading the catalog', () => readCatalog(sql, shapes, { relations: true }))));
  const outcome = await withBuildSession(sql, run, namespace, async (session) => {
    const attempted: string[] = [];
    const busy: string[] = [];
    for (const item of await missingNow()) {
      if (item.invalidName && (await tableBusy(session, item.shape))) {
        busy.push(item.index.name);
        continue;
      }
      for (const statement of planConcurrentIndex(item)) {
        // Watched, not timed: a build waits for other transactions and may run for hours.
        await run(`running ${statement}`, () => session.unsafe(statement), 'long');
      }
      attempted.push(item.index.name);
    }
    // Only what this session built and is there now counts as built.
    const after = await missingNow();
    const stillMissing = (name: string) => after.some((m) => m.index.name === name);
    return {
      built: attempted.filter((name) => !stillMissing(name)),
      left: after.map((m) => pendingIndex(m, busy.includes(m.index.name) ? 'table-busy' : 'building-elsewhere')),
    };
  });
  if (!outcome.locked) return { built: [], left: (await missingNow()).map((m) => pendingIndex(m, 'building-elsewhere')) };
  return outcome.value;
}

async function tableBusy(sql: Queryable, shape: TableShape): Promise<boolean> {
  return readJson<boolean>(
    sql,
    `select exists (select 1 from pg_locks
      where locktype = 'relation' and relation = $1::regclass
        and mode = 'ShareUpdateExclusiveLock' and granted and pid <> pg_backend_pid())::text`,
    [qualifiedName(shape.schema, shape.name)],
  );
}
