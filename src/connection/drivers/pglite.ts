/**
 * PGlite, for an app's own in-process database (or drizzle-orm's PGlite database over it).
 *
 * PGlite is one database with one connection, so it is its own session. Statements go through
 * its queue one at a time; a transaction is PGlite's own `transaction()`, which holds its lock
 * for the whole transaction, so the app's concurrent queries wait for the call's transaction
 * instead of running inside it. The database is never closed.
 */
import type { Endpoint } from '../target.js';
import type { Clock, Giving } from '../deadline.js';
import type { Link, Param, Queryable, Row, Session, Step } from './types.js';

interface Results {
  rows: unknown[][];
}

interface QueryOptions {
  rowMode: 'array';
  parsers: Record<number, (value: string) => unknown>;
}

interface PgliteTransaction {
  query(text: string, params: readonly Param[] | undefined, options: QueryOptions): Promise<Results>;
}

interface Pglite extends PgliteTransaction {
  transaction<T>(callback: (tx: PgliteTransaction) => Promise<T>): Promise<T>;
  readonly closed?: boolean;
  readonly dataDir?: string;
}

/** PGlite (and PGliteWorker): `query`, `exec` and `transaction`, which no other client here has. */
export function isPglite(value: unknown): boolean {
  const v = value as Record<string, unknown> | null;
  return typeof v?.query === 'function' && typeof v.exec === 'function' && typeof v.transaction === 'function' && typeof v.describeQuery === 'function';
}

// The package's values are text (oid 25); no parser the app set for it runs.
const AS_TEXT: QueryOptions = { rowMode: 'array', parsers: { 25: (value) => value } };

function queryOn(db: PgliteTransaction): Queryable['unsafe'] {
  return async (text, params) => (await db.query(text, params && params.length > 0 ? params : undefined, AS_TEXT)).rows as Row[];
}

export function pgliteLink(db: Pglite, clock: Clock): Link {
  const endpoint: Endpoint = {
    target: `PGlite${db.dataDir ? ` (${db.dataDir})` : ' (in memory)'}`,
    user: 'postgres',
    secrets: { passwords: [] },
  };
  // In process: nothing can freeze, but the app's own transaction can hold PGlite's queue. Given
  // up on, the database is left as it is (no watch: a build has nothing to wait for here).
  const giving: Giving = { abandon: () => {}, abandoned: "the app's PGlite database was left as it is", connectMs: 0 };
  let open = false;
  const session: Session = {
    unsafe: clock.bound(queryOn(db), giving),
    get lost() {
      return db.closed === true;
    },
    canSendAfter: () => db.closed !== true,
    async transaction<T>(run: Step, body: (tx: Queryable) => Promise<T>): Promise<T> {
      // PGlite's transactions wait for each other: a nested one would wait forever.
      if (open) throw new Error('asyncmq-postgres: a transaction is already open on this session');
      open = true;
      let begun: () => void = () => {};
      const started = new Promise<void>((resolve) => (begun = resolve));
      let gaveUp = false;
      try {
        return await run('running the transaction', async () => {
          const done = db.transaction(async (tx) => {
            // Started after the call gave up waiting for it: nothing is done, and it rolls back.
            if (gaveUp) throw new Error('asyncmq-postgres gave up waiting for this transaction');
            begun();
            clock.inTransaction = true;
            try {
              return await body({ unsafe: clock.bound(queryOn(tx), giving) });
            } finally {
              clock.inTransaction = false;
            }
          });
          done.catch(() => {});
          // Waiting for PGlite's queue (the app's own transaction) is a lock wait, and bounded as one.
          await run('starting the transaction (PGlite runs one at a time)', () => clock.waitFor(Promise.race([started, done.then(() => {})]), giving), 'lock').catch(
            (error: unknown) => {
              gaveUp = true;
              throw error;
            },
          );
          return await done;
        });
      } finally {
        open = false;
      }
    },
  };
  return {
    endpoint,
    unsafe: session.unsafe,
    session: async () => session,
    failed: new Promise<never>(() => {}),
    lost: false,
    close: async () => {},
  };
}
