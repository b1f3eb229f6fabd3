/**
 * Transactions as plain statements on a session (BEGIN, COMMIT, ROLLBACK), for the drivers
 * whose session is one connection the package alone talks on during the call: its own
 * postgres.js connection, and a node-postgres client.
 *
 * Never postgres.js's `sql.begin()`, whose own ROLLBACK after a dead connection crashes the
 * process (see session.ts). After a lost connection nothing is sent: the server has rolled the
 * transaction back with the session, and no driver here reconnects a session.
 */
import type { Clock } from '../deadline.js';
import type { Queryable, Session, Step } from './types.js';

/** A session's statements and its state; `plainSession` adds the transactions. */
export interface SessionBase extends Queryable {
  readonly lost: boolean;
  canSendAfter(error: unknown): boolean;
}

/**
 * `base`'s statements each run under their deadline (clock.bound, by the driver); inside the
 * transaction, the clock gives them a lock wait's.
 */
export function plainSession(base: SessionBase, clock: Clock): Session {
  // A nested BEGIN would only warn in Postgres, and the inner COMMIT would commit the outer
  // transaction.
  let open = false;
  const session: Session = {
    unsafe: (text, params) => base.unsafe(text, params),
    get lost() {
      return base.lost;
    },
    canSendAfter: (error) => base.canSendAfter(error),
    async transaction<T>(run: Step, body: (tx: Queryable) => Promise<T>): Promise<T> {
      if (open) throw new Error('asyncmq-postgres: a transaction is already open on this session');
      open = true;
      try {
        await run('starting the transaction', () => base.unsafe('BEGIN'));
        clock.inTransaction = true;
        let result: T;
        try {
          result = await body(session);
        } catch (error) {
          // Best effort: the error that got us here is the one to report.
          if (base.canSendAfter(error) && !clock.expired) await base.unsafe('ROLLBACK').catch(() => {});
          throw error;
        }
        // Watched rather than timed: a COMMIT waits for no lock, but unlinks the files of the
        // tables it dropped, which takes as long as they are large.
        await run('committing the transaction', () => base.unsafe('COMMIT'), 'long');
        return result;
      } finally {
        open = false;
        clock.inTransaction = false;
      }
    },
  };
  return session;
}
