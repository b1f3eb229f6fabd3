/**
 * What stops an install or drop before it touches anything: tables of another shape, names
 * held by other objects, no namespace selected, a server that cannot be written to. Pure:
 * catalog comparisons in, errors out.
 */
import { isBreaking, type CatalogState, type ItemStatus, type ReadOnlyTarget, type TableStatus } from '../catalog/compare.js';
import { AsyncmqPostgresError, printable } from '../errors.js';

export function existingOf(state: CatalogState) {
  return { namespace: state.namespace ?? undefined, namespaceExists: state.namespaceExists, tables: state.tables.map((t) => t.name) };
}

export function namespaceOf(state: CatalogState): string {
  if (state.namespace === null) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_INVALID_SETTING',
      'no schema is selected: the search_path names no existing schema; set postgresSchema (ASYNCMQ_POSTGRES_SCHEMA) or fix the search_path',
      { setting: 'postgresSchema' },
    );
  }
  return state.namespace;
}

/** One line per item kept, `  ns.table: kind name status, expected ..., found ...`, and its advice under it when asked. */
export function itemLines(
  statuses: TableStatus[],
  state: CatalogState,
  keep: (item: ItemStatus) => boolean,
  options: { advice?: boolean } = {},
): string[] {
  return statuses.flatMap((t) =>
    t.items
      .filter(keep)
      // Names and definitions come from the database: one line each, whatever they hold.
      .flatMap((i) => [
        printable(`  ${state.namespace}.${t.name}: ${i.kind} ${i.name} ${i.status}` + (i.expected ? `, expected ${i.expected}` : '') + (i.actual ? `, found ${i.actual}` : '')),
        ...(options.advice && i.advice ? [printable(`      ${i.advice}`)] : []),
      ]),
  );
}

/**
 * Stops before anything is done when an existing table has a difference that breaks AsyncMQ
 * (install alters nothing; drop takes only tables AsyncMQ could use, so not an app's table
 * under a configured name) or when a name a missing table needs is taken by another object
 * (Postgres would fail, or quietly give a serial sequence another name that the next check
 * would not recognise). Differences AsyncMQ works with (an app's nullable column, a DBA's
 * rebuilt index) stop neither: `status` reports them as warnings. Only the breaking items are
 * listed, each with what to do.
 */
export function refuseUnusable(statuses: TableStatus[], state: CatalogState, action: 'install' | 'drop'): void {
  const breaking = statuses.filter((t) => t.status === 'different');
  const different = itemLines(breaking, state, isBreaking, { advice: action === 'install' });
  if (different.length > 0) {
    const why =
      action === 'install'
        ? 'these differences break AsyncMQ, and install alters nothing, so fix them or drop the tables first'
        : 'drop removes only tables of the package\'s shape; drop these yourself if they are yours';
    throw new AsyncmqPostgresError('ASYNCMQ_SCHEMA_MISMATCH', `existing tables differ from the asyncmq-postgres schema; ${why}:\n${different.join('\n')}`);
  }
  // A name taken on an existing table only keeps an index from being built: AsyncMQ works
  // without it, and status reports it.
  const taken = itemLines(statuses.filter((t) => t.status === 'missing'), state, (i) => i.status === 'conflict');
  if (action === 'install' && taken.length > 0) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_NAME_CONFLICT',
      `names the asyncmq-postgres tables need are taken by other objects; rename or drop those, or configure other table names:\n${taken.join('\n')}`,
    );
  }
}

/** Where a setting came from, as pg_settings.source names it. */
const SETTING_SOURCES: Record<string, string> = {
  database: 'set for the database: ALTER DATABASE ... SET',
  user: 'set for the role: ALTER ROLE ... SET',
  'database user': 'set for the role in this database: ALTER ROLE ... IN DATABASE ... SET',
  'configuration file': "set in the server's configuration",
  session: 'set by the session',
  client: "set by the connection's options",
};

/** Why AsyncMQ cannot write to this target, and what to do, in words (status shows it too). */
export function describeReadOnly(target: ReadOnlyTarget): string {
  switch (target.kind) {
    case 'recovery':
      return 'the server is a hot standby (in recovery), where nothing can be written: point AsyncMQ and asyncmq-postgres at the primary';
    case 'default':
      return (
        `transactions here are read-only by default (default_transaction_read_only = on, ${SETTING_SOURCES[target.source] ?? `from ${target.source}`}), ` +
        'so every write of AsyncMQ fails; point at a database that takes writes, or RESET default_transaction_read_only where it is set'
      );
    case 'transaction':
      return 'the connection is inside a read-only transaction, where nothing can be written: call it outside that transaction, on a connection that takes writes';
  }
}

/**
 * Install (a no-op included), verifyOnly, upgrade and drop stop on a target where nothing can be
 * written, before any lock or DDL: a change would fail half-way with Postgres's own "read-only
 * transaction", and a no-op or a check that passed would tell an app pointed at a standby that
 * AsyncMQ can run there, when its first enqueue fails.
 */
export function refuseReadOnly(state: CatalogState): void {
  if (state.readOnly) throw new AsyncmqPostgresError('ASYNCMQ_READ_ONLY', `AsyncMQ cannot write to this database: ${describeReadOnly(state.readOnly)}`);
}
