/**
 * Taking a table's ACCESS EXCLUSIVE lock on a live queue without stalling its writers.
 *
 * A lock request that waits (behind any transaction that so much as read the table, an idle
 * one included) makes every later request on the table queue behind it: AsyncMQ's writers
 * would stand still for as long as the request waits. So the request is made in tries, each
 * with a `lock_timeout` of at most SWAP_TRY_MS inside a savepoint; a try that cannot have the
 * lock is rolled back to the savepoint, which lets the queued writers through, and the next
 * comes after a pause, until the budget (the configured lock timeout) is spent. The caller's
 * transaction, and with it the namespace's install lock, is kept throughout, so one session
 * at a time tries.
 */
import type { Queryable, Step } from '../../connection/drivers/index.js';
import { readTexts } from '../../connection/drivers/index.js';
import { AsyncmqPostgresError } from '../../errors.js';
import { qualifiedName } from '../../schema/ddl.js';

/** The longest a writer may queue behind one try. */
export const SWAP_TRY_MS = 200;
const FIRST_PAUSE_MS = 50;
const LONGEST_PAUSE_MS = 1000;
const SAVEPOINT = 'asyncmq_postgres_lock_try';

const isLockTimeout = (error: unknown) => (error as { code?: unknown } | null)?.code === '55P03';

/**
 * Takes `tables`' ACCESS EXCLUSIVE lock in the open transaction `tx`, in tries; fails with
 * ASYNCMQ_LOCK_TIMEOUT, naming the sessions that hold locks on them, once `budgetMs` (0: no
 * limit) is spent; the caller's transaction is then rolled back with the error.
 */
export async function lockTablesInTries(
  tx: Queryable,
  run: Step,
  options: { namespace: string; tables: readonly string[]; budgetMs: number; purpose: string },
): Promise<void> {
  const names = options.tables.map((t) => qualifiedName(options.namespace, t));
  const lock = `LOCK TABLE ${names.join(', ')} IN ACCESS EXCLUSIVE MODE`;
  const started = Date.now();
  const deadline = options.budgetMs > 0 ? started + options.budgetMs : Infinity;
  for (let attempt = 1, pause = FIRST_PAUSE_MS; ; attempt++, pause = Math.min(pause * 2, LONGEST_PAUSE_MS)) {
    const wait = Math.max(1, Math.min(SWAP_TRY_MS, Math.floor(deadline - Date.now())));
    await tx.unsafe(`SAVEPOINT ${SAVEPOINT}`);
    // Rolled back with the savepoint when the try fails; kept for the rest of the transaction
    // when it succeeds, where nothing else should wait.
    await tx.unsafe(`SELECT pg_catalog.set_config('lock_timeout', '${wait}ms', true)`);
    try {
      await run(`${options.purpose}: taking the ACCESS EXCLUSIVE lock of ${names.join(', ')} (try ${attempt}, waiting at most ${wait} ms)`, () =>
        tx.unsafe(lock),
      );
      await tx.unsafe(`RELEASE SAVEPOINT ${SAVEPOINT}`);
      return;
    } catch (error) {
      if (!isLockTimeout(error)) throw error;
    }
    await tx.unsafe(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
    await tx.unsafe(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    if (Date.now() + pause >= deadline) {
      const holders = await lockHolders(tx, names).catch(() => [] as string[]);
      throw new AsyncmqPostgresError(
        'ASYNCMQ_LOCK_TIMEOUT',
        `timed out after ${options.budgetMs} ms (postgresLockTimeout) ${options.purpose}: it needs the ACCESS EXCLUSIVE lock of ` +
          `${names.join(', ')} for a moment, and ${attempt} tries of at most ${SWAP_TRY_MS} ms each, writers going on between them, ` +
          `found it held${holders.length ? ` (${holders.join('; ')})` : ''}; the swap was rolled back, the old key kept. A transaction ` +
          'keeps its locks until it ends, an idle one included: run the upgrade again once those have ended',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/**
 * Who holds locks on the tables, as `pid 123 holds AccessShareLock, idle in transaction`, best
 * effort: those whose transaction began before this one (now()), so held them through every
 * try, not the writers that came and went between tries (a session of another role, whose
 * activity this role cannot see, is listed too).
 */
async function lockHolders(tx: Queryable, names: readonly string[]): Promise<string[]> {
  const rows = await readTexts(
    tx,
    `select pg_catalog.concat('pid ', l.pid, ' holds ', l.mode, case when a.state is null then '' else pg_catalog.concat(', ', a.state) end)
       from pg_catalog.pg_locks l left join pg_catalog.pg_stat_activity a on a.pid OPERATOR(pg_catalog.=) l.pid
      where l.locktype OPERATOR(pg_catalog.=) 'relation' and l.granted and l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
        and (a.xact_start is null or a.xact_start OPERATOR(pg_catalog.<=) pg_catalog.now())
        and l.relation OPERATOR(pg_catalog.=) any (pg_catalog.string_to_array($1::pg_catalog.text, ',')::pg_catalog.regclass[]::pg_catalog.oid[])
      order by l.pid`,
    [names.join(',')],
  );
  return [...new Set(rows)];
}
