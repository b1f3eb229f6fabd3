/**
 * One pool per call: opened, used, closed, and every failure translated into an
 * `AsyncmqPostgresError` that says which step was running.
 */
import type { Sql } from 'postgres';
import { openPool, translateError, type Connection } from './connection.js';
import type { ResolvedBackend } from './resolve.js';

/** Runs a statement with a description of it, so a failure can say what was being done. */
export type Step = <T>(what: string, action: () => Promise<T>) => Promise<T>;

/** Opens a pool, runs `body`, closes every connection it opened, and translates any failure. */
export async function withPool<T>(
  connection: Connection,
  backend: Pick<ResolvedBackend, 'lockTimeoutMs'>,
  body: (sql: Sql, step: Step) => Promise<T>,
): Promise<T> {
  const sql = openPool(connection);
  let current = 'connecting';
  const step: Step = (what, action) => {
    current = what;
    return action();
  };
  try {
    return await body(sql, step);
  } catch (error) {
    throw translateError(error, connection, current, backend.lockTimeoutMs);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
