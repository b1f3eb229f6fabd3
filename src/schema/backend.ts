/**
 * Which tables a call means: its options resolved (explicit options, then `settings`, then the
 * environment, then the seed's defaults) into the names, the schema version and each version's
 * table shapes. Shared by install, drop, status and the SQL preview so they can never disagree
 * about which tables they mean.
 */
import { getTableConfig, type PgSchema, type PgTable } from 'drizzle-orm/pg-core';
import { describeTable, describeTables, tablesOf, type TableShape } from './ddl.js';
import { AsyncmqPostgresError } from '../errors.js';
import { createAsyncmqSchema } from './tables.js';
import {
  describeSetting,
  ENV_VARS,
  PAUSED_QUEUES_TABLE_NAME,
  lockTimeoutOf,
  pickNames,
  relabel,
  resolveNames,
  resolveSettings,
  type AsyncmqNames,
  type AsyncmqSettings,
  type PoolOptions,
  type ResolvedNames,
} from '../config/settings.js';
import { parseSchemaVersion, SCHEMA_VERSIONS, type SchemaVersion } from '../config/versions.js';

/**
 * The tables as `createAsyncmqSchema` returned them (or the `./schema` entry's `asyncmq01` ...
 * `asyncmq09`): the very objects the app's drizzle-kit sees.
 */
export interface AsyncmqSchemaTables {
  jobs: PgTable;
  repeatables: PgTable;
  cancelledJobs: PgTable;
  workersHeartbeat?: PgTable | undefined;
  pausedQueues?: PgTable | undefined;
  pgSchema?: PgSchema<string> | undefined;
}

/** The options that choose the tables (every call's; the connection's are in operations/options.ts). */
export interface TableSelection {
  /**
   * The tables to install, check or drop, as the app's Drizzle schema holds them
   * (`createAsyncmqSchema(...)`). Their names, namespace, schema version and index profile are
   * the call's; a naming setting (in `settings` or the environment) that says otherwise is
   * refused, so the app's queries, its migrations and this call cannot mean different tables.
   */
  schema?: AsyncmqSchemaTables;
  /** Per-call settings; each one not given here falls back to its `ASYNCMQ_*` environment variable. */
  settings?: AsyncmqSettings;
  /** The environment to read `ASYNCMQ_*` variables from. Default `process.env`. */
  env?: Record<string, string | undefined>;
}


export interface ResolvedBackend {
  settings: AsyncmqSettings;
  names: ResolvedNames;
  /** The configured schema version. */
  version: SchemaVersion;
  /**
   * True when nothing chose the version (no setting, variable or tables), so it is the seed's
   * 0.1: what a first-time user gets without knowing it, and no target for an upgrade.
   */
  versionIsDefault: boolean;
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

/**
 * How a call's errors name what the user gave: each setting (the default names one the call's
 * `settings` hold as `settings.<key>`, and leaves the others to `describeSetting`, which names
 * the variable too), and the tables passed as `schema`. The CLI names its flags and config file.
 */
export interface SettingLabels {
  setting(key: keyof AsyncmqSettings): string | undefined;
  tables: string;
}

function callLabels(options: TableSelection): SettingLabels {
  return {
    setting: (key) => (options.settings?.[key] !== undefined ? `settings.${key}` : undefined),
    tables: 'the tables passed as schema',
  };
}

export function resolveBackend(options: TableSelection = {}, labels: SettingLabels = callLabels(options)): ResolvedBackend {
  try {
    return resolve(options, labels);
  } catch (error) {
    throw relabel(error, labels.setting);
  }
}

function resolve(options: TableSelection, labels: SettingLabels): ResolvedBackend {
  const settings = resolveSettings(options.settings, options.env ?? process.env);
  const names = options.schema ? namesOfSchema(options.schema, settings, labels) : resolveNames(pickNames(settings));
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
    versionIsDefault: options.schema === undefined && settings.postgresSchemaVersion === undefined,
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

/**
 * The names, namespace, version and profile of tables the factory made, read back from the
 * tables themselves (so a set rebuilt or spread by the app works as well), checked against the
 * settings, and against the factory: tables it would not make the same way are refused, since
 * install would create what the app's migrations do not.
 */
function namesOfSchema(schema: AsyncmqSchemaTables, settings: AsyncmqSettings, labels: SettingLabels): ResolvedNames {
  const invalid = (why: string) =>
    new AsyncmqPostgresError('ASYNCMQ_INVALID_SETTING', `${labels.tables} ${why}`, { setting: 'schema' });
  const set = schema as unknown as Record<string, unknown>;
  const table = (key: keyof AsyncmqSchemaTables) => tablesOf({ [key]: set[key] })[0];
  const jobs = table('jobs');
  const repeatables = table('repeatables');
  const cancelledJobs = table('cancelledJobs');
  if (!jobs || !repeatables || !cancelledJobs) {
    throw invalid('must be the tables createAsyncmqSchema() returns: jobs, repeatables and cancelledJobs at least');
  }
  const heartbeat = table('workersHeartbeat');
  const jobsShape = describeTable(jobs);
  const fromTables: AsyncmqNames = {
    postgresJobsTableName: jobsShape.name,
    postgresRepeatablesTableName: getTableConfig(repeatables).name,
    postgresCancelledJobsTableName: getTableConfig(cancelledJobs).name,
    ...(heartbeat ? { postgresWorkersHeartbeatTableName: getTableConfig(heartbeat).name } : {}),
    ...(jobsShape.schema ? { postgresSchema: jobsShape.schema } : {}),
    postgresIndexes: jobsShape.indexes.some((i) => i.name === `idx_${jobsShape.name}_by_priority`)
      ? 'asyncmq-0.9'
      : jobsShape.indexes.some((i) => i.name === `idx_${jobsShape.name}_dequeue`)
        ? 'queue'
        : 'seed',
    postgresSchemaVersion: table('pausedQueues')
      ? '0.9'
      : !heartbeat
        ? '0.1'
        : jobsShape.constraints.some((c) => c.kind !== 'PRIMARY KEY' && c.columns.join() === 'queue_name,job_id')
          ? '0.8'
          : '0.2',
  };

  // A naming setting that says otherwise: the call, or the environment, means other tables.
  const configured = pickNames(settings);
  for (const [key, value] of Object.entries(configured) as [keyof AsyncmqNames, string][]) {
    const ours = fromTables[key];
    if (ours === undefined && key === 'postgresWorkersHeartbeatTableName') continue; // a version without that table
    const same =
      key === 'postgresSchemaVersion'
        ? parseSchemaVersion(value, describeSetting(key), key) === ours
        : key === 'postgresSchema'
          ? (value === 'public' ? undefined : value) === ours
          : value === ours;
    if (!same) {
      const source = labels.setting(key) ?? ENV_VARS[key];
      throw new AsyncmqPostgresError(
        'ASYNCMQ_INVALID_SETTING',
        `${source} is ${JSON.stringify(value)}, but ${labels.tables} have ${ours === undefined ? 'none' : JSON.stringify(ours)}; ` +
          'the tables decide: remove the setting, or build the tables with it (createAsyncmqSchema)',
        { setting: key },
      );
    }
  }

  const names = resolveNames({ ...pickNames(settings), ...fromTables });
  const byName = (shapes: TableShape[]) => JSON.stringify([...shapes].sort((a, b) => a.name.localeCompare(b.name)));
  const expected = byName(describeTables(createAsyncmqSchema(names), names.postgresSchema));
  const actual = byName(describeTables(schema, names.postgresSchema));
  if (actual !== expected) {
    throw invalid(
      `hold tables that createAsyncmqSchema(${JSON.stringify(fromTables)}) would not make (changed or hand-written tables); ` +
        'pass the tables the factory returned',
    );
  }
  return names;
}

/** Every version's shapes for one backend's names, oldest first, skipping those the names cannot have. */
export function shapesByVersion(backend: ResolvedBackend): [SchemaVersion, TableShape[]][] {
  return SCHEMA_VERSIONS.flatMap((version) => {
    const shapes = backend.shapesOf(version);
    return shapes ? [[version, shapes] as [SchemaVersion, TableShape[]]] : [];
  });
}
