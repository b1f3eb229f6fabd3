/**
 * The `asyncmq-postgres/schema` entry: the table factory, and the tables built once, at
 * import, from the `ASYNCMQ_*` environment (names and schema version), so `ASYNCMQ_POSTGRES_JOBS_TABLE_NAME=x npx
 * drizzle-kit generate` follows the names. Apps re-export this from their own Drizzle schema;
 * drizzle-kit loads it through a CommonJS require hook, so no top-level await, and nothing here
 * imports postgres.js or drizzle-kit.
 */
import { pgSchema } from 'drizzle-orm/pg-core';
import { namesFromEnv, resolveNames } from './settings.js';
import { createAsyncmqSchema } from './tables.js';

const names = resolveNames(namesFromEnv());
const fromEnv = createAsyncmqSchema(names);

/**
 * The namespace named by ASYNCMQ_POSTGRES_SCHEMA, if any: drizzle-kit creates a schema only
 * when its pgSchema object is exported, so apps that re-export this entry get it too.
 */
export const asyncmqPostgresSchema =
  names.postgresSchema && names.postgresSchema !== 'public' ? pgSchema(names.postgresSchema) : undefined;

/** The jobs table, named by the `ASYNCMQ_*` environment at import (default `asyncmq_jobs`). */
export const asyncmqJobs = fromEnv.jobs;
/** The repeatables table, named by the environment at import (default `asyncmq_repeatables`). */
export const asyncmqRepeatables = fromEnv.repeatables;
/** The cancelled-jobs table, named by the environment at import (default `asyncmq_cancelled_jobs`). */
export const asyncmqCancelledJobs = fromEnv.cancelledJobs;
/** The workers' heartbeat table, when ASYNCMQ_POSTGRES_SCHEMA_VERSION is 0.2 or newer. */
export const asyncmqWorkersHeartbeat = fromEnv.workersHeartbeat;
/** `asyncmq_paused_queues`, when ASYNCMQ_POSTGRES_SCHEMA_VERSION is 0.9. */
export const asyncmqPausedQueues = fromEnv.pausedQueues;

export type AsyncmqJob = typeof asyncmqJobs.$inferSelect;
export type NewAsyncmqJob = typeof asyncmqJobs.$inferInsert;
export type AsyncmqRepeatable = typeof asyncmqRepeatables.$inferSelect;
export type AsyncmqCancelledJob = typeof asyncmqCancelledJobs.$inferSelect;

export * from './tables.js';
export type { AsyncmqNames, IndexProfile } from './settings.js';
