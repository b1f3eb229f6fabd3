/**
 * The `asyncmq-postgres/schema` entry is light: bundled by esbuild as an app's bundler would
 * (minified, drizzle-orm left external, the package installed as npm lays it out), importing
 * one table keeps that table's builder and drops the other tables, the factory's validation,
 * the settings, the key word list and the DDL rendering. Sizes are bytes of output, with room
 * for small changes; the bounds catch a regression to the old all-or-nothing entry (11.9 KB).
 * The default tables it builds without the factory's checks are the factory's, shape for shape.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { describeTable } from '../src/schema/ddl.js';
import { createAsyncmqSchema } from '../src/schema/tables.js';
import * as entry from '../src/schema.js';
import { installBuilt, root } from './support/apps.js';
import { testTmp } from './support/tmp.js';
import { HANG_MS } from './support/patience.js';

/** One table of the entry, minified: about 1.2 KB when this was written. */
const ONE_TABLE_BOUND = 2_048;
/** Everything the entry exports, minified: about 12.6 KB when this was written. */
const WHOLE_ENTRY_BOUND = 20_480;

let app: string;

before(async () => {
  app = await testTmp('asyncmq-schema-size-');
  await installBuilt(app, join(app, 'node_modules/asyncmq-postgres'));
  await symlink(join(root, 'node_modules/drizzle-orm'), join(app, 'node_modules/drizzle-orm'));
});

after(() => rm(app, { recursive: true, force: true }));

async function bundle(contents: string): Promise<string> {
  const result = await build({
    stdin: { contents, resolveDir: app, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    external: ['drizzle-orm', 'drizzle-orm/*'],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

test('importing asyncmqJobs alone bundles that table only: no other table, no validation, settings or DDL', async (t) => {
  const code = await bundle("import { asyncmqJobs } from 'asyncmq-postgres/schema'; export default asyncmqJobs;");
  const bare = await bundle("import { pgTable, text } from 'drizzle-orm/pg-core'; export default pgTable('asyncmq_jobs', { queueName: text('queue_name').notNull() });");
  const bytes = Buffer.byteLength(code);
  t.diagnostic(`asyncmqJobs alone: ${bytes} B minified, ${gzipSync(code).length} B gzip (a one-column bare pgTable: ${Buffer.byteLength(bare)} B)`);
  assert.ok(bytes < ONE_TABLE_BOUND, `${bytes} B`);

  assert.match(code, /asyncmq_jobs/);
  for (const absent of ['asyncmq_repeatables', 'asyncmq_cancelled_jobs', 'asyncmq_workers_heartbeat', 'asyncmq_paused_queues']) {
    assert.doesNotMatch(code, new RegExp(absent), `${absent} is bundled`);
  }
  // The factory's validation, the settings and their key word list, the error texts, the DDL rendering.
  for (const absent of ['ASYNCMQ_', 'tablesample', 'TextEncoder', 'PgDialect', 'pgSchema', 'Symbol.for']) {
    assert.ok(!code.includes(absent), `${absent} is bundled`);
  }

  // What is left still is the table: run the bundle against the real drizzle-orm.
  const file = join(app, 'one-table.mjs');
  await writeFile(file, `${code}\n`);
  const probe = `const { getTableConfig } = await import('drizzle-orm/pg-core');
    const table = (await import(${JSON.stringify(file)})).default;
    const c = getTableConfig(table);
    console.log(JSON.stringify({ name: c.name, columns: c.columns.length, indexes: c.indexes.length, unique: c.uniqueConstraints.map((u) => u.name) }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: app, encoding: 'utf8', timeout: HANG_MS });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { name: 'asyncmq_jobs', columns: 8, indexes: 3, unique: ['asyncmq_jobs_job_id_key'] });
});

test('the whole entry stays under its bound, and each schema export costs only what it uses', async (t) => {
  const whole = await bundle("export * from 'asyncmq-postgres/schema';");
  const seed = await bundle("export { asyncmq01 } from 'asyncmq-postgres/schema';");
  const latest = await bundle("export { asyncmq09 } from 'asyncmq-postgres/schema';");
  t.diagnostic(`whole entry: ${Buffer.byteLength(whole)} B; asyncmq01: ${Buffer.byteLength(seed)} B; asyncmq09: ${Buffer.byteLength(latest)} B`);
  assert.ok(Buffer.byteLength(whole) < WHOLE_ENTRY_BOUND, `${Buffer.byteLength(whole)} B`);
  // The seed's set is three tables, not the factory.
  assert.doesNotMatch(seed, /ASYNCMQ_|asyncmq_workers_heartbeat/);
  assert.match(seed, /asyncmq_cancelled_jobs/);
  // A later version goes through the factory, with its checks.
  assert.match(latest, /ASYNCMQ_INVALID_NAME/);
});

test("the entry's default tables are the factory's, shape for shape, and the seed's set holds the very same objects", () => {
  const factory = createAsyncmqSchema();
  assert.deepEqual(describeTable(entry.asyncmqJobs), describeTable(factory.jobs));
  assert.deepEqual(describeTable(entry.asyncmqRepeatables), describeTable(factory.repeatables));
  assert.deepEqual(describeTable(entry.asyncmqCancelledJobs), describeTable(factory.cancelledJobs));
  assert.equal(entry.asyncmq01.jobs, entry.asyncmqJobs);
  assert.equal(entry.asyncmq01.repeatables, entry.asyncmqRepeatables);
  assert.equal(entry.asyncmq01.cancelledJobs, entry.asyncmqCancelledJobs);
  assert.deepEqual(Object.keys(entry.asyncmq01), Object.keys(factory));
});
