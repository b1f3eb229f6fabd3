/**
 * The SQL preview: what install runs on an empty database (or drop on an installed one, or an
 * upgrade on a database that holds an older version), for the configured names, from the same
 * plans the installer and the upgrade execute. Connects to nothing.
 */
import { planDrop, planInstall } from '../schema/ddl.js';
import { AsyncmqPostgresError } from '../errors.js';
import { resolveBackend } from '../schema/backend.js';
import type { BackendOptions } from './options.js';
import { planUpgrade, renderStep, type RenderedStep } from './upgrade/plan.js';
import { compareVersions, parseSchemaVersion } from '../config/versions.js';

export interface RenderSqlOptions {
  /** The drop statements instead of the install ones. */
  drop?: boolean;
  /** The upgrade's statements, from the version `from` to the configured one. */
  upgrade?: boolean;
  /** With `upgrade`: the version the database holds (`0.1`, or an AsyncMQ release such as `0.4.6`). */
  from?: string;
  settings?: BackendOptions['settings'];
  env?: BackendOptions['env'];
  /** The tables, as `createAsyncmqSchema` returned them (see `BackendOptions.schema`). */
  schema?: BackendOptions['schema'];
}

/** The DDL statements, in order: what a DBA reviews or runs by hand, inside one transaction. */
export function renderPostgresBackendSql(options: RenderSqlOptions = {}): string[] {
  if (options.upgrade) return renderUpgradeSql(options).flatMap((step) => [...step.concurrent, ...step.transaction.map((s) => s.sql)]);
  const { shapes, names } = resolveBackend(options);
  const namespace = names.postgresSchema;
  const plan = options.drop
    ? planDrop(shapes, { namespace, tables: shapes.map((s) => s.name) })
    : planInstall(shapes, { namespace, namespaceExists: namespace === undefined || namespace === 'public', tables: [] });
  return plan.map((statement) => statement.sql);
}

/**
 * The upgrade step by step: for each, the statements to run one by one outside a transaction
 * (the concurrent build of a new key's index), then those of its transaction.
 */
export function renderUpgradeSql(options: RenderSqlOptions): RenderedStep[] {
  const backend = resolveBackend(options);
  if (options.from === undefined) {
    throw new AsyncmqPostgresError('ASYNCMQ_USAGE', 'the upgrade SQL needs the version the database holds: from (--from), such as 0.1');
  }
  const from = parseSchemaVersion(options.from, 'from (--from)');
  if (compareVersions(from, backend.version) > 0) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_SCHEMA_NEWER',
      `from ${from} is newer than the configured ${backend.version} (postgresSchemaVersion); there is no downgrade`,
      { setting: 'postgresSchemaVersion' },
    );
  }
  return planUpgrade(backend, from, backend.version).map((step) => renderStep(step));
}
