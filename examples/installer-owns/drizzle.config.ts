import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './drizzle',
  dbCredentials: { url: process.env.DATABASE_URL ?? '' },
  // The app's namespace only: drizzle-kit must never plan anything in `asyncmq`, which the
  // installer owns (without this, push would drop the tables it was not told about).
  schemaFilter: ['public'],
});
