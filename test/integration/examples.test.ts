/**
 * The two supported setups, run as an app runs them: the example apps with the package in their
 * node_modules, the real drizzle-kit commands (generate plus migrate, and push) against a real
 * Postgres, twice, checking that the second run changes nothing and that neither owner drops or
 * alters the other's objects or rows.
 */
import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { installOrDropPostgresBackend } from '../../src/index.js';
import { createAsyncmqSchema } from '../../src/schema/tables.js';
import { EXAMPLES, installBuilt, kitOk, kitVersion, migrationSql, runApp, setUpApp } from '../support/apps.js';
import { createDatabase, type TestDatabase } from '../support/db.js';
import { snapshot } from '../support/snapshot.js';
import { testTmp } from '../support/tmp.js';

let work: string;
const apps = { kitOwns: '', installerOwns: '' };

before(async () => {
  work = await testTmp('asyncmq-examples-');
  const pkg = join(work, 'package');
  await installBuilt(work, pkg);
  for (const [key, example] of Object.entries(EXAMPLES) as [keyof typeof EXAMPLES, string][]) {
    apps[key] = await setUpApp(work, example, (target) => cp(pkg, target, { recursive: true }));
  }
});

after(() => rm(work, { recursive: true, force: true }));

async function catalog(db: TestDatabase) {
  const [jobs] = await db.sql<{ n: number }[]>`select count(*)::int as n from asyncmq.asyncmq_jobs`.catch(() => [{ n: -1 }]);
  return { public: await snapshot(db.sql, 'public'), asyncmq: await snapshot(db.sql, 'asyncmq'), jobs: jobs!.n };
}

// Each test has a database of its own, and the two tests of one app write to separate places
// (generate to its drizzle/ folder, push nowhere): they run side by side.
describe('the example apps', { concurrency: 4 }, () => {
  test(`drizzle-kit ${kitVersion} owns the tables: generate and migrate make them, the startup check passes, a second run changes nothing`, async () => {
    const app = apps.kitOwns;
    const db = await createDatabase();
    const empty = await catalog(db);
    // Before the migrations: the check fails with its code, and creates nothing.
    const early = runApp(app, 'startup', db.url);
    assert.equal(early.ok, false);
    assert.equal(early.error?.code, 'ASYNCMQ_SCHEMA_INCOMPLETE', early.error?.message);
    assert.deepEqual(await catalog(db), empty);

    await kitOk(app, ['generate'], db.url);
    const generated = (await migrationSql(app)).join('\n');
    assert.match(generated, /CREATE SCHEMA "asyncmq"/);
    assert.match(generated, /CREATE TABLE "asyncmq"\."asyncmq_jobs"/);
    assert.match(generated, /CREATE TABLE "asyncmq"\."asyncmq_paused_queues"/);
    assert.match(generated, /CREATE TABLE "users"/);
    await kitOk(app, ['migrate'], db.url);

    assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
    const fetched = runApp(app, 'enqueueAndFetch', db.url);
    assert.equal(fetched.ok, true, JSON.stringify(fetched.error));
    assert.deepEqual({ ...(fetched.value as object), createdAt: undefined }, { email: 'ada@example.com', jobId: 'welcome-1', task: 'emails.welcome', createdAt: undefined, cancelled: false });

    // What the migrations made is what the installer makes for the same tables.
    const reference = await createDatabase();
    await installOrDropPostgresBackend({ connectionString: reference.url, env: {}, schema: createAsyncmqSchema({ postgresSchema: 'asyncmq', postgresSchemaVersion: '0.9', postgresIndexes: 'queue' }) });
    assert.deepEqual((await catalog(db)).asyncmq, (await catalog(reference)).asyncmq);

    const settled = await catalog(db);
    const migrations = (await migrationSql(app)).length;
    await kitOk(app, ['generate'], db.url);
    assert.equal((await migrationSql(app)).length, migrations, 'a second generate writes no migration');
    await kitOk(app, ['migrate'], db.url);
    assert.deepEqual(await catalog(db), settled);
  });

  test(`drizzle-kit ${kitVersion} owns the tables: push makes them, the startup check passes, a second push changes nothing`, async () => {
    const app = apps.kitOwns;
    const db = await createDatabase();
    await kitOk(app, ['push'], db.url);
    assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
    assert.equal(runApp(app, 'enqueueAndFetch', db.url).ok, true);
    const settled = await catalog(db);
    assert.equal(settled.jobs, 1);
    await kitOk(app, ['push'], db.url);
    assert.deepEqual(await catalog(db), settled);
  });

  test(`the installer owns the tables: drizzle-kit ${kitVersion} generate and migrate leave them alone, before and after, and a second run changes nothing`, async () => {
    const app = apps.installerOwns;
    const db = await createDatabase();
    assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
    await db.sql`insert into asyncmq.asyncmq_jobs (queue_name, job_id, data) values ('emails', 'kept', '{"id":"kept","task":"t"}')`;
    const installed = await catalog(db);
    assert.ok(Object.keys(installed.asyncmq.tables).includes('asyncmq_jobs'));

    await kitOk(app, ['generate'], db.url);
    const generated = (await migrationSql(app)).join('\n');
    assert.match(generated, /CREATE TABLE "users"/);
    assert.doesNotMatch(generated, /asyncmq/);
    await kitOk(app, ['migrate'], db.url);
    const migrated = await catalog(db);
    assert.deepEqual(migrated.asyncmq, installed.asyncmq);
    assert.equal(migrated.jobs, 1);
    assert.ok(Object.keys(migrated.public.tables).includes('users'));

    // The installer at the next start: nothing to do, and the app's tables untouched.
    assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
    assert.equal(runApp(app, 'enqueueAndFetch', db.url).ok, true);
    const settled = await catalog(db);
    assert.deepEqual(settled.public, migrated.public);
    const migrations = (await migrationSql(app)).length;
    await kitOk(app, ['generate'], db.url);
    assert.equal((await migrationSql(app)).length, migrations, 'a second generate writes no migration');
    await kitOk(app, ['migrate'], db.url);
    assert.deepEqual(await catalog(db), settled);
  });

  test(`the installer owns the tables: drizzle-kit ${kitVersion} push, before and after the installer, drops and alters nothing of theirs`, async () => {
    const app = apps.installerOwns;
    const db = await createDatabase();
    await kitOk(app, ['push'], db.url);
    const pushed = await catalog(db);
    assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
    assert.equal(runApp(app, 'enqueueAndFetch', db.url).ok, true);
    const installed = await catalog(db);
    assert.deepEqual(installed.public, { ...pushed.public, tables: installed.public.tables });
    assert.equal(installed.jobs, 1);
    // The push that matters: the installer's namespace now holds tables drizzle-kit was not told about.
    await kitOk(app, ['push'], db.url);
    assert.deepEqual(await catalog(db), installed);
    assert.deepEqual(runApp(app, 'startup', db.url), { ok: true, value: null });
    assert.deepEqual(await catalog(db), installed);
  });
});
