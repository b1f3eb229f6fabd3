/**
 * The transaction every install, drop and upgrade step runs in: a `lock_timeout` for the
 * transaction only, then the namespace's advisory lock, taken on the DDL's own connection so
 * that it also works behind PgBouncer in transaction mode.
 */
import type { Sql, TransactionSql } from 'postgres';
import type { Step } from './pool.js';
import { lockKey } from './resolve.js';

/**
 * What opens every install or drop transaction. Rendered (both values are our own numbers) so
 * that the `sql` command prints exactly what runs.
 */
export function renderLockStatements(namespace: string, lockTimeoutMs: number): [timeout: string, lock: string] {
  return [`SELECT set_config('lock_timeout', '${lockTimeoutMs}ms', true)`, `SELECT pg_advisory_xact_lock(${lockKey(namespace)})`];
}

export async function beginLocked<T>(
  sql: Sql,
  lockTimeoutMs: number,
  run: Step,
  namespace: string,
  body: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  const [timeout, lock] = renderLockStatements(namespace, lockTimeoutMs);
  return (await sql.begin(async (tx) => {
    await tx.unsafe(timeout);
    await run(`waiting for the install lock of namespace ${namespace} (another install or drop is running)`, () => tx.unsafe(lock));
    return body(tx);
  })) as T;
}
