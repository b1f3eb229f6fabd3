/**
 * What stops an install or drop before it touches anything: tables of another shape, names
 * held by other objects, no namespace selected. Pure: catalog comparisons in, errors out.
 */
import { isBreaking, type CatalogState, type ItemStatus, type TableStatus } from '../catalog/compare.js';
import { AsyncmqPostgresError } from '../errors.js';

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
      .flatMap((i) => [
        `  ${state.namespace}.${t.name}: ${i.kind} ${i.name} ${i.status}` + (i.expected ? `, expected ${i.expected}` : '') + (i.actual ? `, found ${i.actual}` : ''),
        ...(options.advice && i.advice ? [`      ${i.advice}`] : []),
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
