// AsyncMQ's tables, for queries only: the installer owns them, in a namespace of their own, and
// the app's drizzle-kit never sees this file (drizzle.config.ts points at db/schema.ts only, and
// its schemaFilter keeps it out of the `asyncmq` namespace).
import { createAsyncmqSchema } from 'asyncmq-postgres/schema';

// AsyncMQ 0.9 (match your AsyncMQ release). AsyncMQ's own workers must resolve these names in
// `asyncmq`: their connection's search_path is `asyncmq` (see the README).
export const asyncmq = createAsyncmqSchema({ postgresSchema: 'asyncmq', postgresSchemaVersion: '0.9' });
export const { jobs: asyncmqJobs, cancelledJobs: asyncmqCancelledJobs } = asyncmq;
