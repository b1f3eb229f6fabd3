/**
 * The schema this repository's own drizzle-kit reads (drizzle.config.ts): the tables named by the
 * `ASYNCMQ_*` environment, for one schema version, so that
 * `ASYNCMQ_POSTGRES_SCHEMA_VERSION=0.9 npx drizzle-kit generate` writes `drizzle/0.9/`. The
 * published `./schema` entry stays static; only this file reads the environment.
 */
import { namesFromEnv } from '../src/config/settings.js';
import { createAsyncmqSchema } from '../src/schema/tables.js';

const tables = createAsyncmqSchema(namesFromEnv());

// drizzle-kit only looks at top-level exports; the undefined ones (tables the version does not
// have, no namespace) it skips.
export const asyncmqJobs = tables.jobs;
export const asyncmqRepeatables = tables.repeatables;
export const asyncmqCancelledJobs = tables.cancelledJobs;
export const asyncmqWorkersHeartbeat = tables.workersHeartbeat;
export const asyncmqPausedQueues = tables.pausedQueues;
/** drizzle-kit creates a namespace only when its pgSchema object is exported. */
export const asyncmqNamespace = tables.pgSchema;
