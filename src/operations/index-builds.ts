/**
 * Indexes missing from tables that already hold the queue's rows, built with
 * `CREATE INDEX CONCURRENTLY` outside any transaction, so the queue's writers never wait.
 */
import { compareCatalog, missingIndexes, readCatalog, type MissingIndex } from '../catalog/compare.js';
import { inNamespace, planConcurrentIndex, type TableShape } from '../schema/ddl.js';
import { readJson, type Link, type Queryable, type Session } from '../connection/drivers/index.js';
import type { Step } from '../connection/call.js';
import { lockKey } from './locking.js';
import { EQ, oneOf, op } from '../schema/sql-text.js';
import type { PoisonCheck } from '../catalog/poison.js';
import { buildUnlessPoisoned } from './poison-guard.js';

export interface PendingIndex {
  table: string;
  name: string;
  /** The statements that build it without blocking writers; run each outside a transaction. */
  sql: string[];
  /**
   * `not-requested`: install builds no index on an existing table unless `concurrentIndexes` is
   * set. `building-elsewhere`: it was, but another session was still building indexes there when
   * this call's wait for it (the lock timeout) ended.
   * `table-busy`: an INVALID leftover is in the way, and another session holds the table's
   * SHARE UPDATE EXCLUSIVE lock, so the leftover may be someone's build in progress.
   * `poison-jobs`: the index holds one of AsyncMQ's casts, and rows of the table hold text that
   * cast cannot read, so its build would fail (see `poison`); nothing was built or left behind.
   */
  reason: 'not-requested' | 'building-elsewhere' | 'table-busy' | 'poison-jobs';
  /** For `poison-jobs`: the rows in the way, per queue, with the statements that fix or remove them. */
  poison?: PoisonCheck;
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
 *
 * `max_parallel_maintenance_workers` goes to 0 with them: the build runs in this session's
 * process alone, instead of taking more cores for parallel workers from the queue's writers it
 * runs beside (on 2 cores, the writers kept 0.69× and 0.38× of their throughput during an
 * upgrade's build with a parallel worker). It takes longer, which only other DDL waits for.
 */
const LIFTED = ['statement_timeout', 'lock_timeout', 'transaction_timeout', 'max_parallel_maintenance_workers'];
const LIFTED_NAMES = oneOf('name', LIFTED, 'text');
// The values in force, to restore afterwards: on the app's own connection they may be the
// app's SET, not the role's (what RESET would restore), and the session is left as found.
const SAVE_SQL = `SELECT coalesce(pg_catalog.json_object_agg(name, pg_catalog.current_setting(name)), '{}'::pg_catalog.json)::pg_catalog.text
  FROM pg_catalog.pg_settings WHERE ${LIFTED_NAMES}`;
const LIFT_SQL = `SELECT pg_catalog.count(pg_catalog.set_config(name, '0', false))::pg_catalog.text FROM pg_catalog.pg_settings WHERE ${LIFTED_NAMES}`;
const RESTORE_SQL =
  'SELECT pg_catalog.count(pg_catalog.set_config(key, value, false))::pg_catalog.text FROM pg_catalog.json_each_text($1::pg_catalog.text::pg_catalog.json)';

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
  return withBuildLock(sql, run, namespace, (session) => withLiftedTimeouts(session, run, () => body(session)));
}

/**
 * Runs `body` holding the namespace's index build lock (see withBuildSession), on the call's
 * session, if it can be taken at once; the session's timeouts are left as they are, so that
 * `body` may run transactions between its builds and lift them only around each build
 * (withLiftedTimeouts). The lock is released afterwards, and on a failure while the
 * connection can still take it.
 */
export async function withBuildLock<T>(sql: Link, run: Step, namespace: string, body: (session: Session) => Promise<T>): Promise<BuildSession<T>> {
  const session = await sql.session(`building indexes concurrently (CREATE INDEX CONCURRENTLY under a session-level lock in namespace ${namespace})`);
  const key = lockKey(namespace, 'index-build');
  const locked = await run(`taking the index build lock of namespace ${namespace}`, () =>
    readJson<boolean>(session, 'SELECT pg_catalog.pg_try_advisory_lock($1::bigint)::pg_catalog.text', [key]),
  );
  if (!locked) return { locked: false };
  const unlock = () => session.unsafe('SELECT pg_catalog.pg_advisory_unlock($1::bigint)::pg_catalog.text', [key]);
  let value: T;
  try {
    value = await body(session);
  } catch (error) {
    // Best effort: the error that got us here is the one to report.
    if (session.canSendAfter(error)) await unlock().catch(() => {});
    throw error;
  }
  await run(`releasing the index build lock of namespace ${namespace}`, unlock);
  return { locked: true, value };
}

/** Runs `body` with the session's statement, lock and transaction timeouts lifted (see LIFTED), then restores them. */
export async function withLiftedTimeouts<T>(session: Session, run: Step, body: () => Promise<T>): Promise<T> {
  let saved: string | undefined;
  const restore = async () => {
    if (saved !== undefined) await session.unsafe(RESTORE_SQL, [saved]);
  };
  let value: T;
  try {
    await run('lifting the session\'s statement and lock timeouts for the index builds', async () => {
      saved = (await session.unsafe(SAVE_SQL))[0]?.[0] as string;
      await session.unsafe(LIFT_SQL);
    });
    value = await body();
  } catch (error) {
    // Best effort: the error that got us here is the one to report.
    if (session.canSendAfter(error)) await restore().catch(() => {});
    throw error;
  }
  await run('restoring the session\'s timeouts after the index builds', restore);
  return value;
}

/**
 * What waiting for the build lock came to: `ran` (this session held it and ran the body),
 * `not-needed` (another session did the work meanwhile), `busy` (another session still holds
 * it at the end of the budget).
 */
export type AwaitedBuild<T> = { state: 'ran'; value: T } | { state: 'not-needed' } | { state: 'busy' };

/**
 * Runs `body` under the namespace's build lock (withBuildLock), waiting for a session that
 * holds it, at most `budgetMs` (0: no limit), as long as `needed` says the work is still to
 * do: a concurrent caller whose work another session finishes meanwhile stops waiting and
 * says so, instead of leaving with the work "left to" the other.
 *
 * The wait polls with pg_try_advisory_lock() between pauses, never pg_advisory_lock(): a
 * session waiting inside that holds a snapshot, and the holder's CREATE INDEX CONCURRENTLY
 * waits for every such snapshot to end, a deadlock.
 */
export async function awaitBuildLock<T>(
  sql: Link,
  run: Step,
  namespace: string,
  options: { budgetMs: number; needed: () => Promise<boolean> },
  body: (session: Session) => Promise<T>,
): Promise<AwaitedBuild<T>> {
  const deadline = options.budgetMs > 0 ? Date.now() + options.budgetMs : Infinity;
  for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
    if (!(await options.needed())) return { state: 'not-needed' };
    const outcome = await withBuildLock(sql, run, namespace, body);
    if (outcome.locked) return { state: 'ran', value: outcome.value };
    if (Date.now() + pause > deadline) return (await options.needed()) ? { state: 'busy' } : { state: 'not-needed' };
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/**
 * Builds the missing indexes of existing tables with CREATE INDEX CONCURRENTLY, in a build
 * session (withBuildSession). Another session building in the namespace is waited for, at most
 * `budgetMs` (the lock timeout), since the indexes it builds may be these: when it has built
 * them meanwhile, nothing is left pending. The catalog is read again under the lock, so an
 * index another session finished is not dropped and rebuilt, and once more at the end, so that
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
  budgetMs: number,
): Promise<{ built: string[]; left: PendingIndex[] }> {
  shapes = inNamespace(shapes, namespace);
  const missingNow = async () =>
    missingIndexes(shapes, compareCatalog(shapes, await run('reading the catalog', () => readCatalog(sql, shapes, { relations: true }))));
  const needed = async () => (await missingNow()).length > 0;
  const outcome = await awaitBuildLock(sql, run, namespace, { budgetMs, needed }, (session) =>
    withLiftedTimeouts(session, run, async () => {
      const attempted: string[] = [];
      const busy: string[] = [];
      const poisoned = new Map<string, PoisonCheck>();
      for (const item of await missingNow()) {
        if (item.invalidName && (await tableBusy(session, namespace, item.shape))) {
          busy.push(item.index.name);
          continue;
        }
        const refused = await buildUnlessPoisoned(session, run, item, async () => {
          for (const statement of planConcurrentIndex(item)) {
            // Watched, not timed: a build waits for other transactions and may run for hours.
            await run(`running ${statement}`, () => session.unsafe(statement), 'long');
          }
        });
        if (refused) poisoned.set(item.index.name, refused);
        else attempted.push(item.index.name);
      }
      // Only what this session built and is there now counts as built.
      const after = await missingNow();
      const stillMissing = (name: string) => after.some((m) => m.index.name === name);
      return {
        built: attempted.filter((name) => !stillMissing(name)),
        left: after.map((m) => {
          const poison = poisoned.get(m.index.name);
          return poison ? { ...pendingIndex(m, 'poison-jobs'), poison } : pendingIndex(m, busy.includes(m.index.name) ? 'table-busy' : 'building-elsewhere');
        }),
      };
    }),
  );
  if (outcome.state === 'ran') return outcome.value;
  if (outcome.state === 'not-needed') return { built: [], left: [] };
  return { built: [], left: (await missingNow()).map((m) => pendingIndex(m, 'building-elsewhere')) };
}

async function tableBusy(sql: Queryable, namespace: string, shape: TableShape): Promise<boolean> {
  return readJson<boolean>(
    sql,
    `select exists (select from pg_catalog.pg_locks l join pg_catalog.pg_class c on c.oid ${EQ} l.relation
        join pg_catalog.pg_namespace n on n.oid ${EQ} c.relnamespace
      where l.locktype ${EQ} 'relation' and n.nspname ${EQ} $1::pg_catalog.text and c.relname ${EQ} $2::pg_catalog.text
        and l.mode ${EQ} 'ShareUpdateExclusiveLock' and l.granted and l.pid ${op('<>')} pg_catalog.pg_backend_pid())::pg_catalog.text`,
    [namespace, shape.name],
  );
}
