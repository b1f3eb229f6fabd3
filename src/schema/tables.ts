/**
 * AsyncMQ's Postgres tables as Drizzle definitions, for every schema version: the one source of
 * truth for the names and shapes that drizzle-kit, the installer, the upgrade, `status` and `sql`
 * all use. Each table is defined once (builders.ts); a version only decides which tables exist
 * and which unique key the jobs table has. Here: the factory that checks the names and builds a
 * version's set, and the tables' public types.
 *
 * Apps reach this through the `asyncmq-postgres/schema` entry, which drizzle-kit loads through
 * a CommonJS require hook: it must import neither postgres.js nor drizzle-kit.
 */
import type { $Type, HasDefault, IsPrimaryKey, NotNull } from 'drizzle-orm';
import {
  boolean,
  doublePrecision,
  integer,
  jsonb,
  pgSchema,
  pgTable,
  serial,
  text,
  timestamp,
  type PgSchema,
  type PgTableWithColumns,
} from 'drizzle-orm/pg-core';
import { checkDerivedNames } from './ddl.js';
import { cancelledJobsTable, jobsTable, pausedQueuesTable, repeatablesTable, workersHeartbeatTable, type TableFn } from './builders.js';
import type { AsyncmqJobRecord, AsyncmqRepeatableDefinition, OpenStatus } from './records.js';
import { PAUSED_QUEUES_TABLE_NAME, resolveNames, type AsyncmqNames } from '../config/settings.js';
import { compareVersions, type SchemaVersion } from '../config/versions.js';

export { ASYNCMQ_JOB_STATUSES, type AsyncmqJobRecord, type AsyncmqJobStatus, type AsyncmqRepeatableDefinition } from './records.js';
export { ASYNCMQ_DELAY_UNTIL_KEY, ASYNCMQ_PRIORITY_KEY, indexProfileOf } from './builders.js';

/**
 * The tables' types, spelled in terms of drizzle-orm's own public generics (`pgTable`, the column
 * functions, `NotNull`, `HasDefault`, ...), so that the consumer's drizzle-orm computes them: the
 * published declarations hold no expanded column types of the drizzle-orm this package was built
 * with, and work on the 0.45 line and the 1.0 line alike. Table names are literal types, so joins
 * key their rows by table name.
 */
type Text = ReturnType<typeof text>;
type Serial = ReturnType<typeof serial>;
type Jsonb = ReturnType<typeof jsonb>;
type DoublePrecision = ReturnType<typeof doublePrecision>;
type Integer = ReturnType<typeof integer>;
type Boolean = ReturnType<typeof boolean>;
type TimestampString = ReturnType<typeof timestamp<'string'>>;
type TimestampDate = ReturnType<typeof timestamp<'date'>>;
/**
 * `.array()`: 0.45 has one signature, 1.0 two (`array()` and `array(dimensions)`); matching both
 * shapes takes the one without dimensions where there is one.
 */
type ArrayOf<B> = B extends { array(): infer One; array(dimensions: never): infer Last } ? (unknown extends One ? Last : One) : never;
/** The SQL name where the line types it (0.45: `column._.name`); 1.0 has no such type, and it is left alone. */
type Named<B, N extends string> = B extends { _: { name: string } } ? Omit<B, '_'> & { _: Omit<B['_'], 'name'> & { name: N } } : B;

export type AsyncmqJobsColumns = {
  id: Named<IsPrimaryKey<NotNull<Serial>>, 'id'>;
  queueName: Named<NotNull<Text>, 'queue_name'>;
  jobId: Named<NotNull<Text>, 'job_id'>;
  data: Named<NotNull<$Type<Jsonb, AsyncmqJobRecord>>, 'data'>;
  status: Named<$Type<Text, OpenStatus>, 'status'>;
  delayUntil: Named<DoublePrecision, 'delay_until'>;
  createdAt: Named<HasDefault<TimestampString>, 'created_at'>;
  updatedAt: Named<HasDefault<TimestampString>, 'updated_at'>;
};
export type AsyncmqRepeatablesColumns = {
  queueName: Named<NotNull<Text>, 'queue_name'>;
  jobDef: Named<NotNull<$Type<Jsonb, AsyncmqRepeatableDefinition>>, 'job_def'>;
  nextRun: Named<NotNull<TimestampDate>, 'next_run'>;
  paused: Named<HasDefault<NotNull<Boolean>>, 'paused'>;
};
export type AsyncmqCancelledJobsColumns = {
  queueName: Named<NotNull<Text>, 'queue_name'>;
  jobId: Named<NotNull<Text>, 'job_id'>;
};
export type AsyncmqWorkersHeartbeatColumns = {
  workerId: Named<IsPrimaryKey<NotNull<Text>>, 'worker_id'>;
  queues: Named<ArrayOf<Text>, 'queues'>;
  concurrency: Named<Integer, 'concurrency'>;
  heartbeat: Named<DoublePrecision, 'heartbeat'>;
};
export type AsyncmqPausedQueuesColumns = {
  queueName: Named<IsPrimaryKey<NotNull<Text>>, 'queue_name'>;
  pausedAt: Named<HasDefault<TimestampString>, 'paused_at'>;
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- pgTable's own constraint on the columns
type Columns = Record<string, any>;
type TableConfigOf<N extends string, C extends Columns> = ReturnType<typeof pgTable<N, C>> extends PgTableWithColumns<infer T> ? T : never;
/** A table named `N` in the namespace `S` (undefined: unqualified), with the columns `C`. */
export type AsyncmqTable<N extends string, S extends string | undefined, C extends Columns> = PgTableWithColumns<
  Omit<TableConfigOf<N, C>, 'schema'> & { schema: S }
>;

/** What the factory takes: the naming settings, in code. */
export type AsyncmqSchemaOptions = AsyncmqNames;

/** A name at the type level: the literal given, the default where none is, `string` where it may be either. */
type Given<O, K extends keyof AsyncmqNames, Default extends string> = K extends keyof O
  ? [Exclude<O[K], undefined>] extends [never]
    ? Default
    : undefined extends O[K]
      ? Extract<O[K], string> | Default
      : Extract<O[K], string>
  : Default;
/** The namespace at the type level: `public` and none are both unqualified. */
type NamespaceOf<O> = 'postgresSchema' extends keyof O ? Unqualified<O['postgresSchema']> : undefined;
type Unqualified<S> = S extends 'public' ? undefined : S;
type Namespace<O> = Extract<NamespaceOf<O>, string | undefined>;
/** An AsyncMQ release number to its schema version, at the type level (`0.4.6` is `0.2`). */
export type SchemaVersionOf<V extends string> = V extends `${'v' | ''}0.1${'' | `.${number}`}`
  ? '0.1'
  : V extends `${'v' | ''}0.${2 | 3 | 4 | 5 | 6 | 7}${'' | `.${number}`}`
    ? '0.2'
    : V extends `${'v' | ''}0.8${'' | `.${number}`}`
      ? '0.8'
      : V extends `${'v' | ''}0.9${'' | `.${number}`}`
        ? '0.9'
        : SchemaVersion;

type SeedTables<O> = {
  jobs: AsyncmqTable<Given<O, 'postgresJobsTableName', 'asyncmq_jobs'>, Namespace<O>, AsyncmqJobsColumns>;
  repeatables: AsyncmqTable<Given<O, 'postgresRepeatablesTableName', 'asyncmq_repeatables'>, Namespace<O>, AsyncmqRepeatablesColumns>;
  cancelledJobs: AsyncmqTable<Given<O, 'postgresCancelledJobsTableName', 'asyncmq_cancelled_jobs'>, Namespace<O>, AsyncmqCancelledJobsColumns>;
};
type HeartbeatTables<O> = {
  workersHeartbeat: AsyncmqTable<
    Given<O, 'postgresWorkersHeartbeatTableName', 'asyncmq_workers_heartbeat'>,
    Namespace<O>,
    AsyncmqWorkersHeartbeatColumns
  >;
};
type PausedQueuesTables<O> = { pausedQueues: AsyncmqTable<typeof PAUSED_QUEUES_TABLE_NAME, Namespace<O>, AsyncmqPausedQueuesColumns> };
type VersionTables<O, V extends SchemaVersion> = [V] extends ['0.1']
  ? {}
  : [V] extends ['0.2' | '0.8']
    ? HeartbeatTables<O>
    : [V] extends ['0.9']
      ? HeartbeatTables<O> & PausedQueuesTables<O>
      : Partial<HeartbeatTables<O> & PausedQueuesTables<O>>;
/** `pgSchema`: the namespace's `pgSchema` object, which drizzle-kit needs to create the namespace. */
type NamespaceKey<O> = [NamespaceOf<O>] extends [undefined]
  ? {}
  : undefined extends NamespaceOf<O>
    ? { pgSchema?: PgSchema<Extract<NamespaceOf<O>, string>> }
    : { pgSchema: PgSchema<Extract<NamespaceOf<O>, string>> };

/**
 * What `createAsyncmqSchema(options)` returns: the tables of the schema version the options
 * name (the seed's three by default), and, in a namespace, `pgSchema`. A version that is not one
 * literal (a value read at run time) types the later tables as possibly absent.
 */
export type AsyncmqSchema<O extends AsyncmqSchemaOptions = {}> = SeedTables<O> &
  VersionTables<O, SchemaVersionOf<Given<O, 'postgresSchemaVersion', '0.1'>>> &
  NamespaceKey<O>;

/** @deprecated the same as `AsyncmqSchema<{ postgresSchemaVersion: V }>`. */
export type AsyncmqTables<V extends string = '0.1'> = AsyncmqSchema<{ postgresSchemaVersion: V }>;

/**
 * Builds the tables of one AsyncMQ schema version (`postgresSchemaVersion`, default `0.1`, the
 * seed's three) for the given names, in code: pure, and never reads the environment (names not
 * given take the defaults). With a namespace (`postgresSchema`), the result also holds its
 * `pgSchema`, to export beside the tables so that drizzle-kit creates the namespace. Throws
 * `AsyncmqPostgresError` for a name Postgres or AsyncMQ would misread, or whose derived names
 * (indexes, constraints, sequence) would not fit in 63 bytes.
 */
export function createAsyncmqSchema<const O extends AsyncmqSchemaOptions = {}>(options?: O): AsyncmqSchema<O> {
  const n = resolveNames(options);
  const version = n.postgresSchemaVersion;
  // pgSchema('public') throws; `public` is Drizzle's unqualified default anyway.
  const namespace = n.postgresSchema && n.postgresSchema !== 'public' ? pgSchema(n.postgresSchema) : undefined;
  const table = (namespace ? namespace.table : pgTable) as TableFn;

  const jobs = jobsTable(table, n.postgresJobsTableName, version, n.postgresIndexes);
  const repeatables = repeatablesTable(table, n.postgresRepeatablesTableName, version, n.postgresIndexes);
  const cancelledJobs = cancelledJobsTable(table, n.postgresCancelledJobsTableName);
  const workersHeartbeat = compareVersions(version, '0.2') >= 0 ? workersHeartbeatTable(table, n.postgresWorkersHeartbeatTableName) : undefined;
  const pausedQueues = compareVersions(version, '0.9') >= 0 ? pausedQueuesTable(table) : undefined;

  // The declared types above must describe what the builders make: checked here, where both meet.
  jobs satisfies AsyncmqTable<string, string | undefined, AsyncmqJobsColumns>;
  repeatables satisfies AsyncmqTable<string, string | undefined, AsyncmqRepeatablesColumns>;
  cancelledJobs satisfies AsyncmqTable<string, string | undefined, AsyncmqCancelledJobsColumns>;
  workersHeartbeat satisfies AsyncmqTable<string, string | undefined, AsyncmqWorkersHeartbeatColumns> | undefined;
  pausedQueues satisfies AsyncmqTable<string, string | undefined, AsyncmqPausedQueuesColumns> | undefined;

  checkDerivedNames({
    postgresJobsTableName: jobs,
    postgresRepeatablesTableName: repeatables,
    postgresCancelledJobsTableName: cancelledJobs,
    ...(workersHeartbeat ? { postgresWorkersHeartbeatTableName: workersHeartbeat } : {}),
    ...(pausedQueues ? { postgresSchemaVersion: pausedQueues } : {}),
  });
  return {
    jobs,
    repeatables,
    cancelledJobs,
    ...(workersHeartbeat ? { workersHeartbeat } : {}),
    ...(pausedQueues ? { pausedQueues } : {}),
    ...(namespace ? { pgSchema: namespace } : {}),
  } as unknown as AsyncmqSchema<O>;
}
