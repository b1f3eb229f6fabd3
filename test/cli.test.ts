/**
 * The asyncmq-postgres command: what it prints and its exit codes, against a real database.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { installPostgresBackend } from '../src/index.js';
import { lockKey } from '../src/operations/locking.js';
import { createDatabase } from './support/db.js';
import { asyncmqInstallSql, seedInstallSql } from './support/seed.js';
import { snapshot } from './support/snapshot.js';
import { asyncmqDatabase, rows } from './support/versions.js';
import { until } from './support/wait.js';
import { runCli as run } from './support/cli.js';


/** The first line of install's and upgrade's output when nothing chose a schema version. */
const DEFAULT_NOTE =
  'AsyncMQ schema 0.1 (AsyncMQ 0.1.x), the default: nothing chose a version. AsyncMQ 0.8 and 0.9 workers fail on its tables ' +
  'on their first job: choose yours with --schema-version, ASYNCMQ_POSTGRES_SCHEMA_VERSION, or postgresSchemaVersion in asyncmq.config.ts.\n';

test('sql prints the install plan without a URL; run as is, it gives the seed catalog', async () => {
  const { code, stdout, stderr } = await run(['sql']);
  assert.equal(code, 0);
  assert.equal(stderr, '');
  assert.match(
    stdout,
    /^(--.*\n)+BEGIN;\n\nSELECT pg_catalog\.set_config\('lock_timeout', '10000ms', true\);\n\nSELECT pg_catalog\.set_config\('idle_in_transaction_session_timeout', '5000ms', true\);\n\nSELECT pg_catalog\.pg_advisory_xact_lock\(7416167380895331789\);\n/,
  );
  assert.match(stdout, /\nCOMMIT;\n$/);
  const db = await createDatabase();
  const session = await db.sql.reserve(); // the script has its own BEGIN/COMMIT
  await session.unsafe(stdout);
  session.release();
  const reference = await createDatabase();
  await reference.sql.unsafe(seedInstallSql());
  assert.deepEqual(await snapshot(db.sql), await snapshot(reference.sql));

  const drop = await run(['sql', '--drop', '--json', '--schema', 'queue']);
  assert.deepEqual(JSON.parse(drop.stdout), {
    statements: [
      'BEGIN',
      "SELECT pg_catalog.set_config('lock_timeout', '10000ms', true)",
      "SELECT pg_catalog.set_config('idle_in_transaction_session_timeout', '5000ms', true)",
      'SELECT pg_catalog.pg_advisory_xact_lock(-1897433069857451397)',
      'DROP TABLE IF EXISTS "queue"."asyncmq_jobs"',
      'DROP TABLE IF EXISTS "queue"."asyncmq_repeatables"',
      'DROP TABLE IF EXISTS "queue"."asyncmq_cancelled_jobs"',
      'COMMIT',
    ],
  });
  const custom = await run(['sql', '--jobs-table', 'my_jobs'], { ASYNCMQ_POSTGRES_SCHEMA: 'queue' });
  assert.match(custom.stdout, /CREATE SCHEMA "queue";\n/);
  assert.match(custom.stdout, /CREATE INDEX "idx_my_jobs_status" ON "queue"."my_jobs" USING btree \("status"\);/);
});

test('install, then install again, status, drop: messages and exit codes', async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  const first = await run(['install'], env);
  assert.equal(first.code, 0);
  assert.ok(first.stdout.startsWith(DEFAULT_NOTE), first.stdout);
  assert.match(first.stdout.slice(DEFAULT_NOTE.length), /^Created: table public\.asyncmq_jobs, index public\.idx_asyncmq_jobs_queue_name, .*table public\.asyncmq_cancelled_jobs\.\n$/);
  const second = await run(['install'], env);
  assert.deepEqual(second, { code: 0, stdout: `${DEFAULT_NOTE}Nothing to do: every table and index is in place in public.\n`, stderr: '' });

  const ok = await run(['status'], env);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /table asyncmq_jobs: present\n {2}column {5}id {2,}present\n/);
  assert.match(ok.stdout, /OK: installed and in shape\.\n$/);

  await db.sql`drop index idx_asyncmq_jobs_status`;
  await db.sql`alter table asyncmq_repeatables alter column paused drop default`;
  const bad = await run(['status'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /index {6}idx_asyncmq_jobs_status +missing: expected USING btree \(status\)/);
  assert.match(bad.stdout, /fix: CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_asyncmq_jobs_status" ON "public"\."asyncmq_jobs" USING btree \("status"\);/);
  assert.match(bad.stdout, /table asyncmq_repeatables: different\n/);
  assert.match(bad.stdout, /column {5}paused +different \[breaks AsyncMQ\]: expected boolean NOT NULL DEFAULT false; found boolean NOT NULL\n {14}AsyncMQ's INSERTs leave this column out and rely on its default/);
  assert.match(bad.stdout, /NOT OK: 2 problem\(s\): missing, breaking AsyncMQ, or privileges the role lacks\.\n$/);

  const json = JSON.parse((await run(['status', '--json'], env)).stdout);
  assert.equal(json.ok, false);
  assert.equal(json.namespace, 'public');
  assert.deepEqual(json.tables.map((t: { name: string; status: string }) => [t.name, t.status]), [
    ['asyncmq_jobs', 'present'],
    ['asyncmq_repeatables', 'different'],
    ['asyncmq_cancelled_jobs', 'present'],
  ]);
  assert.deepEqual(json.tables[1].items.find((i: { name: string }) => i.name === 'paused'), {
    kind: 'column',
    name: 'paused',
    status: 'different',
    expected: 'boolean NOT NULL DEFAULT false',
    actual: 'boolean NOT NULL',
    impact: 'breaks',
    advice: 'AsyncMQ\'s INSERTs leave this column out and rely on its default (ALTER TABLE "public"."asyncmq_repeatables" ALTER COLUMN "paused" SET DEFAULT false)',
  });

  // install refuses the drifted table and says why, with exit 3
  const refused = await run(['install'], env);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /paused different.*\[ASYNCMQ_SCHEMA_MISMATCH\]\n$/s);

  // with the table mended, install builds the missing index
  await db.sql`alter table asyncmq_repeatables alter column paused set default false`;
  const built = await run(['install'], env);
  assert.deepEqual(built, { code: 0, stdout: `${DEFAULT_NOTE}Created: index public.idx_asyncmq_jobs_status.\n`, stderr: '' });
  assert.equal((await run(['status'], env)).code, 0);
});

test('install on a populated table missing an index: builds it concurrently, or with --no-index-builds says what is pending and exits 1', async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  assert.equal((await run(['install'], env)).code, 0);
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data, status) select 'q', 'j' || g, '{}', 'waiting' from generate_series(1, 1000) g`;
  await db.sql`drop index idx_asyncmq_jobs_status`;
  await db.sql`drop index idx_asyncmq_jobs_delay_until`;

  const declined = await run(['install', '--no-index-builds', '--schema-version', '0.1'], env);
  assert.equal(declined.code, 1, 'done, but the schema is not complete');
  assert.equal(declined.stderr, '');
  const [versionLine, headline, ...rest] = declined.stdout.split('\n');
  assert.equal(versionLine, 'AsyncMQ schema 0.1 (AsyncMQ 0.1.x), from --schema-version.');
  assert.equal(headline, 'Not complete: 2 indexes still missing in public: idx_asyncmq_jobs_status, idx_asyncmq_jobs_delay_until.');
  assert.doesNotMatch(declined.stdout, /Nothing to do/);
  assert.match(rest.join('\n'), /^Not built \(--no-index-builds\): .*\. Build them with `npx --no-install asyncmq-postgres install --schema-version 0\.1`, .*\n {2}CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_asyncmq_jobs_status" ON "public"\."asyncmq_jobs" USING btree \("status"\);\n/);
  assert.equal((await run(['status'], env)).code, 1, 'status agrees');

  const json = await run(['install', '--no-index-builds', '--json'], env);
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout).pendingIndexes.map((p: { name: string; reason: string }) => [p.name, p.reason]), [
    ['idx_asyncmq_jobs_status', 'not-requested'],
    ['idx_asyncmq_jobs_delay_until', 'not-requested'],
  ]);

  // Another session holds the namespace's index-build lock all along: install waits for it, as
  // long as the lock timeout, then leaves the work to it, and says so, with exit 1.
  const holder = await db.sql.reserve();
  try {
    await holder`select pg_advisory_lock(${lockKey('public', 'index-build')}::bigint)`;
    const elsewhere = await run(['install', '--lock-timeout', '300'], env);
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stdout, /^AsyncMQ schema 0\.1 .*\nNot complete: 2 indexes still missing in public: .*\nAnother session is building indexes in public; left to it: idx_asyncmq_jobs_status, idx_asyncmq_jobs_delay_until\. Run install again once it has finished\.\n$/);
    await holder`select pg_advisory_unlock(${lockKey('public', 'index-build')}::bigint)`;
  } finally {
    holder.release();
  }

  const built = await run(['install'], env);
  assert.deepEqual(built, { code: 0, stdout: `${DEFAULT_NOTE}Created: index public.idx_asyncmq_jobs_status, index public.idx_asyncmq_jobs_delay_until.\n`, stderr: '' });
  assert.equal((await run(['status'], env)).code, 0);
  // --concurrently, the former spelling of the default, is still accepted.
  assert.deepEqual(await run(['install', '--concurrently'], env), { code: 0, stdout: `${DEFAULT_NOTE}Nothing to do: every table and index is in place in public.\n`, stderr: '' });
});

test('install while another session builds the same indexes: waits for it, and exits 0 once that session has built them', async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  assert.equal((await run(['install'], env)).code, 0);
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data, status) select 'q', 'j' || g, '{}', 'waiting' from generate_series(1, 1000) g`;
  await db.sql`drop index idx_asyncmq_jobs_status`;
  const builder = await db.sql.reserve();
  try {
    await builder`select pg_advisory_lock(${lockKey('public', 'index-build')}::bigint)`;
    // A generous lock timeout: the install must still be waiting when the builder is done.
    let settled = false;
    const install = run(['install', '--lock-timeout', '600000'], env).finally(() => (settled = true));
    // The install has found the lock taken (its session's last statement tried it) before the builder builds.
    await until(async () => {
      const [{ n }] = (await db.sql`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and query ilike '%pg_try_advisory_lock%' and query not ilike '%pg_stat_activity%'`) as unknown as [{ n: number }];
      return n > 0 || settled;
    }, 'the install tries the index build lock');
    assert.equal(settled, false, `the install waits for the session building: ${JSON.stringify(settled && (await install))}`);
    await builder`create index concurrently idx_asyncmq_jobs_status on asyncmq_jobs using btree (status)`;
    await builder`select pg_advisory_unlock(${lockKey('public', 'index-build')}::bigint)`;
    assert.deepEqual(await install, { code: 0, stdout: `${DEFAULT_NOTE}Nothing to do: every table and index is in place in public.\n`, stderr: '' });
  } finally {
    builder.release();
  }
  assert.equal((await run(['status'], env)).code, 0);
});

test('16 upgrades at once, with the index profile of AsyncMQ 0.9: every one exits 0, and only the one that did the work says it upgraded', async () => {
  const db = await createDatabase();
  await db.sql.unsafe(asyncmqInstallSql('0.1'));
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data, status) select 'q' || (g % 4), 'j' || g, '{}', 'waiting' from generate_series(1, 20000) g`;
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  const runs = await Promise.all(Array.from({ length: 16 }, () => run(['upgrade', '--schema-version', '0.9', '--indexes', 'asyncmq-0.9', '--lock-timeout', '600000'], env)));
  for (const result of runs) assert.deepEqual([result.code, result.stderr], [0, ''], result.stdout);
  const upgraded = runs.filter((r) => /^Upgraded public from AsyncMQ 0\.1's schema/m.test(r.stdout));
  assert.equal(upgraded.length, 1, runs.map((r) => r.stdout).join('---\n'));
  for (const result of runs.filter((r) => !upgraded.includes(r))) {
    assert.match(
      result.stdout,
      /^AsyncMQ schema 0\.9 \(AsyncMQ 0\.9\.x\), from --schema-version\.\n(Found public upgraded from AsyncMQ 0\.[12]'s schema by another session, which this call waited for; this call changed nothing of it\.\n)?(Nothing to do: every table and index is in place in public\.|Created: index public\.idx_[a-z_]+(, index public\.idx_[a-z_]+)*\.)\n$/,
    );
  }
  const status = await run(['status', '--schema-version', '0.9', '--indexes', 'asyncmq-0.9'], env);
  assert.equal(status.code, 0, status.stdout);
});

test('drop needs --yes: without it, exit 2 and nothing dropped; with it, dropped', async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  await run(['install'], env);
  const refused = await run(['drop'], env);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /drop would remove the tables asyncmq_jobs, asyncmq_repeatables, asyncmq_cancelled_jobs .*Run `npx --no-install asyncmq-postgres drop --yes` to drop them/);
  assert.equal(Object.keys((await snapshot(db.sql)).tables).length, 3);
  const dropped = await run(['drop', '--yes', '--json'], env);
  assert.equal(dropped.code, 0);
  assert.deepEqual(JSON.parse(dropped.stdout).dropped, ['table public.asyncmq_jobs', 'table public.asyncmq_repeatables', 'table public.asyncmq_cancelled_jobs']);
  assert.deepEqual((await snapshot(db.sql)).tables, {});
});

test('configuration errors exit 2 with one line and no stack; --json prints an error document', async () => {
  const noUrl = await run(['install']);
  assert.equal(noUrl.code, 2);
  assert.equal(noUrl.stdout, '');
  assert.match(noUrl.stderr, /^asyncmq-postgres: no database URL: .*ASYNCMQ_POSTGRES_BACKEND_URL.* \[ASYNCMQ_NO_URL\]\n$/);

  const json = await run(['status', '--json']);
  assert.equal(json.code, 2);
  assert.deepEqual(Object.keys(JSON.parse(json.stdout).error), ['code', 'message']);
  assert.equal(JSON.parse(json.stdout).error.code, 'ASYNCMQ_NO_URL');

  for (const args of [
    ['install', '--bogus'],
    ['frobnicate'],
    ['status', 'extra'],
    ['install', '--yes'],
    ['status', '--no-index-builds'],
    ['install', '--concurrently', '--no-index-builds'],
    ['sql', '--lock-timeout', 'soon'],
    [],
  ]) {
    const result = await run(args, { ASYNCMQ_POSTGRES_BACKEND_URL: 'postgres://x@127.0.0.1:1/db' });
    assert.equal(result.code, 2, args.join(' '));
  }
  const bare = await run(['--json']);
  assert.equal(bare.code, 2);
  assert.equal(JSON.parse(bare.stdout).error.code, 'ASYNCMQ_USAGE');
  const badName = await run(['sql', '--jobs-table', 'Bad-Name']);
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /^asyncmq-postgres: --jobs-table is "Bad-Name": .*\[ASYNCMQ_INVALID_NAME\]\n$/);
  const badPool = await run(['status'], { ASYNCMQ_POSTGRES_BACKEND_URL: 'postgres://x@127.0.0.1:1/db', ASYNCMQ_POSTGRES_POOL_OPTIONS: '[' });
  assert.equal(badPool.code, 2);
  assert.match(badPool.stderr, /\[ASYNCMQ_INVALID_POOL_OPTIONS\]/);
});

test('database failures exit 3, without the password; --verbose adds the stack', async () => {
  const url = 'postgres://user:pa55-w0rd@127.0.0.1:1/db';
  const failed = await run(['status', '--url', url]);
  assert.equal(failed.code, 3);
  assert.match(failed.stderr, /^asyncmq-postgres: could not connect to 127\.0\.0\.1:1\/db .*\[ASYNCMQ_CONNECTION_FAILED\]\n$/);
  const verbose = await run(['install', '--verbose'], { ASYNCMQ_POSTGRES_BACKEND_URL: url });
  assert.equal(verbose.code, 3);
  assert.match(verbose.stderr, /\n {4}at /);
  assert.doesNotMatch(failed.stderr + verbose.stderr, /pa55-w0rd/);
});

test('help and version', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  for (const command of ['install', 'drop', 'status', 'sql']) assert.match(help.stdout, new RegExp(`\\n  ${command} `));
  const dropHelp = await run(['drop', '--help']);
  assert.match(dropHelp.stdout, /--yes/);
  const installHelp = await run(['install', '--help']);
  assert.match(installHelp.stdout, /--no-index-builds +report indexes missing/);
  assert.match(installHelp.stdout, /--concurrently +the former spelling of the default/);
  assert.match(help.stdout, /Exit codes: 0 done; 1 install or upgrade: done, but the schema is not complete/);
  assert.match((await run(['--version'])).stdout, /^\d+\.\d+\.\d+\n$/);
});

test('the bin runs as a process and exits with the command status', async () => {
  const db = await createDatabase();
  const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
  const env = { ...process.env, ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  const status = spawnSync(process.execPath, ['--import', 'tsx', bin, 'status'], { env, encoding: 'utf8' });
  assert.equal(status.status, 1);
  assert.match(status.stdout, /table asyncmq_jobs: missing/);
  const install = spawnSync(process.execPath, ['--import', 'tsx', bin, 'install'], { env, encoding: 'utf8' });
  assert.equal(install.status, 0, install.stderr);
});

/** The words of the one command a message prints between backquotes, checked to be this package's, without npx's. */
function printedCommand(text: string): string[] {
  const commands = [...text.matchAll(/`(npx [^`]*)`/g)].map((m) => m[1]!);
  assert.equal(commands.length, 1, text);
  const words = commands[0]!.split(' ');
  assert.deepEqual(words.slice(0, 3), ['npx', '--no-install', 'asyncmq-postgres'], text);
  return words.slice(3);
}

test('install and status name the schema version and where it came from; the default says how to choose', async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  const status = await run(['status'], env);
  assert.ok(status.stdout.includes(`\n${DEFAULT_NOTE}`), status.stdout);
  const statusJson = JSON.parse((await run(['status', '--json'], env)).stdout);
  assert.deepEqual([statusJson.schemaVersion.configured, statusJson.schemaVersion.isDefault], ['0.1', true]);

  const flagged = await run(['install', '--schema-version', '0.9.1', '--schema', 'a'], env);
  assert.equal(flagged.code, 0, flagged.stderr);
  assert.equal(flagged.stdout.split('\n')[0], 'AsyncMQ schema 0.9 (AsyncMQ 0.9.x), from --schema-version.');
  const fromEnv = await run(['install', '--schema', 'a'], { ...env, ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.9' });
  assert.equal(fromEnv.stdout, 'AsyncMQ schema 0.9 (AsyncMQ 0.9.x), from ASYNCMQ_POSTGRES_SCHEMA_VERSION.\nNothing to do: every table and index is in place in a.\n');
  const json = JSON.parse((await run(['install', '--json', '--schema', 'a', '--schema-version', '0.9'], env)).stdout);
  assert.deepEqual([json.schemaVersion, json.schemaVersionIsDefault], ['0.9', false]);
  const fromStatus = await run(['status', '--schema', 'a'], { ...env, ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.9.0' });
  assert.match(fromStatus.stdout, /\nschema version 0\.9 configured; the tables hold AsyncMQ 0\.9's schema\nAsyncMQ schema 0\.9 \(AsyncMQ 0\.9\.x\), from ASYNCMQ_POSTGRES_SCHEMA_VERSION\.\n/);
  assert.doesNotMatch(fromStatus.stdout, /the default/);

  // The API's report says the same.
  const seed = await installPostgresBackend({ connectionString: db.url, env: {} });
  assert.deepEqual([seed.schemaVersion, seed.schemaVersionIsDefault], ['0.1', true]);
  const chosen = await installPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchema: 'a', postgresSchemaVersion: '0.9' } });
  assert.deepEqual([chosen.schemaVersion, chosen.schemaVersionIsDefault], ['0.9', false]);
});

test('the upgrade install and status print runs as printed, with the flags and variables that led to it, and upgrades', async () => {
  const db = await asyncmqDatabase('0.1', {}, 'queue');
  await db.sql.unsafe(`
    insert into queue.asyncmq_jobs (queue_name, job_id, data, status) select 'q' || (i % 2), 'job-' || i, '{}', 'waiting' from generate_series(1, 20) i;
    insert into queue.asyncmq_cancelled_jobs (queue_name, job_id) values ('q0', 'job-2')`);
  const before = await rows(db, 'queue');
  // The namespace from a flag, the lock timeout from a variable: both must be in the printed command.
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url, ASYNCMQ_POSTGRES_LOCK_TIMEOUT: '5000' };

  const refused = await run(['install', '--schema', 'queue', '--schema-version', '0.9'], env);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /this database holds AsyncMQ 0\.1's schema; the configured 0\.9 needs an upgrade: `npx [^`]+`, which keeps every row.*\[ASYNCMQ_UPGRADE_REQUIRED\]\n$/);
  const printed = printedCommand(refused.stderr);
  assert.deepEqual(printed, ['upgrade', '--schema', 'queue', '--schema-version', '0.9', '--lock-timeout', '5000']);

  const status = await run(['status', '--schema', 'queue', '--schema-version', '0.9'], env);
  assert.equal(status.code, 1);
  const advice = status.stdout.split('\n').filter((line) => line.includes('`npx'));
  assert.ok(advice.length > 1, status.stdout);
  for (const line of advice) assert.deepEqual(printedCommand(line), printed, line);

  // Run as printed (the variables still set), it upgrades, keeping every row.
  const upgraded = await run(printed, env);
  assert.equal(upgraded.code, 0, upgraded.stderr);
  assert.match(upgraded.stdout, /^AsyncMQ schema 0\.9 \(AsyncMQ 0\.9\.x\), from --schema-version\.\nUpgraded queue from AsyncMQ 0\.1's schema, keeping every row/);
  assert.deepEqual(await snapshot(db.sql, 'queue'), await snapshot((await asyncmqDatabase('0.9', {}, 'queue')).sql, 'queue'));
  const after = await rows(db, 'queue');
  for (const [table, kept] of Object.entries(before)) assert.deepEqual(after[table], kept, table);
});

test('upgrade with no version chosen refuses with exit 2, naming what the database holds and the versions, and changes nothing', async () => {
  const db = await asyncmqDatabase('0.1');
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  const before = await snapshot(db.sql);
  const refused = await run(['upgrade'], env);
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    /^asyncmq-postgres: upgrade needs the AsyncMQ schema version to move to; the tables in public hold AsyncMQ 0\.1's schema\. Give your AsyncMQ's with --schema-version .*0\.1 \(AsyncMQ 0\.1\.x\), 0\.2 \(AsyncMQ 0\.2\.x to 0\.7\.x\), 0\.8 \(AsyncMQ 0\.8\.x\), 0\.9 \(AsyncMQ 0\.9\.x\).*\[ASYNCMQ_USAGE\]\n$/,
  );
  assert.deepEqual(printedCommand(refused.stderr), ['upgrade', '--schema-version', '0.9']);
  assert.deepEqual(await snapshot(db.sql), before);
  const json = await run(['upgrade', '--json', '--schema', 'elsewhere'], env);
  assert.equal(json.code, 2);
  assert.match(JSON.parse(json.stdout).error.message, /elsewhere holds none of the tables/);
  // Unreachable, it is the connection's failure (exit 3): the version found cannot be named.
  assert.equal((await run(['upgrade'], { ASYNCMQ_POSTGRES_BACKEND_URL: 'postgres://x@127.0.0.1:1/db' })).code, 3);
  // The SQL of an upgrade with no target, without connecting.
  const sql = await run(['sql', '--upgrade', '--from', '0.1']);
  assert.equal(sql.code, 2);
  assert.deepEqual(printedCommand(sql.stderr), ['sql', '--upgrade', '--from', '0.1', '--schema-version', '0.9']);
  assert.equal((await run(printedCommand(sql.stderr))).code, 0);
});

test('errors name the setting as the user gave it: the flag, the variable, the settings key', async () => {
  const url = { ASYNCMQ_POSTGRES_BACKEND_URL: 'postgres://x@127.0.0.1:1/db' };
  const flag = await run(['status', '--schema-version', '9'], url);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^asyncmq-postgres: --schema-version is "9", which is not a schema version or an AsyncMQ release; /);
  assert.doesNotMatch(flag.stderr, /ASYNCMQ_POSTGRES_SCHEMA_VERSION is|postgresSchemaVersion \(/);
  const variable = await run(['status'], { ...url, ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.9.99' });
  assert.match(variable.stderr, /^asyncmq-postgres: ASYNCMQ_POSTGRES_SCHEMA_VERSION is "0\.9\.99", which is not an AsyncMQ release/);
  // A flag wins over the variable, and its name is the one in the error.
  const both = await run(['sql', '--jobs-table', 'Jobs'], { ASYNCMQ_POSTGRES_JOBS_TABLE_NAME: 'fine' });
  assert.match(both.stderr, /^asyncmq-postgres: --jobs-table is "Jobs": /);
  const derived = await run(['sql', '--schema-version', '0.8'], { ASYNCMQ_POSTGRES_JOBS_TABLE_NAME: 'j'.repeat(45) });
  assert.match(derived.stderr, /^asyncmq-postgres: ASYNCMQ_POSTGRES_JOBS_TABLE_NAME is 45 bytes long/);
  await assert.rejects(installPostgresBackend({ env: {}, connectionString: url.ASYNCMQ_POSTGRES_BACKEND_URL, settings: { postgresSchemaVersion: 'v0.9' } }), /^AsyncmqPostgresError: settings\.postgresSchemaVersion is "v0\.9", which is written without the v: 0\.9/);
});

test("an unknown flag or command gets the package's own message, with the nearest known one", async () => {
  const cases: [string[], RegExp][] = [
    [['install', '--schema-verison', '0.9'], /^asyncmq-postgres: unknown option --schema-verison; did you mean --schema-version\? \[ASYNCMQ_USAGE\]\n$/],
    [['install', '--schema-verison=0.9'], /unknown option --schema-verison; did you mean --schema-version\?/],
    [['status', '--schemaVersion', '0.9'], /unknown option --schemaVersion; did you mean --schema-version\?/],
    [['status', '--postgres-jobs-table-name', 'j'], /unknown option --postgres-jobs-table-name; did you mean --jobs-table\?/],
    [['status', '--lock', '5'], /unknown option --lock; did you mean --lock-timeout\?/],
    [['status', '--frobnicate'], /^asyncmq-postgres: unknown option --frobnicate; asyncmq-postgres --help lists the options \[ASYNCMQ_USAGE\]\n$/],
    [['status', '-x'], /unknown option -x;/],
    [['instal'], /^asyncmq-postgres: unknown command "instal"; did you mean install\? The commands: install, upgrade, drop, status, sql \[ASYNCMQ_USAGE\]\n$/],
    [['stauts'], /unknown command "stauts"; did you mean status\?/],
    [['frobnicate'], /^asyncmq-postgres: unknown command "frobnicate"; The commands: install/],
    [['status', '--schema'], /^asyncmq-postgres: --schema needs a value: --schema <value> \[ASYNCMQ_USAGE\]\n$/],
    [['status', '--schema', '--yes'], /--schema needs a value, but the next word is the option --yes; a value that starts with - goes as --schema=<value>/],
    [['status', '--json=yes'], /--json takes no value \(got "yes"\)/],
    [['status', '--schema', 'a', '--schema', 'b'], /--schema is given twice; give it once/],
    [['status', '--', '--schema'], /unexpected argument "--schema": status takes options only/],
  ];
  for (const [args, pattern] of cases) {
    const result = await run(args, { ASYNCMQ_POSTGRES_BACKEND_URL: 'postgres://x@127.0.0.1:1/db' });
    assert.equal(result.code, 2, args.join(' '));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, pattern, args.join(' '));
    assert.doesNotMatch(result.stderr, /positional|'--/, args.join(' '));
  }
  const json = await run(['instal', '--json']);
  assert.deepEqual(JSON.parse(json.stdout).error.code, 'ASYNCMQ_USAGE');
  assert.match(JSON.parse(json.stdout).error.message, /did you mean install\?/);
});
