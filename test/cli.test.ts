/**
 * The asyncmq-postgres command: what it prints and its exit codes, against a real database.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli.js';
import { lockKey } from '../src/operations/locking.js';
import { createDatabase } from './support/db.js';
import { seedInstallSql } from './support/seed.js';
import { snapshot } from './support/snapshot.js';

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env });
  return { code, stdout, stderr };
}

test('sql prints the install plan without a URL; run as is, it gives the seed catalog', async () => {
  const { code, stdout, stderr } = await run(['sql']);
  assert.equal(code, 0);
  assert.equal(stderr, '');
  assert.match(
    stdout,
    /^(--.*\n)+BEGIN;\n\nSELECT set_config\('lock_timeout', '10000ms', true\);\n\nSELECT pg_catalog\.set_config\('idle_in_transaction_session_timeout', '5000ms', true\);\n\nSELECT pg_advisory_xact_lock\(7416167380895331789\);\n/,
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
      "SELECT set_config('lock_timeout', '10000ms', true)",
      "SELECT pg_catalog.set_config('idle_in_transaction_session_timeout', '5000ms', true)",
      'SELECT pg_advisory_xact_lock(-1897433069857451397)',
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
  assert.match(first.stdout, /^Created: table public\.asyncmq_jobs, index public\.idx_asyncmq_jobs_queue_name, .*table public\.asyncmq_cancelled_jobs\.\n$/);
  const second = await run(['install'], env);
  assert.deepEqual(second, { code: 0, stdout: 'Nothing to do: every table and index is in place in public.\n', stderr: '' });

  const ok = await run(['status'], env);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /table asyncmq_jobs: present\n {2}column {5}id {2,}present\n/);
  assert.match(ok.stdout, /OK: installed and in shape\.\n$/);

  await db.sql`drop index idx_asyncmq_jobs_status`;
  await db.sql`alter table asyncmq_repeatables alter column paused drop default`;
  const bad = await run(['status'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /index {6}idx_asyncmq_jobs_status +missing: expected USING btree \(status\)/);
  assert.match(bad.stdout, /fix: CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_asyncmq_jobs_status" ON "asyncmq_jobs" USING btree \("status"\);/);
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
  assert.deepEqual(built, { code: 0, stdout: 'Created: index public.idx_asyncmq_jobs_status.\n', stderr: '' });
  assert.equal((await run(['status'], env)).code, 0);
});

test('install on a populated table missing an index: builds it concurrently, or with --no-index-builds says what is pending and exits 1', async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  assert.equal((await run(['install'], env)).code, 0);
  await db.sql`insert into asyncmq_jobs (queue_name, job_id, data, status) select 'q', 'j' || g, '{}', 'waiting' from generate_series(1, 1000) g`;
  await db.sql`drop index idx_asyncmq_jobs_status`;
  await db.sql`drop index idx_asyncmq_jobs_delay_until`;

  const declined = await run(['install', '--no-index-builds'], env);
  assert.equal(declined.code, 1, 'done, but the schema is not complete');
  assert.equal(declined.stderr, '');
  const [headline, ...rest] = declined.stdout.split('\n');
  assert.equal(headline, 'Not complete: 2 indexes still missing in public: idx_asyncmq_jobs_status, idx_asyncmq_jobs_delay_until.');
  assert.doesNotMatch(declined.stdout, /Nothing to do/);
  assert.match(rest.join('\n'), /^Not built \(--no-index-builds\): .*\n {2}CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_asyncmq_jobs_status" ON "asyncmq_jobs" USING btree \("status"\);\n/);
  assert.equal((await run(['status'], env)).code, 1, 'status agrees');

  const json = await run(['install', '--no-index-builds', '--json'], env);
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout).pendingIndexes.map((p: { name: string; reason: string }) => [p.name, p.reason]), [
    ['idx_asyncmq_jobs_status', 'not-requested'],
    ['idx_asyncmq_jobs_delay_until', 'not-requested'],
  ]);

  // Another session holds the namespace's index-build lock: install leaves the work to it, and
  // says so, with exit 1.
  const holder = await db.sql.reserve();
  try {
    await holder`select pg_advisory_lock(${lockKey('public', 'index-build')}::bigint)`;
    const elsewhere = await run(['install'], env);
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stdout, /^Not complete: 2 indexes still missing in public: .*\nAnother session is building indexes in public; left to it: idx_asyncmq_jobs_status, idx_asyncmq_jobs_delay_until\. Run install again once it has finished\.\n$/);
    await holder`select pg_advisory_unlock(${lockKey('public', 'index-build')}::bigint)`;
  } finally {
    holder.release();
  }

  const built = await run(['install'], env);
  assert.deepEqual(built, { code: 0, stdout: 'Created: index public.idx_asyncmq_jobs_status, index public.idx_asyncmq_jobs_delay_until.\n', stderr: '' });
  assert.equal((await run(['status'], env)).code, 0);
  // --concurrently, the former spelling of the default, is still accepted.
  assert.deepEqual(await run(['install', '--concurrently'], env), { code: 0, stdout: 'Nothing to do: every table and index is in place in public.\n', stderr: '' });
});

test('drop needs --yes: without it, exit 2 and nothing dropped; with it, dropped', async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  await run(['install'], env);
  const refused = await run(['drop'], env);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /drop would remove the tables asyncmq_jobs, asyncmq_repeatables, asyncmq_cancelled_jobs .*--yes/);
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
  assert.match(badName.stderr, /postgresJobsTableName \(ASYNCMQ_POSTGRES_JOBS_TABLE_NAME\).*\[ASYNCMQ_INVALID_NAME\]/);
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
