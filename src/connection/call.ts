/**
 * One link per call: opened, used, closed, and every failure translated into an
 * `AsyncmqPostgresError` that says which step was running. Every statement of the call has a
 * deadline (deadline.ts), set by the step that runs it.
 */
import { translateError, type Endpoint } from './target.js';
import { Clock } from './deadline.js';
import { openLink, type DatabaseSource, type Link, type Step } from './drivers/index.js';
import { AsyncmqPostgresError, redactError } from '../errors.js';

export type { Step } from './drivers/index.js';

/**
 * Opens the call's link to the database (a connection of its own for a URL, see session.ts; the
 * app's own connection otherwise, see drivers/), runs `body`, closes what the call opened (never
 * the app's connection), and translates any failure. A connection that dies at any point fails
 * the call with ASYNCMQ_CONNECTION_FAILED, as does one that cannot be made within the connect
 * timeout; one that stops answering fails it with ASYNCMQ_DEADLINE_EXCEEDED.
 */
export async function withPool<T>(
  source: DatabaseSource,
  backend: { lockTimeoutMs: number },
  body: (sql: Link, step: Step) => Promise<T>,
): Promise<T> {
  const clock = new Clock(backend.lockTimeoutMs);
  const link = await openLink(source, clock);
  clock.where = () => link.endpoint.target;
  let failure: unknown;
  try {
    return await Promise.race([body(link, clock.run), link.failed]);
  } catch (error) {
    failure = error;
    // What the abandoned connection reports next (closed, reset) is not why the call failed.
    if (clock.expired) throw clock.expired;
    if (link.lost) throw lostConnection(error, link.endpoint, clock.current);
    if (refusedByServer(error)) throw refusedConnection(error, link.endpoint);
    throw translateError(error, link.endpoint, clock.current, backend.lockTimeoutMs);
  } finally {
    await link.close(failure);
  }
}

/**
 * The session's connection closed under a statement: a restart, a failover, a terminated
 * backend or a network fault. Postgres rolls back a transaction whose session ends; an index
 * build cut short leaves an INVALID index for the next concurrent build to replace.
 */
function lostConnection(error: unknown, endpoint: Endpoint, step: string): AsyncmqPostgresError {
  if (error instanceof AsyncmqPostgresError) return error;
  const cause = redactError(error, endpoint.secrets);
  const code = (error as { code?: string } | null)?.code;
  return new AsyncmqPostgresError(
    'ASYNCMQ_CONNECTION_FAILED',
    `lost the connection to ${endpoint.target} while ${step}${code ? ` (${code})` : ''}`,
    { cause },
  );
}

/** A server that is starting, shutting down or failing over refuses sessions with these. */
function refusedByServer(error: unknown): boolean {
  return /^(08|57P0[123])/.test((error as { code?: unknown } | null)?.code?.toString() ?? '');
}

function refusedConnection(error: unknown, endpoint: Endpoint): AsyncmqPostgresError {
  const cause = redactError(error, endpoint.secrets);
  const code = (error as { code: string }).code;
  return new AsyncmqPostgresError('ASYNCMQ_CONNECTION_FAILED', `could not connect to ${endpoint.target} (${code}: ${cause.message})`, { cause });
}
