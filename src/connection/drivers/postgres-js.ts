/**
 * postgres.js, for a URL and for an app's own client.
 *
 * - A URL: the call runs on one connection of its own (session.ts), opened at the first
 *   statement and closed at the end.
 * - An app's client (`postgres()`, or drizzle-orm's postgres-js database): reads run on its pool,
 *   one statement each, so a no-op install is one query on the app's pool. Its pool is never
 *   used for a transaction or session-level work: a plain BEGIN there could land on any of its
 *   connections, between the app's own queries, and `begin()` and `reserve()` crash the process
 *   when the connection dies (see session.ts). What needs a session gets a connection of the
 *   package's own, opened from the client's options (hosts, database, user, password, TLS,
 *   connection parameters, socket factory) and closed at the end of the call.
 *
 * Rows are read raw (`.raw()`: the server's text, no parser, no `transform`), so the parsers that
 * drizzle-orm or the app set on a client change nothing here. Statements are never prepared,
 * so no named statement is left on the app's connections.
 */
import type { Sql } from 'postgres';
import { DEFAULT_CONNECT_TIMEOUT, type Connection, type DriverOptions, type Endpoint } from '../target.js';
import { loadPostgres, type PostgresFactory } from '../load-postgres.js';
import { openSession, type OneConnection } from '../session.js';
import type { Clock, Giving, Watch } from '../deadline.js';
import { deferredFailure } from './failure.js';
import { plainSession } from './plain.js';
import type { Link, Queryable, Row, Session } from './types.js';

/** Whether `value` looks like a postgres.js client: a function with `unsafe` and parsed `options`. */
export function isPostgresJs(value: unknown): value is Sql {
  const options = (value as { options?: { parsers?: unknown; host?: unknown } } | null)?.options;
  return (
    typeof value === 'function' &&
    typeof (value as { unsafe?: unknown }).unsafe === 'function' &&
    typeof options?.parsers === 'object' &&
    Array.isArray(options.host)
  );
}

function rawText(value: unknown): unknown {
  return value === null || value === undefined ? null : Buffer.isBuffer(value) ? value.toString('utf8') : value;
}

function queryOn(sql: Sql): Queryable['unsafe'] {
  return async (text, params) => {
    const rows = await sql.unsafe(text, (params ?? []) as never[], { prepare: false }).raw();
    return rows.map((row) => (row as unknown as unknown[]).map(rawText)) as Row[];
  };
}

type Where = { url?: string; options: DriverOptions };

const connectMsOf = (options: DriverOptions) => 1000 * (Number(options.connect_timeout) || DEFAULT_CONNECT_TIMEOUT);

/**
 * A connection of the package's own to `where`, opened on first use, for watching the call's
 * session from outside (deadline.ts); closed with the link.
 */
function watchFrom(postgres: PostgresFactory, where: Where): Watch & { close(): Promise<void> } {
  let watcher: OneConnection | undefined;
  return {
    owned: true,
    observer: async () => {
      watcher ??= openSession(postgres, where);
      return { unsafe: queryOn(watcher.sql) };
    },
    close: async () => {
      await watcher?.close();
    },
  };
}

/** One connection of the package's own, for the whole call or for a session only. */
function ownConnection(postgres: PostgresFactory, where: Where, clock: Clock) {
  const one: OneConnection = openSession(postgres, where);
  const watch = watchFrom(postgres, where);
  const giving: Giving = {
    abandon: () => one.abandon(),
    abandoned: 'asyncmq-postgres closed its connection (the server rolls back a transaction it left open)',
    connectMs: connectMsOf(where.options),
    watch,
  };
  const session: Session = plainSession(
    {
      unsafe: clock.bound(queryOn(one.sql), giving),
      get lost() {
        return one.lost;
      },
      canSendAfter: (error) => one.canSendAfter(error),
    },
    clock,
  );
  const close = async () => {
    await Promise.all([one.close(), watch.close()]);
  };
  return { one, session, close };
}

/** The call's link for a URL: everything on one connection of its own. */
export async function urlLink(connection: Connection, clock: Clock): Promise<Link> {
  const { one, session, close } = ownConnection(await loadPostgres(), connection, clock);
  return {
    endpoint: connection,
    unsafe: session.unsafe,
    session: async () => session,
    failed: one.failed,
    get lost() {
      return one.lost;
    },
    close,
  };
}

/** What a client's parsed options say about where it connects, for messages. */
function endpointOf(sql: Sql): Endpoint {
  const o = sql.options as unknown as { host: string[]; port: number[]; path?: string | false; database: string; user: string; pass?: unknown };
  const target = o.path ? `${o.path} (database ${o.database})` : `${o.host.map((h, i) => `${h}:${o.port[i] ?? o.port[0]}`).join(',')}/${o.database}`;
  const passwords = typeof o.pass === 'string' && o.pass !== '' ? [o.pass] : [];
  return { target, user: o.user, secrets: { passwords, named: [o.user, o.database, ...o.host, ...o.port.map(String)] } };
}

/**
 * The options of a connection of the package's own to where `sql` connects: what reaches the
 * same server session as the app's (hosts, database, role, password, TLS, connection
 * parameters such as search_path, the socket factory), none of how the app reads rows. Read
 * from the client's parsed options, which both postgres.js lines take back as given; what only
 * postgres.js 4 has (channel binding and the authentication methods allowed, which must hold
 * for this connection too) is absent from a postgres.js 3 client's.
 */
function sessionOptions(sql: Sql): DriverOptions {
  const o = sql.options as unknown as Record<string, unknown>;
  const pick = [
    'host', 'port', 'path', 'database', 'user', 'pass', 'ssl', 'sslnegotiation', 'connect_timeout', 'keep_alive', 'target_session_attrs',
    'connection', 'socket', 'channel_binding', 'require_auth',
  ];
  const options: DriverOptions = Object.fromEntries(pick.filter((k) => o[k] !== undefined && o[k] !== null).map((k) => [k, o[k]]));
  return {
    ...options,
    // postgres.js's default is 30 s; a call without a deadline could wait forever (see session.ts).
    connect_timeout: typeof o.connect_timeout === 'number' && o.connect_timeout > 0 ? o.connect_timeout : 30,
    fetch_types: false,
    // IF NOT EXISTS and friends print NOTICEs, which postgres.js would log to the console.
    onnotice: () => {},
  };
}

/** The call's link for an app's postgres.js client. */
export function postgresJsLink(sql: Sql, clock: Clock): Link {
  const endpoint = endpointOf(sql);
  const failure = deferredFailure();
  let own: ReturnType<typeof ownConnection> | undefined;
  let opening: Promise<Session> | undefined;
  // A read waits on the app's pool (which postgres.js 3 lets retry connecting forever); given
  // up on, the app's pool is left as it is.
  const reads: Giving = {
    abandon: () => {},
    abandoned: "the app's postgres.js client was left as it is",
    connectMs: connectMsOf({ connect_timeout: (sql.options as unknown as DriverOptions).connect_timeout || 30 }),
  };
  return {
    endpoint,
    unsafe: clock.bound(queryOn(sql), reads),
    session() {
      opening ??= loadPostgres().then((postgres) => {
        own = ownConnection(postgres, { options: sessionOptions(sql) }, clock);
        own.one.failed.catch(failure.fail);
        return own.session;
      });
      return opening;
    },
    failed: failure.promise,
    get lost() {
      return own?.one.lost ?? false;
    },
    close: async () => {
      await own?.close();
    },
  };
}
