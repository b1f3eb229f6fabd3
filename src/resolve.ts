/**
 * One call's options resolved: explicit options, then `settings`, then the environment, then
 * the seed's defaults. Shared by install, drop, status and the SQL preview so they can never
 * disagree about which tables they mean.
 */
import { createHash } from 'node:crypto';
import { describeTables, type TableShape } from './ddl.js';
import { AsyncmqPostgresError } from './errors.js';
import { resolveConnection, type Connection } from './connection.js';
import { createAsyncmqSchema } from './tables.js';
import {
  ENV_VARS,
  PAUSED_QUEUES_TABLE_NAME,
  lockTimeoutOf,
  pickNames,
  resolveNames,
  resolveSettings,
  type AsyncmqSettings,
  type PoolOptions,
  type ResolvedNames,
} from './settings.js';
import { SCHEMA_VERSIONS, type SchemaVersion } from './versions.js';

export interface BackendOptions {
  /** Postgres URL; overrides `settings.asyncmqPostgresBackendUrl` and `ASYNCMQ_POSTGRES_BACKEND_URL`. */
  connectionString?: string;
  /** Per-call settings; each one not given here falls back to its `ASYNCMQ_*` environment variable. */
  settings?: AsyncmqSettings;
  /** The environment to read `ASYNCMQ_*` variables from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * Any other key is a pool option for `postgres()`, like AsyncMQ's `**pool_options`. When any
   * is given, they replace the settings' pool options (no merge).
   */
  [poolOption: string]: unknown;
}

const OWN_KEYS = new Set(['connectionString', 'settings', 'env', 'drop', 'concurrentIndexes', 'upgrade']);

export interface ResolvedBackend {
  settings: AsyncmqSettings;
  names: ResolvedNames;
  /** The configured schema version. */
  version: SchemaVersion;
  /** The configured version's tables. */
  shapes: TableShape[];
  lockTimeoutMs: number;
  /**
   * The same names in another schema version, for recognising what a database holds; undefined
   * for a version these names cannot have (a derived name of it would exceed 63 bytes).
   */
  shapesOf(version: SchemaVersion): TableShape[] | undefined;
  /** Every table name any version gives these names: what the catalog read covers. */
  catalogTables: string[];
}

// Building the Drizzle tables and their shapes costs about a millisecond, as much as the
// catalog read itself; a process that starts installs more than once (tests, a CLI run, a
// server that checks on every start of a worker) builds each name set once.
const built = new Map<string, TableShape[] | AsyncmqPostgresError>();

function shapesFor(names: ResolvedNames): TableShape[] {
  const key = JSON.stringify(names);
  let shapes = built.get(key);
  if (shapes === undefined) {
    try {
      shapes = describeTables(createAsyncmqSchema(names), names.postgresSchema);
    } catch (error) {
      if (!(error instanceof AsyncmqPostgresError)) throw error;
      shapes = error;
    }
    if (built.size >= 64) built.clear();
    built.set(key, shapes);
  }
  if (shapes instanceof AsyncmqPostgresError) throw shapes;
  return shapes;
}

export function resolveBackend(options: Pick<BackendOptions, 'settings' | 'env'> = {}): ResolvedBackend {
  const settings = resolveSettings(options.settings, options.env ?? process.env);
  const names = resolveNames(pickNames(settings));
  const shapes = shapesFor(names);
  // Built on demand: a no-op install, the common case, needs only the configured version.
  const shapesOf = (version: SchemaVersion) => {
    try {
      return shapesFor({ ...names, postgresSchemaVersion: version });
    } catch (error) {
      if (!(error instanceof AsyncmqPostgresError)) throw error;
      return undefined;
    }
  };
  return {
    settings,
    names,
    version: names.postgresSchemaVersion,
    shapes,
    lockTimeoutMs: lockTimeoutOf(settings),
    shapesOf,
    catalogTables: [
      names.postgresJobsTableName,
      names.postgresRepeatablesTableName,
      names.postgresCancelledJobsTableName,
      names.postgresWorkersHeartbeatTableName,
      PAUSED_QUEUES_TABLE_NAME,
    ],
  };
}

/** Every version's shapes for one backend's names, oldest first, skipping those the names cannot have. */
export function shapesByVersion(backend: ResolvedBackend): [SchemaVersion, TableShape[]][] {
  return SCHEMA_VERSIONS.flatMap((version) => {
    const shapes = backend.shapesOf(version);
    return shapes ? [[version, shapes] as [SchemaVersion, TableShape[]]] : [];
  });
}

export function resolveBackendConnection(options: BackendOptions, settings: AsyncmqSettings): Connection {
  const given = Object.fromEntries(Object.entries(options).filter(([key]) => !OWN_KEYS.has(key))) as PoolOptions;
  const fromCall = Object.keys(given).length > 0;
  const pool = fromCall ? given : (settings.asyncmqPostgresPoolOptions ?? {});
  const source = fromCall
    ? 'the call'
    : options.settings?.asyncmqPostgresPoolOptions
      ? 'settings.asyncmqPostgresPoolOptions'
      : ENV_VARS.asyncmqPostgresPoolOptions;
  return resolveConnection(options.connectionString ?? settings.asyncmqPostgresBackendUrl, pool, source);
}

/**
 * The advisory lock key for a namespace: installs and drops of the same namespace serialize,
 * whichever version of this package runs them, so the key depends on nothing else. Concurrent
 * index builds take a key of their own (`purpose`), since they run outside the transaction.
 */
export function lockKey(namespace: string, purpose?: 'index-build'): string {
  const subject = purpose ? `asyncmq-postgres:${namespace}:${purpose}` : `asyncmq-postgres:${namespace}`;
  return createHash('sha256').update(subject).digest().readBigInt64BE(0).toString();
}
