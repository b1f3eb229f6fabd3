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
 *
 * Light to import: every export below is a call marked pure, and the package says it has no
 * side effects, so a bundler keeps only what the app uses. `asyncmqJobs` alone costs its own
 * builder and none of the factory's validation, settings, DDL rendering or other tables
 * (test/schema-size.test.ts measures it).
 */
import { pgTable } from 'drizzle-orm/pg-core';
import { cancelledJobsTable, jobsTable, repeatablesTable } from './schema/builders.js';
import { createAsyncmqSchema, type AsyncmqSchema } from './schema/tables.js';

type Seed = AsyncmqSchema<{ postgresSchemaVersion: '0.1' }>;

// The seed's tables under the default names, built without the factory's checks of the names
// (the defaults pass them; test/schema-size.test.ts holds these to what the factory makes).
/** `asyncmq_jobs` (AsyncMQ 0.1's schema, default names). */
export const asyncmqJobs: Seed['jobs'] = /* @__PURE__ */ jobsTable(pgTable, 'asyncmq_jobs', '0.1', 'seed') as never;
/** `asyncmq_repeatables` (AsyncMQ 0.1's schema, default names). */
export const asyncmqRepeatables: Seed['repeatables'] = /* @__PURE__ */ repeatablesTable(pgTable, 'asyncmq_repeatables', '0.1', 'seed') as never;
/** `asyncmq_cancelled_jobs` (AsyncMQ 0.1's schema, default names). */
export const asyncmqCancelledJobs: Seed['cancelledJobs'] = /* @__PURE__ */ cancelledJobsTable(pgTable, 'asyncmq_cancelled_jobs') as never;

/** AsyncMQ 0.1's schema (the seed's three tables) under the default names: the very tables above. */
export const asyncmq01: Seed = { jobs: asyncmqJobs, repeatables: asyncmqRepeatables, cancelledJobs: asyncmqCancelledJobs };
/** AsyncMQ 0.2 to 0.7's schema under the default names: adds `workersHeartbeat`. */
export const asyncmq02 = /* @__PURE__ */ createAsyncmqSchema({ postgresSchemaVersion: '0.2' });
/** AsyncMQ 0.8's schema under the default names: the jobs table's unique key is `(queue_name, job_id)`. */
export const asyncmq08 = /* @__PURE__ */ createAsyncmqSchema({ postgresSchemaVersion: '0.8' });
/** AsyncMQ 0.9's schema under the default names: adds `pausedQueues`. */
export const asyncmq09 = /* @__PURE__ */ createAsyncmqSchema({ postgresSchemaVersion: '0.9' });

export type AsyncmqJob = typeof asyncmqJobs.$inferSelect;
export type NewAsyncmqJob = typeof asyncmqJobs.$inferInsert;
export type AsyncmqRepeatable = typeof asyncmqRepeatables.$inferSelect;
export type AsyncmqCancelledJob = typeof asyncmqCancelledJobs.$inferSelect;

export * from './schema/tables.js';
export * from './schema/relations.js';
export { SCHEMA_VERSIONS, type SchemaVersion } from './config/versions.js';
export type { AsyncmqNames, IndexProfile } from './config/settings.js';
