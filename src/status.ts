/**
 * `inspectPostgresBackend`: what the on-call engineer needs to know. Connects, reads the
 * catalog (no locks, no DDL) and reports every table, column, constraint and index as present,
 * missing or different, with what differs. The comparison is the one install refuses on.
 */
import { compareCatalog, missingIndexes, readCatalog, type ItemStatus, type TableStatus } from './catalog.js';
import { planConcurrentIndex } from './ddl.js';
import { withPool } from './pool.js';
import { resolveBackend, resolveBackendConnection, type BackendOptions } from './resolve.js';
import type { IndexProfile } from './settings.js';

export interface PostgresBackendStatus {
  /** True when every table, column, constraint and index is present and in shape. */
  ok: boolean;
  /** The namespace the names resolve to (`postgresSchema`, or the session's `current_schema()`). */
  namespace: string | null;
  namespaceExists: boolean;
  /** The index profile compared against. */
  indexes: IndexProfile;
  tables: (TableStatus & {
    /** For each missing or INVALID index of an existing table: the statement that builds it without blocking writers. */
    fixes: string[];
  })[];
}

export type { ItemStatus, TableStatus };

export async function inspectPostgresBackend(options: BackendOptions = {}): Promise<PostgresBackendStatus> {
  const backend = resolveBackend(options);
  const connection = resolveBackendConnection(options, backend.settings);
  const state = await withPool(connection, backend, (sql, run) => run('reading the catalog', () => readCatalog(sql, backend.shapes, { relations: true })));
  const statuses = compareCatalog(backend.shapes, state);
  const fixes = missingIndexes(backend.shapes, statuses);
  const tables = statuses.map((status) => ({
    ...status,
    fixes: fixes.filter((f) => f.shape.name === status.name).flatMap(planConcurrentIndex),
  }));
  return {
    ok: tables.every((t) => t.items.every((i) => i.status === 'present')),
    namespace: state.namespace,
    namespaceExists: state.namespaceExists,
    indexes: backend.names.postgresIndexes,
    tables,
  };
}
