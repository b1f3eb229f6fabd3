/**
 * A Drizzle Postgres database: drizzle-orm's `PgDatabase` (0.x) or `BasePgAsyncDatabase` (1.0),
 * told by drizzle's entity kinds, as its own `is()` does, not by `instanceof`, which fails when
 * the app and the package resolve two copies of drizzle-orm. The kinds are compared as names, so
 * one build of the package serves both lines.
 *
 * On postgres-js, node-postgres and PGlite the package uses the database's `$client`, as
 * clients.ts does for a raw client. Any other driver (an HTTP one, say, or a proxy) runs one
 * statement per request, with no session: the package reads through its `execute()`, so
 * `status` and a no-op install work, and refuses what needs a session with
 * ASYNCMQ_SESSION_REQUIRED.
 */
import { entityKind, sql, type SQL } from 'drizzle-orm';
import { AsyncmqPostgresError } from '../../errors.js';
import { clientLink, describeValue, isClient } from './clients.js';
import { DEFAULT_CONNECT_MS, type Clock } from '../deadline.js';
import type { Link, Param, Row } from './types.js';

interface Executes {
  execute(query: SQL): PromiseLike<unknown>;
  $client?: unknown;
}

/** Drizzle's entity kinds of a value's class and its ancestors (`PgAsyncDatabase`, `BasePgAsyncDatabase`). */
function entityKinds(value: unknown): string[] {
  const kinds: string[] = [];
  if (value === null || typeof value !== 'object') return kinds;
  for (let cls = (value as object).constructor as unknown; typeof cls === 'function'; cls = Object.getPrototypeOf(cls)) {
    const kind = (cls as unknown as Record<symbol, unknown>)[entityKind];
    if (typeof kind === 'string' && Object.hasOwn(cls as object, entityKind)) kinds.push(kind);
  }
  return kinds;
}

const DATABASE_KINDS = ['PgDatabase', 'BasePgAsyncDatabase'];
const TRANSACTION_KINDS = ['PgTransaction', 'PgAsyncTransaction'];

/** The driver's name for messages: drizzle's entity kind of the database (`NeonHttpDatabase`). */
function kindOf(db: object): string {
  const kind = (db.constructor as unknown as Record<symbol, unknown>)[entityKind];
  return typeof kind === 'string' ? kind : 'PgDatabase';
}

/** Our `$1` placeholders as drizzle parameters, which each driver renders its own way. */
function toSql(text: string, params: readonly Param[] | undefined): SQL {
  if (!params || params.length === 0) return sql.raw(text);
  const parts = text.split(/\$(\d+)/);
  return sql.join(parts.map((part, i) => (i % 2 === 0 ? sql.raw(part) : sql`${params[Number(part) - 1]}`)));
}

function executeLink(db: Executes, kind: string, transaction: boolean, clock: Clock): Link {
  const endpoint = { target: `the Drizzle ${kind}`, user: 'its role', secrets: { passwords: [] } };
  return {
    endpoint,
    // Given up on, the app's database is left as it is; its driver may connect at the first statement.
    unsafe: clock.bound(
      async (text, params) => {
        const result = await db.execute(toSql(text, params));
        const rows = Array.isArray(result) ? result : ((result as { rows?: unknown[] } | null)?.rows ?? []);
        return rows.map((row) => (Array.isArray(row) ? row : Object.values(row as object))) as Row[];
      },
      { abandon: () => {}, abandoned: `the app's Drizzle ${kind} was left as it is`, connectMs: DEFAULT_CONNECT_MS },
    ),
    async session(needs) {
      throw new AsyncmqPostgresError(
        'ASYNCMQ_SESSION_REQUIRED',
        transaction
          ? `${needs} needs a session of its own, and db is a Drizzle transaction (${kind}); pass the database itself`
          : `${needs} needs a session of its own, which a Drizzle ${kind} cannot provide (its driver runs each statement on its own); ` +
            'pass a database on postgres-js, node-postgres or PGlite, or a connectionString, for this call',
      );
    },
    failed: new Promise<never>(() => {}),
    lost: false,
    close: async () => {},
  };
}

export function drizzleLink(db: unknown, clock: Clock): Link {
  const kinds = entityKinds(db);
  if (!kinds.some((kind) => DATABASE_KINDS.includes(kind))) {
    const hint = isClient(db) ? ': it is a driver client; pass it as client' : '';
    throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `db must be a Drizzle Postgres database (drizzle-orm's PgDatabase), got ${describeValue(db)}${hint}`);
  }
  const database = db as unknown as Executes;
  const transaction = kinds.some((kind) => TRANSACTION_KINDS.includes(kind));
  const client = transaction ? undefined : database.$client;
  return (client !== undefined && clientLink(client, clock)) || executeLink(database, kindOf(database), transaction, clock);
}
