/**
 * The one connection a call runs on, and the rules that keep a failure on it from taking the
 * host process down or letting a statement run where it should not.
 *
 * postgres.js 3.4.9 crashes the process when a connection dies inside `sql.begin()` or on a
 * reserved connection: the ROLLBACK it writes next is flushed from a `setImmediate` after the
 * socket was nulled, an uncaught TypeError no caller can catch (porsager/postgres #1154, #1066,
 * #1208). Plain statements on a pool fail cleanly instead, because a dead connection leaves the
 * pool's rotation before anything is written to it. So the package uses neither `begin()` nor
 * `reserve()`: each call gets a pool of exactly one connection, and transactions and
 * session-level work are plain statements on it (`BEGIN`, `COMMIT`; see drivers/plain.ts and
 * index-builds.ts). postgres.js allows a plain `BEGIN` only with `max: 1`. It serves both a URL
 * and an app's own postgres.js client, whose pool is never used for a transaction (see
 * drivers/postgres-js.ts).
 *
 * A pool reconnects, though: a statement sent after its connection died would run on a new
 * server session, outside the transaction and without the advisory lock it was meant to run
 * under. So the session opens its sockets itself (postgres.js's `socket` option) and never
 * opens one after the first connection was established and lost, or after it is closed: the
 * statement that would have reconnected fails instead, and the call fails as a whole.
 *
 * The same place bounds connecting. postgres.js's `connect_timeout` bounds one attempt, but it
 * starts another at once when a peer accepts TCP and closes it (a load balancer with no healthy
 * backend), or when every host of a multi-host URL refuses: thousands of attempts a second,
 * forever. Here no attempt starts once `connect_timeout` has passed since the first; the call
 * then fails, and every socket is destroyed before it returns.
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

/** A refusal with a code that target.ts reads as a network failure. */
function connectionError(code: 'CONNECT_TIMEOUT' | 'CONNECTION_CLOSED', message: string): Error {
  return Object.assign(new Error(message), { code });
}

type UserSocket = (options: postgres.ParsedOptions) => Socket | Promise<Socket>;

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
  const sockets: Socket[] = [];
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

  const openSocket = async (options: postgres.ParsedOptions): Promise<Socket> => {
    if (closing) refuse(connectionError('CONNECTION_CLOSED', 'the session is closed'));
    if (state.lost) {
      refuse(connectionError('CONNECTION_CLOSED', 'the connection was lost, and asyncmq-postgres never reconnects within a call'));
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
    const socket = userSocket ? await userSocket(options) : connectTcp(options, attempts);
    attempts++;
    if (closing) {
      // Closed while a user's socket factory was still working.
      socket.destroy();
      refuse(connectionError('CONNECTION_CLOSED', 'the session is closed'));
    }
    for (let i = sockets.length - 1; i >= 0; i--) if (sockets[i]!.closed) sockets.splice(i, 1);
    sockets.push(socket);
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
    async close() {
      const broken = sessionLost(state) || closing;
      closing = true;
      // A lost or never-made connection has nothing to say goodbye to.
      await sql.end({ timeout: broken ? 0 : 5 });
      await Promise.all(
        sockets.filter((s) => !s.closed).map((s) => new Promise<void>((resolve) => {
          s.once('close', () => resolve());
          s.destroy();
        })),
      );
    },
  };
}

/**
 * What postgres.js does itself when no `socket` option is given: the next host in turn, or
 * the unix socket. postgres.js writes the startup message as soon as the factory returns;
 * a socket buffers writes until it is connected.
 */
function connectTcp(options: postgres.ParsedOptions, attempt: number): Socket {
  const socket = new Socket();
  const path = (options as { path?: string | false }).path;
  if (path) return socket.connect(path);
  const host = options.host[attempt % options.host.length]!;
  const port = options.port[attempt % options.port.length]!;
  socket.connect(port, host);
  // postgres.js reads these for TLS's server name and for its error messages.
  return Object.assign(socket, { host, port });
}
