// The app's Drizzle schema, and drizzle-kit's input: the app's own tables only.
import { pgTable, serial, text } from 'drizzle-orm/pg-core';

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  email: text('email').notNull(),
});
