/**
 * PGlite, for an app's own in-process database (or drizzle-orm's PGlite database over it).
 *
 * PGlite is one database with one connection, so it is its own session. Statements go through
 * its queue one at a time; a transaction is PGlite's own `transaction()`, which holds its lock
 * for the whole transaction, so the app's concurrent queries wait for the call's transaction
 * instead of running inside it. The database is never closed.
 */
import type { Endpoint } from '../target.js';
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

export function pgliteLink(db: Pglite): Link {
  const endpoint: Endpoint = {
    target: `PGlite${db.dataDir ? ` (${db.dataDir})` : ' (in memory)'}`,
    user: 'postgres',
    secrets: { passwords: [] },
  };
  let open = false;
  const session: Session = {
    unsafe: queryOn(db),
    get lost() {
      return db.closed === true;
    },
    canSendAfter: () => db.closed !== true,
    async transaction<T>(run: Step, body: (tx: Queryable) => Promise<T>): Promise<T> {
      // PGlite's transactions wait for each other: a nested one would wait forever.
      if (open) throw new Error('asyncmq-postgres: a transaction is already open on this session');
      open = true;
      try {
        return await run('running the transaction', () => db.transaction((tx) => body({ unsafe: queryOn(tx) })));
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
