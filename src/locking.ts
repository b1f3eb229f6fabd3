/**
 * The transaction every install, drop and upgrade step runs in: a `lock_timeout` for the
 * transaction only, then the namespace's advisory lock, taken on the DDL's own connection so
 * that it also works behind PgBouncer in transaction mode.
 *
 * It is driven with plain BEGIN / COMMIT / ROLLBACK statements on the call's session, never
 * with postgres.js's `sql.begin()`, whose own ROLLBACK after a dead connection crashes the
 * process (see session.ts). After a lost connection nothing is sent: the server has rolled
 * the transaction back with the session, and the session refuses to reconnect.
 */
import type { Sql } from 'postgres';
import type { Step } from './pool.js';
import { lockKey } from './resolve.js';
import { canSendAfter, inTransaction } from './session.js';

/**
 * What opens every install or drop transaction. Rendered (both values are our own numbers) so
 * that the `sql` command prints exactly what runs.
 */
export function renderLockStatements(namespace: string, lockTimeoutMs: number): [timeout: string, lock: string] {
  return [`SELECT set_config('lock_timeout', '${lockTimeoutMs}ms', true)`, `SELECT pg_advisory_xact_lock(${lockKey(namespace)})`];
}

/**
 * Runs `body` in a transaction on the session `sql` (from withPool) that holds the namespace's
 * advisory lock; `tx` is that same session. Commits when `body` resolves, rolls back when it
 * throws.
 */
export async function beginLocked<T>(
  sql: Sql,
  lockTimeoutMs: number,
  run: Step,
  namespace: string,
  body: (tx: Sql) => Promise<T>,
): Promise<T> {
  const [timeout, lock] = renderLockStatements(namespace, lockTimeoutMs);
  return inTransaction(sql, async () => {
    await run('starting the transaction', () => sql.unsafe('BEGIN'));
    let result: T;
    try {
      await sql.unsafe(timeout);
      await run(`waiting for the install lock of namespace ${namespace} (another install or drop is running)`, () => sql.unsafe(lock));
      result = await body(sql);
    } catch (error) {
      // Best effort: the error that got us here is the one to report.
      if (canSendAfter(sql, error)) await sql.unsafe('ROLLBACK').catch(() => {});
      throw error;
    }
    await run('committing the transaction', () => sql.unsafe('COMMIT'));
    return result;
  });
}
