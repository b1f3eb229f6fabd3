/**
 * What stops an install or drop before it touches anything: tables of another shape, names
 * held by other objects, no namespace selected. Pure: catalog comparisons in, errors out.
 */
import type { CatalogState, ItemStatus, TableStatus } from './catalog.js';
import { AsyncmqPostgresError } from './errors.js';

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

export function itemLines(statuses: TableStatus[], state: CatalogState, keep: (item: ItemStatus) => boolean): string[] {
  return statuses.flatMap((t) =>
    t.items
      .filter(keep)
      .map((i) => `  ${state.namespace}.${t.name}: ${i.kind} ${i.name} ${i.status}` + (i.expected ? `, expected ${i.expected}` : '') + (i.actual ? `, found ${i.actual}` : '')),
  );
}

/**
 * Stops before anything is done when an existing table has another shape (install alters
 * nothing; drop takes only the package's own tables) or when a name the tables need is taken
 * by another object (Postgres would fail, or quietly give a serial sequence another name that
 * the next check would not recognise).
 */
export function refuseUnusable(statuses: TableStatus[], state: CatalogState, action: 'install' | 'drop'): void {
  const different = itemLines(
    statuses.filter((t) => t.status === 'different'),
    state,
    (i) => i.kind !== 'index' && i.status !== 'present',
  );
  if (different.length > 0) {
    const why =
      action === 'install'
        ? 'install alters nothing, so fix or drop them first'
        : 'drop removes only tables of the package\'s shape; drop these yourself if they are yours';
    throw new AsyncmqPostgresError('ASYNCMQ_SCHEMA_MISMATCH', `existing tables differ from the asyncmq-postgres schema; ${why}:\n${different.join('\n')}`);
  }
  const taken = itemLines(statuses, state, (i) => i.status === 'conflict');
  if (action === 'install' && taken.length > 0) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_NAME_CONFLICT',
      `names the asyncmq-postgres tables need are taken by other objects; rename or drop those, or configure other table names:\n${taken.join('\n')}`,
    );
  }
}
