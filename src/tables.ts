/**
 * AsyncMQ's Postgres tables as Drizzle definitions: the one source of truth for the names and
 * shapes that drizzle-kit, the installer, `status` and `sql` all use.
 *
 * Apps reach this through the `asyncmq-postgres/schema` entry, which drizzle-kit loads through
 * a CommonJS require hook: it must import neither postgres.js nor drizzle-kit.
 */
import {
  boolean,
  doublePrecision,
  index,
  jsonb,
  pgSchema,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  unique,
  type PgTableFn,
} from 'drizzle-orm/pg-core';
import { checkDerivedNames } from './ddl.js';
import { resolveNames, type AsyncmqNames } from './settings.js';

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

/**
 * Builds the three tables for the given names. Pure: names not given take the seed's defaults
 * (not the environment). Throws `AsyncmqPostgresError` for a name Postgres or AsyncMQ would
 * misread, or whose derived names (indexes, constraints, sequence) would not fit in 63 bytes.
 */
export function createAsyncmqSchema(names: AsyncmqNames = {}) {
  const n = resolveNames(names);
  const J = n.postgresJobsTableName;
  const R = n.postgresRepeatablesTableName;
  const C = n.postgresCancelledJobsTableName;
  // pgSchema('public') throws; `public` is Drizzle's unqualified default anyway.
  const table = (n.postgresSchema && n.postgresSchema !== 'public' ? pgSchema(n.postgresSchema).table : pgTable) as PgTableFn<
    string | undefined
  >;

  // Constraint names are the ones Postgres gives the seed's SQL, not Drizzle's defaults, so
  // drizzle-kit sees no drift against a database that AsyncMQ itself installed.
  const jobs = table(
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
      // Without time zone, as the seed: read back as the stored string, since a Date would
      // be shifted by the client's offset.
      createdAt: timestamp('created_at', { mode: 'string' }).defaultNow(),
      updatedAt: timestamp('updated_at', { mode: 'string' }).defaultNow(),
    },
    (t) => [
      unique(`${J}_job_id_key`).on(t.jobId),
      index(`idx_${J}_queue_name`).on(t.queueName),
      index(`idx_${J}_status`).on(t.status),
      index(`idx_${J}_delay_until`).on(t.delayUntil),
      // The `queue` profile: AsyncMQ's dequeue (oldest waiting job of a queue, FOR UPDATE SKIP
      // LOCKED) walks this index and stops at the first row, where the seed's single-column
      // indexes make it sort half the table; queue_stats and purge filter on its first two columns.
      ...(n.postgresIndexes === 'queue' ? [index(`idx_${J}_dequeue`).on(t.queueName, t.status, t.createdAt)] : []),
    ],
  );

  const repeatables = table(
    R,
    {
      queueName: text('queue_name').notNull(),
      jobDef: jsonb('job_def').$type<AsyncmqRepeatableDefinition>().notNull(),
      nextRun: timestamp('next_run', { withTimezone: true }).notNull(),
      paused: boolean('paused').notNull().default(false),
    },
    (t) => [primaryKey({ name: `${R}_pkey`, columns: [t.queueName, t.jobDef] })],
  );

  const cancelledJobs = table(
    C,
    {
      queueName: text('queue_name').notNull(),
      jobId: text('job_id').notNull(),
    },
    (t) => [primaryKey({ name: `${C}_pkey`, columns: [t.queueName, t.jobId] })],
  );

  const schema = { jobs, repeatables, cancelledJobs };
  checkDerivedNames({
    postgresJobsTableName: jobs,
    postgresRepeatablesTableName: repeatables,
    postgresCancelledJobsTableName: cancelledJobs,
  });
  return schema;
}

export type AsyncmqSchema = ReturnType<typeof createAsyncmqSchema>;
