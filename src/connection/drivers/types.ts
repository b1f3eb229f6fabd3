/**
 * The seam between the package and a database driver: what the rest of the code may ask of a
 * connection, whoever made it. Types only; each driver file implements them for one client.
 */
import type { Connection, Endpoint } from '../target.js';

/**
 * What a statement may wait for, which sets its deadline (see connection/deadline.ts): `read`,
 * no lock worth waiting for; `lock`, a lock, for up to the lock timeout (every statement inside
 * the call's transaction); `long`, what may rightly take long (a concurrent index build, waiting
 * for other transactions; a COMMIT, which unlinks a dropped table's files), for as long as the
 * server shows its session running it.
 */
export type Wait = 'read' | 'lock' | 'long';

/**
 * Runs statements with a description of what they do, so a failure can say what was being done;
 * `wait` says what they may wait for, where it is not what their place implies (see Wait).
 */
export type Step = <T>(what: string, action: () => Promise<T>, wait?: Wait) => Promise<T>;

/** The package only ever sends text, numbers and nulls. */
export type Param = string | number | null;

/** A row's values in the order of the select list; the package reads them by position. */
export type Row = readonly unknown[];

/**
 * One statement at a time. Reads may run on any connection of a pool; the package's own
 * queries return text (JSON cast to text where they return more than one value), so the
 * driver's parsers, `types` and `transform` settings never change what the package reads.
 */
export interface Queryable {
  unsafe(text: string, params?: readonly Param[]): Promise<Row[]>;
}

/**
 * One server session, the same for every statement until the call ends: what transactions,
 * session-level advisory locks and session settings need.
 */
export interface Session extends Queryable {
  /** True once its connection was lost: nothing more is sent on it. */
  readonly lost: boolean;
  /** Whether a clean-up statement (ROLLBACK, an unlock) may still be sent after `error`. */
  canSendAfter(error: unknown): boolean;
  /**
   * Runs `body` in one transaction on this session: commits when it resolves, rolls back when
   * it throws. Transactions do not nest.
   */
  transaction<T>(run: Step, body: (tx: Queryable) => Promise<T>): Promise<T>;
}

/** The call's way to the database: reads on whatever the caller gave, a session on request. */
export interface Link extends Queryable {
  /** Where the statements go and as whom, for messages, and what to redact from them. */
  readonly endpoint: Endpoint;
  /**
   * The call's session, opened on first use and kept to the end of the call. Refused with
   * ASYNCMQ_SESSION_REQUIRED where the connection given cannot provide one; `needs` says for
   * what, in words ("a transaction", "concurrent index builds").
   */
  session(needs: string): Promise<Session>;
  /**
   * Rejects when the session's connection is lost or cannot be made. Race the work against it:
   * a statement waiting for a connection that will never come would wait forever.
   */
  readonly failed: Promise<never>;
  /** True once the session's connection was lost during the call. */
  readonly lost: boolean;
  /**
   * Ends or returns what the call opened; never closes the caller's connection. `failure`: the
   * call's error, if it failed (a pool's client is then discarded rather than reused).
   */
  close(failure?: unknown): Promise<void>;
}

/** What a call connects with: a URL it opens a connection of its own for, or the app's own connection. */
export type DatabaseSource =
  | { kind: 'url'; connection: Connection }
  | { kind: 'db'; value: unknown }
  | { kind: 'client'; value: unknown };

/**
 * A Drizzle Postgres database (drizzle-orm's `PgDatabase`, from any driver). On postgres-js,
 * node-postgres and PGlite, the package uses its `$client`; on other drivers (HTTP ones, say)
 * it reads through `execute()` and refuses what needs a session.
 */
export interface DrizzlePostgresDatabase {
  execute(query: never): PromiseLike<unknown>;
  readonly $client?: unknown;
}

/** A postgres.js client (`postgres(url)`). */
export interface PostgresJsClient {
  (...args: never[]): unknown;
  unsafe(query: string, parameters?: never[], options?: never): unknown;
  readonly options: object;
}

/** A node-postgres `Pool`, `Client` or a client checked out of a pool. */
export interface NodePostgresClient {
  query(config: never): unknown;
  connect(): unknown;
}

/** A PGlite database (`new PGlite()`). */
export interface PgliteClient {
  query(query: string, params?: never[], options?: never): Promise<unknown>;
  exec(query: string, options?: never): Promise<unknown>;
  // any: PGlite's transaction() is generic over its callback's result.
  transaction(callback: (tx: any) => Promise<unknown>): Promise<unknown>;
}

/** A raw client the package can use: postgres.js, node-postgres or PGlite. */
export type PostgresClient = PostgresJsClient | NodePostgresClient | PgliteClient;
