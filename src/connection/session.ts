/**
 * The one connection a call runs on, and the rules that keep a failure on it from taking the
 * host process down or letting a statement run where it should not. They hold on both
 * postgres.js lines the package supports, 3.4.9+ and 4.x; where the two differ, this file
 * follows what each does rather than asking which one is loaded.
 *
 * postgres.js 3.4.9 crashes the process when a connection dies inside `sql.begin()` or on a
 * reserved connection: the ROLLBACK it writes next is flushed from a `setImmediate` after the
 * socket was nulled, an uncaught TypeError no caller can catch (porsager/postgres #1154, #1066,
 * #1208). Plain statements on a pool fail cleanly instead, because a dead connection leaves the
 * pool's rotation before anything is written to it. So the package uses neither `begin()` nor
 * `reserve()`: each call gets a pool of exactly one connection, and transactions and
 * session-level work are plain statements on it (`BEGIN`, `COMMIT`; see drivers/plain.ts and
 * index-builds.ts). postgres.js 4's connection code is new and guards its writes, but it
 * rejects a plain `BEGIN` with UNSAFE_TRANSACTION unless it is sent inside `sql.begin()`, on a
 * reserved connection or on a pool of `max: 1`: the last is what both lines accept. It serves
 * both a URL and an app's own postgres.js client, whose pool is never used for a transaction
 * (see drivers/postgres-js.ts).
 *
 * A pool reconnects, though: a statement sent after its connection died would run on a new
 * server session, outside the transaction and without the advisory lock it was meant to run
 * under. So the session opens its sockets itself (postgres.js's `socket` option) and never
 * opens one after the first connection was established and lost, or after it is closed: the
 * statement that would have reconnected fails instead, and the call fails as a whole. The
 * refusal's code is not CONNECTION_CLOSED, which postgres.js 4 takes for a transient failure
 * and retries (with backoff, up to `connect_timeout`): it must end the waiting statement now.
 *
 * The same place bounds connecting. postgres.js 3's `connect_timeout` bounds one attempt, but it
 * starts another at once when a peer accepts TCP and closes it (a load balancer with no healthy
 * backend), or when every host of a multi-host URL refuses: thousands of attempts a second,
 * forever. postgres.js 4 backs off between attempts and gives up on a refused host at once, but
 * tries each host of a list in turn, each for a whole `connect_timeout`. Here no attempt starts
 * once `connect_timeout` has passed since the first; the call then fails, and every socket is
 * destroyed before it returns.
 *
 * postgres.js 3 calls the socket factory as `socket(options)` and leaves the choice of host to
 * it; postgres.js 4 calls `socket(options, host, port)` with the host it is trying. Both are
 * served, and an app's own factory is called the way its postgres.js calls it.
 */
import { Socket } from 'node:net';
import type postgres from 'postgres';
import type { Sql } from 'postgres';
import type { DriverOptions } from './target.js';
import type { PostgresFactory } from './load-postgres.js';

export interface OneConnection {
  /** The call's pool of one connection. */
  sql: Sql;
  /**
   * Rejects when the session gives up on connecting or refuses to reconnect. Race the work
   * against it: with several hosts, postgres.js swallows the refusal, and the statement that
   * asked for a connection would wait forever.
   */
  failed: Promise<never>;
  /** True once the established connection closed; the session never opens another. */
  readonly lost: boolean;
  /**
   * Whether a clean-up statement (ROLLBACK, an unlock) may still be sent after `error`: not once
   * the connection is lost, nor after an error from the socket rather than the server, which
   * postgres.js delivers a turn before it notices the connection is gone.
   */
  canSendAfter(error: unknown): boolean;
  /**
   * Gives up on the connection at once, as on a connection that stopped answering: it counts as
   * lost (nothing more is sent, no reconnect) and every socket is destroyed. close() still ends
   * the pool.
   */
  abandon(): void;
  /** Ends the connection and destroys every socket the session opened; resolves once they are closed. */
  close(): Promise<void>;
}

interface State {
  /** A statement went out on a connection: the server session exists. */
  established: boolean;
  lost: boolean;
  /** The socket of the latest attempt, once established the session's own. */
  socket?: Socket;
}

/**
 * True once the session's connection was lost: nothing more can be sent on it. Also true in
 * the turn between a socket's error and its close (a reset), before postgres.js sees it go;
 * with TLS, postgres.js has replaced the socket's listeners, but not its state.
 */
function sessionLost(state: State): boolean {
  return state.lost || (state.established && state.socket?.destroyed === true);
}

/**
 * An error with a code that target.ts reads as a network failure. The socket factory refuses
 * with CONNECT_TIMEOUT or CONNECTION_DESTROYED, never CONNECTION_CLOSED, which postgres.js 4
 * retries: the statement waiting for the connection must fail at once.
 */
function connectionError(code: 'CONNECT_TIMEOUT' | 'CONNECTION_DESTROYED' | 'CONNECTION_CLOSED', message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A socket factory: `(options)` from postgres.js 3, `(options, host, port)` from postgres.js 4. */
type UserSocket = (options: postgres.ParsedOptions, host?: string | null, port?: number) => Socket | Promise<Socket>;

/**
 * Opens a session (nothing connects before the first statement) with `postgres`, from a URL and
 * options, or from options alone (an app's client's, see drivers/postgres-js.ts).
 */
export function openSession(postgres: PostgresFactory, connection: { url?: string; options: DriverOptions }): OneConnection {
  const given = connection.options;
  const userSocket = typeof given.socket === 'function' ? (given.socket as UserSocket) : undefined;
  const userOnclose = typeof given.onclose === 'function' ? (given.onclose as (id: number) => void) : undefined;
  const userDebug = typeof given.debug === 'function' ? (given.debug as (...args: unknown[]) => void) : undefined;
  const state: State = { established: false, lost: false };
  // Every socket the session opened, until its 'close' was emitted: only then is its handle
  // released (`closed` turns true a moment before, and a destroyed socket that never connected
  // still holds its handle then).
  const sockets = new Map<Socket, Promise<void>>();
  let closing = false;
  let firstAttempt: number | undefined;
  let attempts = 0;
  let lastEnding = '';
  let fail: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {}); // only a race reads it

  const refuse = (error: Error): never => {
    fail(error);
    throw error;
  };
  // The established connection is gone: the call fails now, whatever the code that was
  // waiting on the statement in flight does next. On a reset, the socket's 'error' comes a turn
  // before its 'close'; postgres.js rejects what is in flight at the error, but a statement sent
  // in that turn would never be settled.
  const lose = (error: Error) => {
    if (!state.established || state.lost) return;
    state.lost = true;
    fail(error);
  };

  // postgres.js 4 passes the host and port it is trying; postgres.js 3 passes the options only.
  const openSocket = async (options: postgres.ParsedOptions, ...target: [host?: string | null, port?: number]): Promise<Socket> => {
    if (closing) refuse(connectionError('CONNECTION_DESTROYED', 'the session is closed'));
    if (state.lost) {
      refuse(connectionError('CONNECTION_DESTROYED', 'the connection was lost, and asyncmq-postgres never reconnects within a call'));
    }
    const now = performance.now();
    firstAttempt ??= now;
    const limit = Number(options.connect_timeout) || 0;
    if (limit > 0 && now - firstAttempt > limit * 1000) {
      closing = true;
      refuse(
        connectionError(
          'CONNECT_TIMEOUT',
          `no connection within ${limit} s (connect_timeout) after ${attempts} attempt${attempts === 1 ? '' : 's'}` +
            (lastEnding ? `; the last one ${lastEnding}` : ''),
        ),
      );
    }
    const socket = userSocket ? await userSocket(options, ...target) : connectTcp(options, attempts, target);
    attempts++;
    if (closing) {
      // Closed while a user's socket factory was still working.
      socket.destroy();
      refuse(connectionError('CONNECTION_DESTROYED', 'the session is closed'));
    }
    sockets.set(socket, new Promise<void>((resolve) => socket.once('close', () => (sockets.delete(socket), resolve()))));
    state.socket = socket;
    // Registered before postgres.js's own listeners, so they see every ending before it
    // removes all listeners in its close handler.
    socket.on('error', (error: Error & { code?: string }) => {
      lastEnding = `failed with ${error.code ?? error.message}`;
      lose(error);
    });
    socket.on('close', (hadError) => void (hadError || (lastEnding = 'was closed by the server before the session started')));
    return socket;
  };

  const options = {
    ...connection.options,
    // One statement at a time: postgres.js allows a plain BEGIN only on a pool of one.
    max: 1,
    // The call holds its connection for as long as it runs (a concurrent index build may run
    // for hours); losing it to a pool timer would fail the call.
    idle_timeout: 0,
    max_lifetime: null,
    // Called whenever a statement is sent, so also when the session exists.
    debug: (...args: unknown[]) => {
      state.established = true;
      userDebug?.(...args);
    },
    onclose: (id: number) => {
      // Also called when a first attempt fails for good; only after a statement went out was
      // a server session lost.
      lose(connectionError('CONNECTION_CLOSED', 'the connection was closed'));
      userOnclose?.(id);
    },
    socket: openSocket,
  } as postgres.Options<Record<string, never>>;
  const sql = connection.url === undefined ? postgres(options) : postgres(connection.url, options);

  return {
    sql,
    failed,
    get lost() {
      return sessionLost(state);
    },
    canSendAfter(error) {
      if (sessionLost(state)) return false;
      const code = (error as { code?: unknown } | null)?.code;
      const fromSocket = typeof code === 'string' && (code.startsWith('CONNECTION_') || code === 'CONNECT_TIMEOUT' || 'syscall' in (error as object));
      return !fromSocket;
    },
    abandon() {
      // Lost before the sockets go, so that their closing is not reported as a loss.
      state.lost = true;
      closing = true;
      for (const socket of sockets.keys()) socket.destroy();
    },
    async close() {
      const broken = sessionLost(state) || closing;
      closing = true;
      // A lost or never-made connection has nothing to say goodbye to.
      await sql.end({ timeout: broken ? 0 : 5 });
      const open = [...sockets.values()];
      for (const socket of sockets.keys()) socket.destroy();
      // A socket of an app's own factory that never reports its close must not hold the call.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(open), new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
      clearTimeout(timer);
    },
  };
}

/**
 * What postgres.js does itself when no `socket` option is given: the host it asks for
 * (postgres.js 4), or else the next host in turn (postgres.js 3), or the unix socket.
 * postgres.js writes the startup message as soon as the factory returns; a socket buffers
 * writes until it is connected.
 */
function connectTcp(options: postgres.ParsedOptions, attempt: number, [asked, askedPort]: [host?: string | null, port?: number]): Socket {
  const socket = new Socket();
  const path = (options as { path?: string | false }).path;
  if (path) return socket.connect(path);
  const host = asked ?? options.host[attempt % options.host.length]!;
  const port = askedPort ?? options.port[attempt % options.port.length]!;
  // As postgres.js sets it on the sockets it opens: a statement is written in one go.
  socket.once('connect', () => socket.setNoDelay(true));
  socket.connect(port, host);
  // postgres.js reads these for TLS's server name and for its error messages.
  return Object.assign(socket, { host, port });
}
