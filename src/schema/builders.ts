/**
 * One builder per AsyncMQ table: the Drizzle definition of that table for a name, a schema
 * version and an index profile, and nothing else. No validation and no settings here: the
 * factory (`createAsyncmqSchema`, tables.ts) checks the names before it calls these, and the
 * static entry (src/schema.ts) calls them with the defaults, which the factory accepts
 * (test/schema-size.test.ts holds both to the same tables). Kept apart so that an app that
 * imports one table of the entry bundles this file and drizzle-orm's column builders only.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  primaryKey,
  serial,
  text,
  timestamp,
  unique,
  type PgColumn,
  type PgTableFn,
} from 'drizzle-orm/pg-core';
import { PAUSED_QUEUES_TABLE_NAME, type IndexProfile } from '../config/settings.js';
import { compareVersions, type SchemaVersion } from '../config/versions.js';
import type { AsyncmqJobRecord, AsyncmqRepeatableDefinition, OpenStatus } from './records.js';

export type TableFn = PgTableFn<string | undefined>;

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

export function jobsTable(table: TableFn, J: string, version: SchemaVersion, profile: IndexProfile) {
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

export function repeatablesTable(table: TableFn, R: string, version: SchemaVersion, profile: IndexProfile) {
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

export function cancelledJobsTable(table: TableFn, C: string) {
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
export function workersHeartbeatTable(table: TableFn, H: string) {
  return table(H, {
    workerId: text('worker_id').primaryKey(),
    queues: text('queues').array(),
    concurrency: integer('concurrency'),
    heartbeat: doublePrecision('heartbeat'),
  });
}

/** From 0.9 on, under a fixed name: the queues paused by AsyncMQ's `pause_queue`. */
export function pausedQueuesTable(table: TableFn) {
  return table(PAUSED_QUEUES_TABLE_NAME, {
    queueName: text('queue_name').primaryKey(),
    pausedAt: timestamp('paused_at', { mode: 'string' }).defaultNow(),
  });
}

