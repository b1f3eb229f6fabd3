/**
 * Run by drizzle.config.ts before `drizzle-kit push`: exits 1, having changed nothing, when the
 * target namespace holds sequences or enums that are not the package's, because drizzle-kit
 * 0.31 would drop them (it filters those by schema only; drizzle-orm #3320).
 */
import postgres from 'postgres';
import { readForeignObjects } from '../src/catalog/compare.js';
import { resolveBackend } from '../src/schema/backend.js';
import { ENV_VARS } from '../src/config/settings.js';

const { shapes, names } = resolveBackend();
const url = process.env[ENV_VARS.asyncmqPostgresBackendUrl];
if (!url) {
  console.error(`drizzle-kit push needs ${ENV_VARS.asyncmqPostgresBackendUrl}`);
  process.exit(1);
}
const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10, fetch_types: false });
const read = { unsafe: async (text: string, params?: readonly unknown[]) => sql.unsafe(text, (params ?? []) as never[]).values() };
const foreign = await readForeignObjects(read, shapes).finally(() => sql.end({ timeout: 5 }));
if (foreign.length > 0) {
  const namespace = names.postgresSchema ?? 'public';
  console.error(
    `Refusing drizzle-kit push: namespace ${namespace} holds objects that are not asyncmq-postgres's, ` +
      `and drizzle-kit would drop or alter them:\n${foreign.map((o) => `  ${o}`).join('\n')}\n` +
      `Give the tables a namespace of their own (${ENV_VARS.postgresSchema}=asyncmq), or install with ` +
      '`npx asyncmq-postgres install`, which touches nothing else.',
  );
  process.exit(1);
}
