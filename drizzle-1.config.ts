/**
 * drizzle-kit 1.0's configuration: the same tables as drizzle.config.ts, written to
 * `drizzle-1.0/<version>/` in the folder format drizzle-kit 1.0 and drizzle-orm 1.0's migrator
 * read (they refuse the 0.x format of `drizzle/`). Run with drizzle-kit 1.0:
 * `ASYNCMQ_POSTGRES_SCHEMA_VERSION=0.9 drizzle-kit generate --config drizzle-1.config.ts`.
 */
import base from './drizzle.config.js';
import { namesFromEnv, resolveNames } from './src/config/settings.js';

export default { ...base, out: `./drizzle-1.0/${resolveNames(namesFromEnv()).postgresSchemaVersion}` };
