/**
 * AsyncMQ's Postgres tables as Drizzle definitions, for every schema version: the one source of
 * truth for the names and shapes that drizzle-kit, the installer, the upgrade, `status` and `sql`
 * all use. Each table is defined once; a version only decides which tables exist and which
 * unique key the jobs table has.
 *
 * Apps reach this through the `asyncmq-postgres/schema` entry, which drizzle-kit loads through
 * a CommonJS require hook: it must import neither postgres.js nor drizzle-kit.
 */
import { sql, type $Type, type HasDefault, type IsPrimaryKey, type NotNull } from 'drizzle-orm';
import {
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgSchema,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  unique,
  type PgSchema,
  type PgColumn,
  type PgTableFn,
  type PgTableWithColumns,
} from 'drizzle-orm/pg-core';
import { checkDerivedNames } from './ddl.js';
import { PAUSED_QUEUES_TABLE_NAME, resolveNames, type AsyncmqNames, type IndexProfile } from '../config/settings.js';
import { compareVersions, type SchemaVersion } from '../config/versions.js';

/** The statuses AsyncMQ writes. The columns are plain text, so other strings still type-check. */
export const ASYNCMQ_JOB_STATUSES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'expired', 'queued'] as const;
export type AsyncmqJobStatus = (typeof ASYNCMQ_JOB_STATUSES)[number];
type OpenStatus = AsyncmqJobStatus | (string & {});

/** The job record AsyncMQ stores in `data` (its `Job.to_dict()`); other keys may appear. */
export interface AsyncmqJobRecord {
  id: string;
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  retries?: number;
  max_retries?: number;
  backoff?: unknown;
  ttl?: number | null;
  created_at?: number;
  last_attempt?: number | null;
  status?: OpenStatus;
  result?: unknown;
  delay_until?: number | null;
  priority?: number;
  depends_on?: string[];
  repeat_every?: number | null;
  [key: string]: unknown;
}

/** A repeatable job definition as AsyncMQ stores it in `job_def`. */
export interface AsyncmqRepeatableDefinition {
  task_id?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  every?: number | null;
  cron?: string | null;
  [key: string]: unknown;
}

type TableFn = PgTableFn<string | undefined>;

/**
 * The profile a schema version gets for the one configured: `asyncmq-0.9` serves AsyncMQ 0.9's
 * statements, and on an older schema means `queue`, whose index serves their dequeue.
 */
export function indexProfileOf(version: SchemaVersion, profile: IndexProfile): IndexProfile {
  return profile === 'asyncmq-0.9' && compareVersions(version, '0.9') < 0 ? 'queue' : profile;
}

/**
 * AsyncMQ 0.9's own expressions, as `pg_get_expr()` prints them (the catalog check compares that
 * text): the dequeue's ORDER BY, `COALESCE((jobs.data ->> 'priority')::int, 5)`, and the due
 * delayed jobs' filter, `(data ->> 'delay_until')::float <= $3`. Postgres serves an ORDER BY or
 * a range from an index only when the index holds that very expression.
 */
export const ASYNCMQ_PRIORITY_KEY = `COALESCE(((data ->> 'priority'::text))::integer, 5)`;
export const ASYNCMQ_DELAY_UNTIL_KEY = `((data ->> 'delay_until'::text))::double precision`;

/**
 * The jobs table's indexes in each profile (see docs/performance.md for the plans and the
 * measurements behind them).
 *
 * `asyncmq-0.9` indexes AsyncMQ 0.9's own casts of `data`. Postgres computes the dequeue's
 * ordering key for every waiting job of the queue, and the due delayed jobs' cast for every
 * delayed job of the queue, index or not: so one job whose priority or delay AsyncMQ's cast
 * cannot read (`"high"`, `2.5`, `"tomorrow"`) already makes every dequeue, or every scan of due
 * jobs, of its queue fail, for every worker, until someone removes it. The index moves that
 * failure to the one write that stores the job: its producer gets the cast's error
 * (`invalid input syntax for type integer: "high"`) and the queue keeps running. A guarded
 * cast would store such a job, but it is another expression, which the planner never matches
 * to AsyncMQ's. What it costs: every update of `data` (AsyncMQ's heartbeats) changes an indexed
 * expression, so none of them is HOT any more, and each writes every index of the table.
 * Existing rows the casts cannot read are found before the index is built
 * (src/catalog/poison.ts), and the build is refused while they remain.
 */
function jobsIndexes(
  t: { queueName: PgColumn; status: PgColumn; delayUntil: PgColumn; createdAt: PgColumn },
  J: string,
  version: SchemaVersion,
  profile: IndexProfile,
) {
  switch (indexProfileOf(version, profile)) {
    case 'asyncmq-0.9':
      // No partial index: AsyncMQ binds the status as a parameter ($2 = 'waiting'), and under
      // a generic plan (plan_cache_mode = force_generic_plan, a pooler sharing prepared
      // statements) a plan cannot use an index whose predicate names a status. So the status
      // is the first key instead, which also serves the statements that filter on it alone
      // (the stalled check, across queues) or with the queue (the counts, list_jobs, the
      // purge of cancelled jobs). And an index over every row refuses a job that cannot be
      // cast whatever its status: a delayed job whose priority is "high" is refused when it
      // is enqueued, not when promote_due_delayed makes it waiting (which would fail the
      // promotion of every due job of its queue).
      return [
        // The dequeue: (status, queue) equal, then AsyncMQ's ORDER BY, so it reads one entry.
        index(`idx_${J}_by_priority`).on(t.status, t.queueName, sql.raw(ASYNCMQ_PRIORITY_KEY), t.createdAt),
        // pop_due_delayed and promote_due_delayed: (status, queue) equal, then the due time as
        // a range, so they read the due jobs alone. Outer parentheses: drizzle-kit writes an
        // expression key as it is given, and a cast must stand in parentheses there.
        index(`idx_${J}_by_delay`).on(t.status, t.queueName, sql.raw(`(${ASYNCMQ_DELAY_UNTIL_KEY})`)),
      ];
    case 'queue':
    case 'seed':
      return [
        index(`idx_${J}_queue_name`).on(t.queueName),
        index(`idx_${J}_status`).on(t.status),
        index(`idx_${J}_delay_until`).on(t.delayUntil),
        // The `queue` profile: AsyncMQ's dequeue (oldest waiting job of a queue, FOR UPDATE SKIP
        // LOCKED) walks this index and stops at the first row, where the seed's single-column
        // indexes make it sort half the table; queue_stats and purge filter on its first two columns.
        ...(profile === 'seed' ? [] : [index(`idx_${J}_dequeue`).on(t.queueName, t.status, t.createdAt)]),
      ];
  }
}

// Constraint names are the ones Postgres gives AsyncMQ's own SQL, not Drizzle's defaults, so
// drizzle-kit sees no drift against a database that AsyncMQ itself installed.

function jobsTable(table: TableFn, J: string, version: SchemaVersion, profile: IndexProfile) {
  return table(
    J,
    {
      // A column-level primary key: drizzle-kit compares a one-column table-level key as a
      // different constraint and would drop and re-add it. Postgres names it <table>_pkey.
      id: serial('id').primaryKey(),
      queueName: text('queue_name').notNull(),
      jobId: text('job_id').notNull(),
      data: jsonb('data').$type<AsyncmqJobRecord>().notNull(),
      status: text('status').$type<OpenStatus>(),
      delayUntil: doublePrecision('delay_until'),
      // Without time zone, as AsyncMQ's SQL: read back as the stored string, since a Date would
      // be shifted by the writing session's TimeZone offset.
      createdAt: timestamp('created_at', { mode: 'string' }).defaultNow(),
      updatedAt: timestamp('updated_at', { mode: 'string' }).defaultNow(),
    },
    (t) => [
      // AsyncMQ 0.8 lets two queues hold the same job id: its upserts say ON CONFLICT (queue_name, job_id).
      compareVersions(version, '0.8') < 0
        ? unique(`${J}_job_id_key`).on(t.jobId)
        : unique(`${J}_queue_name_job_id_key`).on(t.queueName, t.jobId),
      ...jobsIndexes(t, J, version, profile),
    ],
  );
}

function repeatablesTable(table: TableFn, R: string, version: SchemaVersion, profile: IndexProfile) {
  return table(
    R,
    {
      queueName: text('queue_name').notNull(),
      jobDef: jsonb('job_def').$type<AsyncmqRepeatableDefinition>().notNull(),
      nextRun: timestamp('next_run', { withTimezone: true }).notNull(),
      paused: boolean('paused').notNull().default(false),
    },
    (t) => [
      primaryKey({ name: `${R}_pkey`, columns: [t.queueName, t.jobDef] }),
      // AsyncMQ 0.9's scheduler asks each queue for its due repeatables, soonest first
      // (queue_name = $1 AND paused = FALSE AND next_run <= now() ORDER BY next_run); the key
      // leads with queue_name but then holds the whole job definition.
      ...(indexProfileOf(version, profile) === 'asyncmq-0.9' ? [index(`idx_${R}_next_run`).on(t.queueName, t.nextRun)] : []),
    ],
  );
}

function cancelledJobsTable(table: TableFn, C: string) {
  return table(
    C,
    {
      queueName: text('queue_name').notNull(),
      jobId: text('job_id').notNull(),
    },
    (t) => [primaryKey({ name: `${C}_pkey`, columns: [t.queueName, t.jobId] })],
  );
}

/** From 0.2 on: one row per worker, refreshed by its heartbeat (seconds since the epoch). */
function workersHeartbeatTable(table: TableFn, H: string) {
  return table(H, {
    workerId: text('worker_id').primaryKey(),
    queues: text('queues').array(),
    concurrency: integer('concurrency'),
    heartbeat: doublePrecision('heartbeat'),
  });
}

/** From 0.9 on, under a fixed name: the queues paused by AsyncMQ's `pause_queue`. */
function pausedQueuesTable(table: TableFn) {
  return table(PAUSED_QUEUES_TABLE_NAME, {
    queueName: text('queue_name').primaryKey(),
    pausedAt: timestamp('paused_at', { mode: 'string' }).defaultNow(),
  });
}

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
