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
import { DEFAULT_CONNECT_MS, type Clock, type Giving, type Watch } from '../deadline.js';
import { deferredFailure, endsTheSession } from './failure.js';
import { plainSession } from './plain.js';
import type { Link, Param, Queryable, Row, Session } from './types.js';

interface PgQueryResult {
  rows: unknown[][];
}

interface PgClient {
  query(config: { text: string; values?: readonly Param[]; rowMode: 'array'; types: unknown }): Promise<PgQueryResult>;
  connect(): Promise<unknown>;
  end(): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  getTransactionStatus?(): string | null;
  connectionParameters?: { host?: string; port?: number; database?: string; user?: string; password?: unknown; ssl?: unknown; options?: unknown };
  release?(error?: unknown): void;
  /** node-postgres' own state, which pg-pool reads too: set by `connect()`. */
  _connecting?: boolean;
  _connected?: boolean;
  connection?: { stream?: { destroy?(): void } };
}

type PgClientClass = new (config: object) => PgClient;

interface PgPool {
  connect(): Promise<PgClient>;
  options?: { host?: string; port?: number; database?: string; user?: string; password?: unknown; connectionString?: string; connectionTimeoutMillis?: number };
  /** The class the pool makes its clients with. */
  Client?: PgClientClass;
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

/** Ends a client of the package's own; one whose connection stopped answering is destroyed instead. */
async function endOwn(client: PgClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    client.end().then(() => true, () => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2_000))),
  ]);
  clearTimeout(timer);
  if (!ended) client.connection?.stream?.destroy?.();
}

/**
 * A client of the package's own, made as the app's pool or client makes one, to watch the
 * call's session from outside (deadline.ts); opened on first use and ended with the link.
 */
function watchFrom(make: (() => PgClient) | undefined, owned: boolean): Watch & { close(): Promise<void> } {
  let watcher: Promise<PgClient> | undefined;
  return {
    owned,
    observer: async () => {
      if (!make) throw new Error('this client cannot be watched from another connection');
      watcher ??= (async () => {
        const c = make();
        c.on('error', () => {}); // its loss shows as a failed look
        await c.connect();
        return c;
      })();
      const c = await watcher;
      return {
        unsafe: async (text, params) =>
          (await c.query({ text, ...(params && params.length > 0 ? { values: params } : {}), rowMode: 'array', types: AS_TEXT })).rows as Row[],
      } satisfies Queryable;
    },
    close: async () => {
      // Its connecting is bounded (connectionTimeoutMillis), and ended once it is done.
      const c = await watcher?.catch(() => undefined);
      if (c) await endOwn(c);
    },
  };
}

interface Giver {
  /** What the package may do to a client it gives up on: see pgPoolLink and pgClientLink. */
  abandon(client: PgClient | undefined): void;
  abandoned: string;
  connectMs: number;
  watch: Watch & { close(): Promise<void> };
}

/**
 * The call on one pg client, reached through `connect` (a pool's checkout happens at the first
 * statement, so a failure to connect is the call's, translated like any other): a session whose
 * loss is seen through the client's 'error' event and through errors that end the session.
 */
function onClient(connect: () => Promise<PgClient>, endpoint: Endpoint, release: (client: PgClient, broken: boolean) => void, clock: Clock, giver: Giver): Link {
  const failure = deferredFailure();
  let lost = false;
  let abandoned = false;
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
  const giving: Giving = {
    abandon: () => {
      abandoned = true;
      giver.abandon(client);
    },
    abandoned: giver.abandoned,
    connectMs: giver.connectMs,
    watch: giver.watch,
  };
  const session: Session = plainSession(
    {
      unsafe: clock.bound(async (text, params) => {
        const c = await ready();
        try {
          const result = await c.query({ text, ...(params && params.length > 0 ? { values: params } : {}), rowMode: 'array', types: AS_TEXT });
          return result.rows as Row[];
        } catch (error) {
          if (endsTheSession(error)) lost = true;
          throw error;
        }
      }, giving),
      get lost() {
        return lost || abandoned;
      },
      canSendAfter: (error) => !lost && !abandoned && !endsTheSession(error),
    },
    clock,
  );
  return {
    get endpoint() {
      return endpoint;
    },
    unsafe: session.unsafe,
    async session(needs) {
      const status = (await clock.waitFor(ready(), giving)).getTransactionStatus?.();
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
      await giver.watch.close();
      if (!client) {
        // A checkout still pending (given up on): the client goes back, as broken, once it comes.
        connecting?.then((c) => release(c, true), () => {});
        return;
      }
      release(client, lost || abandoned || failed !== undefined);
      // A dead client may still report its end; the listener stays, so that report cannot
      // crash the process as an unheard 'error'.
      if (!lost && !abandoned) client.removeListener('error', onError);
    },
  };
}

/**
 * The call's link for an app's pg Pool: one client checked out for the call, released at its
 * end. A client given up on (it stopped answering) is the package's to discard: its connection
 * is destroyed, and it goes back to the pool as broken, which ends it.
 */
export function pgPoolLink(pool: PgPool, clock: Clock): Link {
  const options = pool.options;
  const make =
    pool.Client && options
      ? () => new pool.Client!({ ...options, application_name: 'asyncmq-postgres', connectionTimeoutMillis: options.connectionTimeoutMillis || DEFAULT_CONNECT_MS })
      : undefined;
  return onClient(
    () => pool.connect(),
    endpointOf(pool.options),
    (client, broken) => {
      // Broken: the pool ends it instead of handing it out again.
      client.release!(broken ? new Error('asyncmq-postgres: the call failed on this client') : undefined);
    },
    clock,
    {
      abandon: (client) => client?.connection?.stream?.destroy?.(),
      abandoned: "asyncmq-postgres destroyed the connection it checked out of the app's pool, and released it as broken",
      connectMs: pool.options?.connectionTimeoutMillis || DEFAULT_CONNECT_MS,
      watch: watchFrom(make, true),
    },
  );
}

/**
 * The call's link for an app's pg Client: used as it is, left open. It must be connected: the
 * package never changes the state of the app's client, so it does not connect it, and a
 * statement on a client never connected would wait forever. Given up on, it is left as it is.
 */
export function pgClientLink(client: PgClient, clock: Clock): Link {
  if (typeof client.release !== 'function' && client._connected !== true && client._connecting !== true) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_USAGE',
      "client is a node-postgres Client that is not connected: await client.connect() first (asyncmq-postgres never connects or ends the app's client), or pass the Pool",
      { setting: 'client' },
    );
  }
  const parameters = client.connectionParameters ?? {};
  const make = () =>
    new (client.constructor as PgClientClass)({
      host: parameters.host,
      port: parameters.port,
      user: parameters.user,
      database: parameters.database,
      password: parameters.password,
      ssl: parameters.ssl,
      application_name: 'asyncmq-postgres',
      connectionTimeoutMillis: DEFAULT_CONNECT_MS,
    });
  return onClient(async () => client, endpointOf(client.connectionParameters), () => {}, clock, {
    abandon: () => {},
    abandoned: "the app's node-postgres client was left as it is, its statement still pending: discard it if it does not recover",
    connectMs: 0,
    watch: watchFrom(make, false),
  });
}
