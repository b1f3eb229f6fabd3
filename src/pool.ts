/**
 * One session per call: opened, used, closed, and every failure translated into an
 * `AsyncmqPostgresError` that says which step was running.
 */
import type { Sql } from 'postgres';
import { translateError, type Connection } from './connection.js';
import { AsyncmqPostgresError, redactError } from './errors.js';
import type { ResolvedBackend } from './resolve.js';
import { openSession } from './session.js';

/** Runs a statement with a description of it, so a failure can say what was being done. */
export type Step = <T>(what: string, action: () => Promise<T>) => Promise<T>;

/**
 * Opens the call's session (one connection, see session.ts), runs `body`, closes every socket
 * it opened, and translates any failure. A connection that dies at any point fails the call
 * with ASYNCMQ_CONNECTION_FAILED, as does one that cannot be made within the connect timeout.
 */
export async function withPool<T>(
  connection: Connection,
  backend: Pick<ResolvedBackend, 'lockTimeoutMs'>,
  body: (sql: Sql, step: Step) => Promise<T>,
): Promise<T> {
  const session = openSession(connection);
  let current = 'connecting';
  const step: Step = (what, action) => {
    current = what;
    return action();
  };
  try {
    return await Promise.race([body(session.sql, step), session.failed]);
  } catch (error) {
    if (session.lost) throw lostConnection(error, connection, current);
    if (refusedByServer(error)) throw refusedConnection(error, connection);
    throw translateError(error, connection, current, backend.lockTimeoutMs);
  } finally {
    await session.close();
  }
}

/**
 * The session's connection closed under a statement: a restart, a failover, a terminated
 * backend or a network fault. Postgres rolls back a transaction whose session ends; an index
 * build cut short leaves an INVALID index for the next concurrent build to replace.
 */
function lostConnection(error: unknown, connection: Connection, step: string): AsyncmqPostgresError {
  if (error instanceof AsyncmqPostgresError) return error;
  const cause = redactError(error, connection.secrets);
  const code = (error as { code?: string } | null)?.code;
  return new AsyncmqPostgresError(
    'ASYNCMQ_CONNECTION_FAILED',
    `lost the connection to ${connection.target} while ${step}${code ? ` (${code})` : ''}`,
    { cause },
  );
}

/** A server that is starting, shutting down or failing over refuses sessions with these. */
function refusedByServer(error: unknown): boolean {
  return /^(08|57P0[123])/.test((error as { code?: unknown } | null)?.code?.toString() ?? '');
}

function refusedConnection(error: unknown, connection: Connection): AsyncmqPostgresError {
  const cause = redactError(error, connection.secrets);
  const code = (error as { code: string }).code;
  return new AsyncmqPostgresError('ASYNCMQ_CONNECTION_FAILED', `could not connect to ${connection.target} (${code}: ${cause.message})`, { cause });
}
