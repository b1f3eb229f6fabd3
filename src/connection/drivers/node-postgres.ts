/**
 * node-postgres (`pg`), for an app's own `Pool` or `Client` (or drizzle-orm's node-postgres
 * database over either).
 *
 * - A `Pool`: the call checks out one client (`pool.connect()`) and runs everything on it, then
 *   releases it; after a failure it is released as broken, so the pool discards it rather than
 *   handing the app a connection in an unknown state. The pool is never ended.
 * - A `Client` (or a client the app checked out of a pool): it is its own session; the call runs
 *   on it and leaves it open. It must not be inside a transaction, and the app must not send
 *   other statements on it while the call runs (they would land inside the call's transaction).
 *
 * A checked-out or given client emits 'error' when its connection dies between statements;
 * with no listener that would crash the process, so the call listens while it runs. A dead pg
 * client never reconnects, so nothing runs outside the transaction after a loss.
 *
 * Values are read as the server's text (no type parser runs), whatever parsers the app set.
 */
import type { Endpoint } from '../target.js';
import { AsyncmqPostgresError } from '../../errors.js';
import { deferredFailure, endsTheSession } from './failure.js';
import { plainSession } from './plain.js';
import type { Link, Param, Row, Session } from './types.js';

interface PgQueryResult {
  rows: unknown[][];
}

interface PgClient {
  query(config: { text: string; values?: readonly Param[]; rowMode: 'array'; types: unknown }): Promise<PgQueryResult>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  getTransactionStatus?(): string | null;
  connectionParameters?: { host?: string; port?: number; database?: string; user?: string; password?: unknown };
  release?(error?: unknown): void;
}

interface PgPool {
  connect(): Promise<PgClient>;
  options?: { host?: string; port?: number; database?: string; user?: string; password?: unknown; connectionString?: string };
}

/** A pg Pool: `connect()` and `query()`, and the counters only a pool has. */
export function isPgPool(value: unknown): boolean {
  const v = value as Record<string, unknown> | null;
  return typeof v?.connect === 'function' && typeof v.query === 'function' && 'totalCount' in v && 'idleCount' in v;
}

/** A pg Client, or a client checked out of a pool. */
export function isPgClient(value: unknown): boolean {
  const v = value as Record<string, unknown> | null;
  return typeof v?.query === 'function' && typeof v.connect === 'function' && typeof v.connectionParameters === 'object';
}

// No type parser runs: every value comes back as the server's text.
const AS_TEXT = { getTypeParser: () => (value: string) => value };

function endpointOf(parameters: PgClient['connectionParameters'] | PgPool['options']): Endpoint {
  const p = { ...fromConnectionString(parameters), ...withoutUndefined(parameters ?? {}) };
  const host = p.host ?? 'localhost';
  const target = host.startsWith('/') ? `${host} (database ${p.database})` : `${host}:${p.port ?? 5432}/${p.database ?? p.user}`;
  const passwords = typeof p.password === 'string' && p.password !== '' ? [p.password] : [];
  return { target, user: p.user ?? 'the default user', secrets: { passwords, named: [p.user ?? '', p.database ?? '', host, String(p.port ?? 5432)] } };
}

/** A pool's `connectionString`, read as pg reads a URL, for messages before a client connects. */
function fromConnectionString(parameters: PgPool['options']): PgPool['options'] {
  const text = (parameters as { connectionString?: unknown } | undefined)?.connectionString;
  if (typeof text !== 'string') return {};
  try {
    const url = new URL(text);
    return {
      ...(url.hostname ? { host: decodeURIComponent(url.hostname) } : {}),
      ...(url.port ? { port: Number(url.port) } : {}),
      ...(url.pathname.length > 1 ? { database: decodeURIComponent(url.pathname.slice(1)) } : {}),
      ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    };
  } catch {
    return {};
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}

/**
 * The call on one pg client, reached through `connect` (a pool's checkout happens at the first
 * statement, so a failure to connect is the call's, translated like any other): a session whose
 * loss is seen through the client's 'error' event and through errors that end the session.
 */
function onClient(connect: () => Promise<PgClient>, endpoint: Endpoint, release: (client: PgClient, broken: boolean) => void): Link {
  const failure = deferredFailure();
  let lost = false;
  let client: PgClient | undefined;
  let connecting: Promise<PgClient> | undefined;
  const onError = (error: Error) => {
    lost = true;
    failure.fail(error);
  };
  const ready = () =>
    (connecting ??= connect().then((c) => {
      client = c;
      c.on('error', onError);
      endpoint = endpointOf(c.connectionParameters);
      return c;
    }));
  const session: Session = plainSession({
    async unsafe(text, params) {
      const c = await ready();
      try {
        const result = await c.query({ text, ...(params && params.length > 0 ? { values: params } : {}), rowMode: 'array', types: AS_TEXT });
        return result.rows as Row[];
      } catch (error) {
        if (endsTheSession(error)) lost = true;
        throw error;
      }
    },
    get lost() {
      return lost;
    },
    canSendAfter: (error) => !lost && !endsTheSession(error),
  });
  return {
    get endpoint() {
      return endpoint;
    },
    unsafe: session.unsafe,
    async session(needs) {
      const status = (await ready()).getTransactionStatus?.();
      if (status === 'T' || status === 'E') {
        throw new AsyncmqPostgresError(
          'ASYNCMQ_SESSION_REQUIRED',
          `${needs} needs a session of its own, and the node-postgres client given is inside a transaction; pass it outside one, or pass the pool`,
        );
      }
      return session;
    },
    failed: failure.promise,
    get lost() {
      return lost;
    },
    async close(failed) {
      await connecting?.catch(() => {});
      if (!client) return;
      release(client, lost || failed !== undefined);
      // A dead client may still report its end; the listener stays, so that report cannot
      // crash the process as an unheard 'error'.
      if (!lost) client.removeListener('error', onError);
    },
  };
}

/** The call's link for an app's pg Pool: one client checked out for the call, released at its end. */
export function pgPoolLink(pool: PgPool): Link {
  return onClient(() => pool.connect(), endpointOf(pool.options), (client, broken) => {
    // Broken: the pool ends it instead of handing it out again.
    client.release!(broken ? new Error('asyncmq-postgres: the call failed on this client') : undefined);
  });
}

/** The call's link for an app's pg Client: used as it is, left open. */
export function pgClientLink(client: PgClient): Link {
  return onClient(async () => client, endpointOf(client.connectionParameters), () => {});
}
