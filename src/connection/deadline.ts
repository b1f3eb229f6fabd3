/**
 * Deadlines on the client side: no statement of a call, and no wait on an app's client, goes
 * without one. A connection that stops answering (a proxy or network path that freezes with the
 * socket still open) would otherwise hold the call, and the locks of its transaction, until TCP
 * keepalive noticed: two hours on server defaults.
 *
 * Each statement gets a deadline fit to what it waits for:
 * - a statement inside the call's transaction may wait for a lock: the lock timeout
 *   (postgresLockTimeout) plus LOCK_GRACE_MS for the work once the lock is granted;
 * - any other statement waits for no lock worth waiting for (catalog reads, session settings,
 *   a try-lock): READ_DEADLINE_MS, generous so that no load trips it;
 * - a statement that may rightly run long, a concurrent index build (for hours, on a big table),
 *   the COMMIT (which unlinks dropped tables' files), or a lock wait with no lock timeout, has
 *   no fixed limit: it is watched from another connection, and waited for as long as the server
 *   shows its session running it (building, or waiting for other transactions). Once the server
 *   shows the session done with it and no answer has come, the connection has stopped
 *   answering, and the call gives up on it.
 * The first statement on a connection may also take the connect timeout, to connect.
 *
 * Giving up on a connection does what the package may do to it: a connection of its own is
 * destroyed (and, once watched, its server session ended); a client it checked out of the app's
 * pool is released as broken; the app's own client is left as it is, only no longer waited for.
 * The call then fails with ASYNCMQ_DEADLINE_EXCEEDED, naming the step.
 */
import { AsyncmqPostgresError } from '../errors.js';
import type { Param, Queryable, Row, Step, Wait } from './drivers/types.js';

/** A statement that waits for no lock: long enough that a loaded 2-core machine never needs it. */
export const READ_DEADLINE_MS = 20_000;
/** What a statement may take once its locks are granted, beyond the lock timeout it may wait. */
export const LOCK_GRACE_MS = 10_000;
/** How often a watched statement is looked at from another connection. */
export const WATCH_INTERVAL_MS = 2_000;
/** Connecting, where the driver has no connect timeout of its own (node-postgres' default waits forever). */
export const DEFAULT_CONNECT_MS = 10_000;

/** How the package may give up on one connection, and how it can be watched. */
export interface Giving {
  /** Ends the wait on the connection: what the package may do to it (see the file's comment). */
  abandon(): void;
  /** What became of the connection, for the message: "asyncmq-postgres closed its connection". */
  readonly abandoned: string;
  /** What the first statement may take on top, to connect. */
  readonly connectMs: number;
  /** Another connection to watch this one's session from; none where nothing can freeze (in-process). */
  readonly watch?: Watch;
}

export interface Watch {
  /** Statements on another connection, opened on first use and closed with the call's link. */
  observer(): Promise<Queryable>;
  /** Whether the watched server session is the package's to end (not the app's own client's). */
  readonly owned: boolean;
}

// The watched session's state, and a build's progress, from another connection; every function
// and operator qualified, so that the search_path changes nothing.
const LOOK_SQL = `select a.state::pg_catalog.text, pg_catalog.concat_ws(' ', p.phase, p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total)
  from pg_catalog.pg_stat_activity a
  left join pg_catalog.pg_stat_progress_create_index p on p.pid OPERATOR(pg_catalog.=) a.pid
  where a.pid OPERATOR(pg_catalog.=) $1::integer`;
const PID_SQL = 'select pg_catalog.pg_backend_pid()::pg_catalog.text';
const END_SQL = 'select pg_catalog.pg_terminate_backend($1::integer)::pg_catalog.text';

class Expired extends Error {}

/** `promise`, or a rejection with Expired after `ms`; the timer never outlives it. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Expired()), ms)));
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** Resolves when `promise` settles or after `ms`, whichever is first; the timer never outlives it. */
function settledOr(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise.then(() => {}, () => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

/** Whether an error came from the server (a SQLSTATE), so the server was reachable. */
const fromServer = (error: unknown) => /^[0-9A-Z]{5}$/.test(String((error as { code?: unknown } | null)?.code ?? ''));

/**
 * The deadlines of one call: which step is running (run), whether its transaction is open, and
 * the bound each connection's statements go through.
 */
export class Clock {
  /** The step the last statement belongs to, for messages. */
  current = 'connecting';
  /** Set while the call's transaction is open (drivers/plain.ts, drivers/pglite.ts). */
  inTransaction = false;
  /** The call's failure once a deadline passed; it wins over what the abandoned connection reports next. */
  expired: AsyncmqPostgresError | undefined;
  /** Where the statements go, for messages (set once the link is open; a pool's client says once connected). */
  where: () => string = () => 'the database';
  /** The waits of the steps running, innermost last (PGlite's transaction runs its body inside a step). */
  private waits: { wait: Wait | undefined }[] = [];

  constructor(readonly lockTimeoutMs: number) {}

  /** The call's step runner: names what runs, and how long its statements may wait. */
  readonly run: Step = async (what, action, wait) => {
    this.current = what;
    const entry = { wait };
    this.waits.push(entry);
    try {
      return await action();
    } finally {
      this.waits.splice(this.waits.indexOf(entry), 1);
    }
  };

  /** What the current statement may wait for: as its step says, or a lock inside the transaction. */
  private wait(): Wait {
    for (let i = this.waits.length - 1; i >= 0; i--) if (this.waits[i]!.wait !== undefined) return this.waits[i]!.wait!;
    return this.inTransaction ? 'lock' : 'read';
  }

  /** `unsafe` with every statement under its deadline; `giving` says how to give up on its connection. */
  bound(unsafe: Queryable['unsafe'], giving: Giving): Queryable['unsafe'] {
    let connected = false;
    let pid: number | undefined;
    const settled = <T>(promise: Promise<T>) =>
      promise.then(
        (value) => ((connected = true), value),
        (error: unknown) => {
          if (fromServer(error)) connected = true;
          throw error;
        },
      );
    return async (text: string, params?: readonly Param[]): Promise<Row[]> => {
      if (this.expired) throw this.expired;
      const what = this.current;
      const wait = this.wait();
      const connect = connected ? 0 : giving.connectMs;
      const watched = wait === 'long' || (wait === 'lock' && this.lockTimeoutMs === 0);
      if (watched && giving.watch) {
        // The session's pid first, for the watcher (a session never changes backend).
        if (pid === undefined) {
          const rows = await this.timed(settled(unsafe(PID_SQL)), 'read', connect, what, giving);
          pid = Number(rows[0]?.[0]);
        }
        return this.watched(settled(unsafe(text, params)), pid, what, giving, giving.watch);
      }
      // Nothing can watch it (an in-process database, where nothing can freeze either).
      if (watched) return settled(unsafe(text, params));
      return this.timed(settled(unsafe(text, params)), wait === 'lock' ? 'lock' : 'read', connect, what, giving);
    };
  }

  /**
   * Bounds a wait on an app's client that is not a statement (a pool's checkout, a transaction's
   * start on PGlite): the deadline of the current step's statements.
   */
  waitFor<T>(promise: Promise<T>, giving: Giving): Promise<T> {
    return this.timed(promise, this.wait() === 'lock' ? 'lock' : 'read', giving.connectMs, this.current, giving);
  }

  private async timed<T>(sent: Promise<T>, wait: 'read' | 'lock', connect: number, what: string, giving: Giving): Promise<T> {
    sent.catch(() => {}); // read below, or abandoned
    const base = wait === 'lock' ? this.lockTimeoutMs + LOCK_GRACE_MS : READ_DEADLINE_MS;
    try {
      return await within(sent, base + connect);
    } catch (error) {
      if (!(error instanceof Expired)) throw error;
      const why =
        (wait === 'lock' ? `postgresLockTimeout ${this.lockTimeoutMs} ms plus ${LOCK_GRACE_MS / 1000} s` : 'the bound of a statement that waits for no lock') +
        (connect ? `, and ${connect / 1000} s to connect` : '');
      throw this.giveUp(giving, `no answer within ${(base + connect) / 1000} s (${why}) while ${what}`);
    }
  }

  /**
   * Waits for `sent` as long as the server shows session `pid` running it, looking every
   * WATCH_INTERVAL_MS from another connection. Gives up when the server shows the session done
   * with it three times in a row with no answer here, or when the server cannot be reached to look
   * for READ_DEADLINE_MS.
   */
  private async watched<T>(sent: Promise<T>, pid: number, what: string, giving: Giving, watch: Watch): Promise<T> {
    sent.catch(() => {});
    let done = false;
    const finished = sent.finally(() => (done = true));
    finished.catch(() => {});
    let idle = 0;
    let unreachableSince: number | undefined;
    let seen = '';
    for (;;) {
      await settledOr(finished, WATCH_INTERVAL_MS);
      if (done) return sent;
      try {
        const observer = await within(watch.observer(), READ_DEADLINE_MS);
        const row = (await within(observer.unsafe(LOOK_SQL, [pid]), READ_DEADLINE_MS))[0];
        unreachableSince = undefined;
        if (done) return sent;
        const state = row ? String(row[0] ?? '') : 'gone';
        seen = row ? `${state}${row[1] ? `, ${row[1]}` : ''}` : 'gone';
        // Another role's session shows no state: nothing to judge by, so it is waited for.
        idle = state === 'active' || state === '' ? 0 : idle + 1;
      } catch (error) {
        if (done) return sent;
        // The server answered, so it is reachable; only a silent one counts against the wait.
        if (!fromServer(error)) unreachableSince ??= performance.now();
      }
      if (idle >= 3) {
        await this.endSession(watch, pid);
        throw this.giveUp(giving, `no answer while ${what}, though the server shows its session done with it (${seen}): the connection stopped answering`);
      }
      if (unreachableSince !== undefined && performance.now() - unreachableSince > READ_DEADLINE_MS) {
        throw this.giveUp(giving, `no answer while ${what}, and the server could not be reached for ${READ_DEADLINE_MS / 1000} s to see whether it still runs`);
      }
    }
  }

  /** Ends the watched server session, so that its locks go now (a session-level lock outlives a transaction). */
  private async endSession(watch: Watch, pid: number): Promise<void> {
    if (!watch.owned) return;
    try {
      const observer = await within(watch.observer(), READ_DEADLINE_MS);
      await within(observer.unsafe(END_SQL, [pid]), READ_DEADLINE_MS);
    } catch {
      // Best effort: the server ends the session itself once TCP keepalive notices.
    }
  }

  private giveUp(giving: Giving, why: string): AsyncmqPostgresError {
    giving.abandon();
    this.expired ??= new AsyncmqPostgresError('ASYNCMQ_DEADLINE_EXCEEDED', `${why} on ${this.where()}; ${giving.abandoned}`);
    return this.expired;
  }
}
