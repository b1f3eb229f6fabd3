/**
 * Drop beside other name sets in the same namespace: it takes only what no other AsyncMQ may
 * still be using. AsyncMQ's settings name each table, and another app's settings are not in
 * the database, so while another jobs table remains, every table of the set but its jobs
 * table stays, and is reported as kept with the reason.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { installOrDropPostgresBackend } from '../src/index.js';
import { createDatabase } from './support/db.js';
import { snapshot } from './support/snapshot.js';
import { rows } from './support/versions.js';
import { runCli } from './support/cli.js';

const cli = (args: string[], url: string) => runCli(args, { ASYNCMQ_POSTGRES_BACKEND_URL: url });

test('two apps sharing the default tables beside their own jobs tables: dropping one keeps every table the other may use, with its rows', async () => {
  const db = await createDatabase();
  // The report's steps: two apps that differ only in their jobs table, so they share the rest.
  for (const jobs of ['billing_jobs', 'email_jobs']) {
    const installed = await cli(['install', '--schema-version', '0.9', '--jobs-table', jobs], db.url);
    assert.equal(installed.code, 0, installed.stderr);
  }
  assert.deepEqual(Object.keys((await snapshot(db.sql)).tables).sort(), [
    'asyncmq_cancelled_jobs',
    'asyncmq_paused_queues',
    'asyncmq_repeatables',
    'asyncmq_workers_heartbeat',
    'billing_jobs',
    'email_jobs',
  ]);
  // The email app's rows, in every table it uses.
  await db.sql.unsafe(`
    insert into email_jobs (queue_name, job_id, data) values ('emails', 'e-1', '{}');
    insert into asyncmq_repeatables (queue_name, job_def, next_run) values ('emails', '{"task_id": "digest"}', now());
    insert into asyncmq_cancelled_jobs (queue_name, job_id) values ('emails', 'e-0');
    insert into asyncmq_workers_heartbeat values ('email-worker', '{emails}', 4, extract(epoch from now()));
    insert into asyncmq_paused_queues (queue_name) values ('emails')`);
  const before = await rows(db);

  const dropped = await cli(['drop', '--yes', '--jobs-table', 'billing_jobs', '--json'], db.url);
  assert.equal(dropped.code, 0, dropped.stderr);
  const report = JSON.parse(dropped.stdout) as { dropped: string[]; kept: string[] };
  assert.deepEqual(report.dropped, ['table public.billing_jobs']);
  const why = 'public.email_jobs remains in public, and the AsyncMQ that uses it may be configured with this table';
  assert.deepEqual(report.kept, [
    `table public.asyncmq_repeatables (${why})`,
    `table public.asyncmq_cancelled_jobs (${why})`,
    `table public.asyncmq_workers_heartbeat (${why})`,
    'table public.asyncmq_paused_queues (still used by public.email_jobs: AsyncMQ fixes its name)',
  ]);
  const after = await rows(db);
  const { billing_jobs: _gone, ...others } = before;
  assert.deepEqual(after, others, 'every table of the other app kept, with its rows');

  // The text report says the same.
  await cli(['install', '--schema-version', '0.9', '--jobs-table', 'billing_jobs'], db.url);
  const text = await cli(['drop', '--yes', '--jobs-table', 'billing_jobs'], db.url);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /^Dropped in public: table public\.billing_jobs\.\nKept, since another jobs table may use them: table public\.asyncmq_repeatables \(public\.email_jobs remains in public, .*table public\.asyncmq_paused_queues \(still used by public\.email_jobs: AsyncMQ fixes its name\)\.\n$/,
  );

  // The last jobs table of the namespace: nothing else can use the rest, and it goes too.
  const last = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchemaVersion: '0.9', postgresJobsTableName: 'email_jobs' }, drop: true });
  assert.deepEqual(last.dropped, [
    'table public.email_jobs',
    'table public.asyncmq_repeatables',
    'table public.asyncmq_cancelled_jobs',
    'table public.asyncmq_workers_heartbeat',
    'table public.asyncmq_paused_queues',
  ]);
  assert.equal(last.kept, undefined);
  assert.deepEqual((await snapshot(db.sql)).tables, {});
});
