import { defineConfig } from 'drizzle-kit';
import { pickNames, resolveNames, settingsFromEnv } from './src/settings.js';

const names = resolveNames(pickNames(settingsFromEnv()));

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
  dbCredentials: { url: process.env.ASYNCMQ_POSTGRES_BACKEND_URL ?? '' },
  tablesFilter: [names.postgresJobsTableName, names.postgresRepeatablesTableName, names.postgresCancelledJobsTableName],
  schemaFilter: [names.postgresSchema ?? 'public'],
});
