/**
 * drizzle-kit configuration for the package's own tables, named by the same ASYNCMQ_*
 * environment variables as everything else. `drizzle/<version>/` holds what `generate` makes
 * for the default names and each AsyncMQ schema version
 * (`ASYNCMQ_POSTGRES_SCHEMA_VERSION=0.9 npx drizzle-kit generate` writes `drizzle/0.9/`). The tables
 * come from scripts/drizzle-kit-schema.ts, which reads the environment; the published
 * `./schema` entry does not.
 *
 * `push` is guarded: drizzle-kit 0.31 drops every sequence and enum in the namespace that the
 * schema does not declare, whatever `tablesFilter` says, so before a push scripts/push-guard.ts
 * checks that the namespace holds nothing of that kind but the package's own, and stops the
 * push if it does.
 */
import { spawnSync } from 'node:child_process';
import { defineConfig } from 'drizzle-kit';
import { namesFromEnv, PAUSED_QUEUES_TABLE_NAME, resolveNames } from './src/config/settings.js';

const names = resolveNames(namesFromEnv());

if (process.argv.includes('push')) {
  const guard = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/push-guard.ts'], { stdio: 'inherit' });
  if (guard.status !== 0) process.exit(guard.status ?? 1);
}

export default defineConfig({
  dialect: 'postgresql',
  schema: './scripts/drizzle-kit-schema.ts',
  // One folder per AsyncMQ schema version, each from an empty database to that version.
  out: `./drizzle/${names.postgresSchemaVersion}`,
  dbCredentials: { url: process.env.ASYNCMQ_POSTGRES_BACKEND_URL ?? '' },
  tablesFilter: [
    names.postgresJobsTableName,
    names.postgresRepeatablesTableName,
    names.postgresCancelledJobsTableName,
    names.postgresWorkersHeartbeatTableName,
    PAUSED_QUEUES_TABLE_NAME,
  ],
  schemaFilter: [names.postgresSchema ?? 'public'],
  migrations: { table: '__asyncmq_postgres_migrations', schema: 'drizzle' },
});
