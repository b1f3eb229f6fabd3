/**
 * The SQL preview: what install runs on an empty database (or drop on an installed one), for
 * the configured names, from the same plan the installer executes. Connects to nothing.
 */
import { planDrop, planInstall } from './ddl.js';
import { resolveBackend, type BackendOptions } from './resolve.js';

export interface RenderSqlOptions {
  /** The drop statements instead of the install ones. */
  drop?: boolean;
  settings?: BackendOptions['settings'];
  env?: BackendOptions['env'];
}

/** The DDL statements, in order: what a DBA reviews or runs by hand, inside one transaction. */
export function renderPostgresBackendSql(options: RenderSqlOptions = {}): string[] {
  const { shapes, names } = resolveBackend(options);
  const namespace = names.postgresSchema;
  const plan = options.drop
    ? planDrop(shapes, { namespace, tables: shapes.map((s) => s.name) })
    : planInstall(shapes, { namespace, namespaceExists: namespace === undefined || namespace === 'public', tables: [] });
  return plan.map((statement) => statement.sql);
}
