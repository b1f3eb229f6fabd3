import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './drizzle',
  dbCredentials: { url: process.env.DATABASE_URL ?? '' },
  // The app's namespace and AsyncMQ's: the migrations own both.
  schemaFilter: ['public', 'asyncmq'],
});
