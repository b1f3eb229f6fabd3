// The app's Drizzle schema, and drizzle-kit's input: the app's own tables and AsyncMQ's, in one
// schema that the app's migrations own. AsyncMQ's tables are given in code (no environment), so
// drizzle-kit, the queries and the startup check all mean the same tables.
import { createAsyncmqSchema } from 'asyncmq-postgres/schema';
import { pgTable, serial, text } from 'drizzle-orm/pg-core';

// AsyncMQ 0.9 (match your AsyncMQ release), in a namespace of its own, with the dequeue index.
export const asyncmq = createAsyncmqSchema({ postgresSchema: 'asyncmq', postgresSchemaVersion: '0.9', postgresIndexes: 'queue' });

// drizzle-kit reads top-level exports only: each table, and the namespace (pgSchema), which it
// must see to create the schema.
export const {
  pgSchema: asyncmqNamespace,
  jobs: asyncmqJobs,
  repeatables: asyncmqRepeatables,
  cancelledJobs: asyncmqCancelledJobs,
  workersHeartbeat: asyncmqWorkersHeartbeat,
  pausedQueues: asyncmqPausedQueues,
} = asyncmq;

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  email: text('email').notNull(),
});
