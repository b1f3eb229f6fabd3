/**
 * The `asyncmq-postgres/schema` entry: static, like any Drizzle schema. It reads no environment
 * and needs no Node global (no `process`, no `Buffer`), so what drizzle-kit sees at build time is
 * what the app queries at run time, and it loads wherever drizzle-orm does.
 *
 * The tables here have the default names. Anything else (names, a namespace, an index profile,
 * a schema version) is given in code to `createAsyncmqSchema`; whoever wants the `ASYNCMQ_*`
 * environment asks the main entry for it (`createAsyncmqSchema(namesFromEnv())`).
 *
 * drizzle-kit loads this through a CommonJS require hook, so no top-level await, and nothing
 * here imports postgres.js or drizzle-kit.
 */
import { createAsyncmqSchema } from './schema/tables.js';

/** AsyncMQ 0.1's schema (the seed's three tables) under the default names: what the exports below are. */
export const asyncmq01 = createAsyncmqSchema({ postgresSchemaVersion: '0.1' });
/** AsyncMQ 0.2 to 0.7's schema under the default names: adds `workersHeartbeat`. */
export const asyncmq02 = createAsyncmqSchema({ postgresSchemaVersion: '0.2' });
/** AsyncMQ 0.8's schema under the default names: the jobs table's unique key is `(queue_name, job_id)`. */
export const asyncmq08 = createAsyncmqSchema({ postgresSchemaVersion: '0.8' });
/** AsyncMQ 0.9's schema under the default names: adds `pausedQueues`. */
export const asyncmq09 = createAsyncmqSchema({ postgresSchemaVersion: '0.9' });

/** `asyncmq_jobs` (AsyncMQ 0.1's schema, default names). */
export const asyncmqJobs = asyncmq01.jobs;
/** `asyncmq_repeatables` (AsyncMQ 0.1's schema, default names). */
export const asyncmqRepeatables = asyncmq01.repeatables;
/** `asyncmq_cancelled_jobs` (AsyncMQ 0.1's schema, default names). */
export const asyncmqCancelledJobs = asyncmq01.cancelledJobs;

export type AsyncmqJob = typeof asyncmqJobs.$inferSelect;
export type NewAsyncmqJob = typeof asyncmqJobs.$inferInsert;
export type AsyncmqRepeatable = typeof asyncmqRepeatables.$inferSelect;
export type AsyncmqCancelledJob = typeof asyncmqCancelledJobs.$inferSelect;

export * from './schema/tables.js';
export { SCHEMA_VERSIONS, type SchemaVersion } from './config/versions.js';
export type { AsyncmqNames, IndexProfile } from './config/settings.js';
