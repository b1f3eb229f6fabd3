/**
 * The transaction every install, drop and upgrade step runs in: a `lock_timeout` and an
 * `idle_in_transaction_session_timeout` for the transaction only, then the namespace's advisory
 * lock, taken on the DDL's own connection so that it also works behind PgBouncer in transaction
 * mode.
 *
 * It runs on the call's session (see drivers/): plain BEGIN / COMMIT / ROLLBACK statements on a
 * connection of the call's own or the app's node-postgres client, never postgres.js's
 * `sql.begin()`, whose own ROLLBACK after a dead connection crashes the process (see
 * session.ts), and PGlite's own transaction on PGlite. A connection that cannot give the call a
 * session of its own (a driver that runs each statement on its own) refuses with
 * ASYNCMQ_SESSION_REQUIRED before anything is changed.
 */
import type { Link, Queryable } from '../connection/drivers/index.js';
import type { Step } from '../connection/call.js';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../config/settings.js';
import { createHash } from 'node:crypto';

/** The least idle_in_transaction_session_timeout, so that a loaded client between two statements is never taken for a frozen one. */
export const MIN_IDLE_IN_TRANSACTION_MS = 2_000;

/**
 * How long the server lets the call's transaction sit idle before it ends the session (and the
 * transaction, and its locks, with it): half the lock timeout (the default's half with none),
 * at least MIN_IDLE_IN_TRANSACTION_MS. A client that stops answering (a frozen proxy or network
 * path, the socket still open) would otherwise hold the transaction's locks, an ACCESS
 * EXCLUSIVE on the jobs table during an upgrade, until TCP keepalive noticed: two hours on
 * server defaults. Half, so that another replica that started waiting for the lock as the
 * client froze still gets it within its own lock timeout, and no lock of ours outlives what
 * others are prepared to wait. The call's own statements never leave the transaction idle
 * longer than the client takes between two of them.
 */
export function idleInTransactionTimeoutMs(lockTimeoutMs: number): number {
  return Math.max(MIN_IDLE_IN_TRANSACTION_MS, Math.ceil((lockTimeoutMs > 0 ? lockTimeoutMs : DEFAULT_LOCK_TIMEOUT_MS) / 2));
}

/**
 * What opens every install or drop transaction. Rendered (the values are our own numbers) so
 * that the `sql` command prints exactly what runs.
 */
export function renderLockStatements(namespace: string, lockTimeoutMs: number): [timeout: string, idle: string, lock: string] {
  return [
    `SELECT pg_catalog.set_config('lock_timeout', '${lockTimeoutMs}ms', true)`,
    `SELECT pg_catalog.set_config('idle_in_transaction_session_timeout', '${idleInTransactionTimeoutMs(lockTimeoutMs)}ms', true)`,
    `SELECT pg_catalog.pg_advisory_xact_lock(${lockKey(namespace)})`,
  ];
}

/**
 * Runs `body` in a transaction on the call's session (from withPool) that holds the namespace's
 * advisory lock; `tx` runs its statements in that transaction. Commits when `body` resolves,
 * rolls back when it throws.
 */
export async function beginLocked<T>(
  sql: Link,
  lockTimeoutMs: number,
  run: Step,
  namespace: string,
  body: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const [timeout, idle, lock] = renderLockStatements(namespace, lockTimeoutMs);
  const session = await sql.session(`changing the tables (a transaction under the install lock of namespace ${namespace})`);
  return session.transaction(run, async (tx) => {
    await tx.unsafe(timeout);
    await tx.unsafe(idle);
    await run(`waiting for the install lock of namespace ${namespace} (another install or drop is running)`, () => tx.unsafe(lock));
    return body(tx);
  });
}


/**
 * The advisory lock key for a namespace: installs and drops of the same namespace serialize,
 * whichever version of this package runs them, so the key depends on nothing else. Concurrent
 * index builds take a key of their own (`purpose`), since they run outside the transaction.
 */
export function lockKey(namespace: string, purpose?: 'index-build'): string {
  const subject = purpose ? `asyncmq-postgres:${namespace}:${purpose}` : `asyncmq-postgres:${namespace}`;
  return createHash('sha256').update(subject).digest().readBigInt64BE(0).toString();
}
