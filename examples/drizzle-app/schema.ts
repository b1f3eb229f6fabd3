// The app's own Drizzle schema: its tables, plus AsyncMQ's, re-exported so that drizzle-kit
// sees them too. Table names follow the ASYNCMQ_* environment variables.
import { pgTable, serial, text } from 'drizzle-orm/pg-core';

export * from 'asyncmq-postgres/schema';

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  email: text('email').notNull(),
});
