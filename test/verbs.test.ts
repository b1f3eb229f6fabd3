/**
 * One verb per mode (install, upgrade, verify, drop), and the seed's entry point refusing the
 * destructive mixes its type refuses too (options.typecheck.ts), on a real database.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createAsyncmqSchema,
  dropPostgresBackend,
  inspectPostgresBackend,
  installOrDropPostgresBackend,
  installPostgresBackend,
  upgradePostgresBackend,
  verifyPostgresBackend,
} from '../src/index.js';
import { createDatabase } from './support/db.js';
import { snapshot } from './support/snapshot.js';
import { asyncmqDatabase, at, failure, fill, reference, rows } from './support/versions.js';

const nowhere = 'postgres://x@127.0.0.1:1/db';

test('drop with upgrade or concurrentIndexes is refused before anything connects, and changes nothing', async () => {
  const db = await createDatabase();
  await installPostgresBackend({ connectionString: db.url, env: {} });
  const before = await snapshot(db.sql);
  for (const [url, mix] of [
    [db.url, { drop: true, upgrade: true }],
    [db.url, { drop: true, concurrentIndexes: true }],
    // Nothing listens there: the refusal comes first.
    [nowhere, { drop: true, upgrade: true, ...at('0.9') }],
  ] as const) {
    // The type refuses these (options.typecheck.ts); a JavaScript caller meets this check.
    const error = await failure(installOrDropPostgresBackend({ connectionString: url, env: {}, ...mix } as never));
    assert.equal(error.code, 'ASYNCMQ_INVALID_SETTING');
    assert.equal(error.setting, 'drop');
    assert.match(error.message, /^drop removes the tables, so it cannot go with (upgrade|concurrentIndexes): make one call for each \(dropPostgresBackend\(\), installPostgresBackend\(\), upgradePostgresBackend\(\)\)$/);
  }
  assert.deepEqual(await snapshot(db.sql), before, 'nothing dropped');
  // drop: false goes with anything, as it always did.
  const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, drop: false, concurrentIndexes: true });
  assert.equal(report.action, 'install');
});

test('each mode has its verb, taking only its own options', async () => {
  const db = await asyncmqDatabase('0.1');
  await fill(db, '0.1');
  const before = await rows(db);

  const installed = await installPostgresBackend({ connectionString: db.url, env: {} });
  assert.deepEqual([installed.action, installed.created, installed.schemaVersion, installed.schemaVersionIsDefault], ['install', [], '0.1', true]);
  assert.equal((await verifyPostgresBackend({ connectionString: db.url, env: {} })).action, 'verify');

  // The API's refusal names its own way out: the verb and the setting, no command line.
  const refused = await failure(installPostgresBackend({ connectionString: db.url, ...at('0.9') }));
  assert.equal(refused.code, 'ASYNCMQ_UPGRADE_REQUIRED');
  assert.match(refused.message, /the configured 0\.9 needs an upgrade: upgradePostgresBackend\(\) \(or upgrade: true\) with postgresSchemaVersion: '0\.9', which keeps every row/);
  assert.doesNotMatch(refused.message, /asyncmq-postgres upgrade/);
  const status = await inspectPostgresBackend({ connectionString: db.url, ...at('0.9') });
  const key = status.tables[0]!.items.find((i) => i.name === 'asyncmq_jobs_job_id_key')!;
  assert.equal(key.advice, "this is AsyncMQ 0.1's shape; upgradePostgresBackend() (or upgrade: true) with postgresSchemaVersion: '0.9' moves it to 0.9's, keeping every row");

  // An upgrade whose target nobody chose is refused before anything connects.
  const aimless = await failure(upgradePostgresBackend({ connectionString: nowhere, env: {} }));
  assert.equal(aimless.code, 'ASYNCMQ_USAGE');
  assert.match(aimless.message, /^an upgrade needs the AsyncMQ schema version to move to, and none was chosen: set postgresSchemaVersion .*0\.9 \(AsyncMQ 0\.9\.x\)/);

  const upgraded = await upgradePostgresBackend({ connectionString: db.url, ...at('0.9'), concurrentIndexes: true });
  assert.deepEqual([upgraded.action, upgraded.upgradedFrom, upgraded.schemaVersion, upgraded.schemaVersionIsDefault], ['install', '0.1', '0.9', false]);
  assert.deepEqual(await snapshot(db.sql), await reference('0.9'));
  const after = await rows(db);
  for (const [table, kept] of Object.entries(before)) assert.deepEqual(after[table], kept, table);
  // The tables as the app holds them choose the version as well, the 0.9 index profile's included.
  const tables = createAsyncmqSchema({ postgresSchemaVersion: '0.9', postgresIndexes: 'asyncmq-0.9' });
  const profiled = await upgradePostgresBackend({ connectionString: db.url, env: {}, schema: tables, concurrentIndexes: true });
  assert.deepEqual(profiled.created, ['index public.idx_asyncmq_jobs_by_priority', 'index public.idx_asyncmq_jobs_by_delay', 'index public.idx_asyncmq_repeatables_next_run']);

  // Another mode's key points to its verb.
  for (const [verb, options, other] of [
    [installPostgresBackend, { drop: true }, 'dropPostgresBackend()'],
    [installPostgresBackend, { upgrade: true }, 'upgradePostgresBackend()'],
    [dropPostgresBackend, { verifyOnly: true }, 'verifyPostgresBackend()'],
    [verifyPostgresBackend, { concurrentIndexes: true }, undefined],
  ] as const) {
    const error = await failure(verb({ connectionString: db.url, env: {}, ...options } as never));
    assert.equal(error.code, 'ASYNCMQ_USAGE');
    assert.match(error.message, other ? new RegExp(`call ${other.replace(/[()]/g, '\\$&')} instead`) : /option "concurrentIndexes" is not known/);
  }

  const dropped = await dropPostgresBackend({ connectionString: db.url, ...at('0.9') });
  assert.equal(dropped.action, 'drop');
  assert.deepEqual((await snapshot(db.sql)).tables, {});
});
