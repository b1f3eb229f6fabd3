/**
 * `inspectPostgresBackend`: what the on-call engineer needs to know. Connects, reads the
 * catalog (no locks, no DDL) and reports every table, column, constraint and index as present,
 * missing or different, with what differs. The comparison is the one install refuses on.
 */
import { compareCatalog, missingIndexes, type ItemStatus, type TableStatus } from './catalog.js';
import { planConcurrentIndex } from './ddl.js';
import { detectVersion, readBackendCatalog, verdictFor, type VersionMatch } from './detect.js';
import { withPool } from './pool.js';
import { resolveBackend, resolveBackendConnection, type BackendOptions } from './resolve.js';
import type { IndexProfile } from './settings.js';
import type { SchemaVersion } from './versions.js';

export interface SchemaVersionStatus extends VersionMatch {
  /** The configured version (`postgresSchemaVersion`). */
  configured: SchemaVersion;
  /**
   * For the configured version: `compatible` (install completes it, nothing in the way); `upgrade-required` (`from` the version held, fixed by
   * `asyncmq-postgres upgrade`); `newer` (the database holds a newer version, with no downgrade);
   * `mixed`; or `other-shape` (tables of no known version stand in the way).
   */
  verdict: 'compatible' | 'upgrade-required' | 'newer' | 'mixed' | 'other-shape';
  from?: SchemaVersion;
}

export interface PostgresBackendStatus {
  /** True when every table, column, constraint and index is present and in shape. */
  ok: boolean;
  /** The namespace the names resolve to (`postgresSchema`, or the session's `current_schema()`). */
  namespace: string | null;
  namespaceExists: boolean;
  /** The index profile compared against. */
  indexes: IndexProfile;
  /** Which AsyncMQ schema version the tables are, against the configured one. */
  schemaVersion: SchemaVersionStatus;
  tables: (TableStatus & {
    /** For each missing or INVALID index of an existing table: the statement that builds it without blocking writers. */
    fixes: string[];
  })[];
}

export type { ItemStatus, TableStatus };

export async function inspectPostgresBackend(options: BackendOptions = {}): Promise<PostgresBackendStatus> {
  const backend = resolveBackend(options);
  const connection = resolveBackendConnection(options, backend.settings);
  const state = await withPool(connection, backend, (sql, run) =>
    run('reading the catalog', () => readBackendCatalog(sql, backend, { relations: true })),
  );
  const statuses = compareCatalog(backend.shapes, state);
  const match = detectVersion(backend, state);
  const verdict = verdictFor(backend.version, statuses, match);
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
    schemaVersion: {
      configured: backend.version,
      ...match,
      verdict: VERDICTS[verdict.kind],
      ...(verdict.kind === 'upgrade' ? { from: verdict.from } : {}),
    },
    tables,
  };
}

const VERDICTS = { ok: 'compatible', upgrade: 'upgrade-required', newer: 'newer', mixed: 'mixed', unknown: 'other-shape' } as const;
