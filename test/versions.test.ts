/**
 * Every AsyncMQ schema version: a fresh install of each is catalog-identical to AsyncMQ's own
 * installer at that release, AsyncMQ's own tables are recognised, drop takes the whole name set,
 * and the CLI speaks of versions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../src/cli.js';
import { AsyncmqPostgresError, createAsyncmqSchema, inspectPostgresBackend, installOrDropPostgresBackend, renderPostgresBackendSql } from '../src/index.js';
import { parseSchemaVersion, SCHEMA_VERSIONS, schemaVersionOf } from '../src/config/versions.js';
import { renderLockStatements } from '../src/operations/locking.js';
import { createDatabase } from './support/db.js';
import { snapshot } from './support/snapshot.js';
import { asyncmqDatabase, at, fill, reference, rows } from './support/versions.js';

test('a schema version is a schema version or an AsyncMQ release that exists; anything else is refused, saying why', () => {
  for (const version of SCHEMA_VERSIONS) assert.equal(schemaVersionOf(version), version);
  // Every tag of dymmond/asyncmq, 0.1.0 to 0.9.1, and the untagged 0.6.1 and 0.6.3 of its release notes.
  const releases: Record<string, string[]> = {
    '0.1': ['0.1.0'],
    '0.2': ['0.2.0', '0.2.1', '0.2.2', '0.2.3', '0.3.0', '0.3.1', '0.4.0', '0.4.1', '0.4.2', '0.4.3', '0.4.4', '0.4.5', '0.4.6', '0.5.0', '0.5.1', '0.6.0', '0.6.1', '0.6.2', '0.6.3', '0.7.0'],
    '0.8': ['0.8.0', '0.8.1'],
    '0.9': ['0.9.0', '0.9.1'],
  };
  for (const [version, list] of Object.entries(releases)) for (const release of list) assert.equal(schemaVersionOf(release), version, release);
  for (const bad of ['v0.9', 'V0.9.1', '0.9.99', '0.9.2', '0.6.4', '0.1.1', '0.4', '0.7', '0.10', '0.10.1', '1.0', '0.0.9', 'latest', '', '0.9.1.2', ' 0.9x', '09']) {
    assert.equal(schemaVersionOf(bad), undefined, bad);
  }
  const refusal = (value: unknown, pattern: RegExp) =>
    assert.throws(
      () => parseSchemaVersion(value, '--schema-version', 'postgresSchemaVersion'),
      (error: AsyncmqPostgresError) => error.code === 'ASYNCMQ_INVALID_SETTING' && error.setting === 'postgresSchemaVersion' && pattern.test(error.message),
      String(value),
    );
  const known = /; the schema versions: 0\.1 \(AsyncMQ 0\.1\.x\), 0\.2 \(AsyncMQ 0\.2\.x to 0\.7\.x\), 0\.8 \(AsyncMQ 0\.8\.x\), 0\.9 \(AsyncMQ 0\.9\.x\), or the exact AsyncMQ release, such as 0\.9\.1$/;
  refusal('v0.9', /^--schema-version is "v0\.9", which is written without the v: 0\.9;/);
  refusal('0.9.99', /^--schema-version is "0\.9\.99", which is not an AsyncMQ release \(those of 0\.9 are 0\.9\.0, 0\.9\.1, on schema 0\.9\)/);
  refusal('0.4', /which is not a schema version: AsyncMQ 0\.4\.x \(0\.4\.0, .*0\.4\.6\) uses schema 0\.2; give 0\.2, or the exact release/);
  // A release after the newest read (the registry lists 0.10.1, whose source was not seen): not guessed.
  refusal('0.10.1', /newer than the AsyncMQ releases this asyncmq-postgres knows \(up to 0\.9\.1\): whether it changed its Postgres tables has not been checked/);
  refusal('1.2', /newer than the AsyncMQ releases/);
  refusal('latest', known);
  refusal(9, /^--schema-version is a number, where a version is a string/);
  assert.throws(
    () => createAsyncmqSchema({ postgresSchemaVersion: '1.2' }),
    (error: AsyncmqPostgresError) => error.code === 'ASYNCMQ_INVALID_SETTING' && /^postgresSchemaVersion \(ASYNCMQ_POSTGRES_SCHEMA_VERSION\) is "1\.2"/.test(error.message),
  );
  assert.equal(parseSchemaVersion('0.9.1', 'x'), '0.9');
});

test('the factory builds each version\'s tables, typed; the 0.8 jobs key needs a shorter jobs table name', () => {
  const seed = createAsyncmqSchema();
  assert.deepEqual(Object.keys(seed), ['jobs', 'repeatables', 'cancelledJobs']);
  const latest = createAsyncmqSchema({ postgresSchemaVersion: '0.9' });
  assert.deepEqual(Object.keys(latest), ['jobs', 'repeatables', 'cancelledJobs', 'workersHeartbeat', 'pausedQueues']);
  // Typed: these properties exist on the 0.9 result without a check.
  assert.ok(latest.workersHeartbeat.workerId && latest.pausedQueues.pausedAt);
  const name = 'j'.repeat(45);
  assert.ok(createAsyncmqSchema({ postgresJobsTableName: name }));
  assert.throws(
    () => createAsyncmqSchema({ postgresJobsTableName: name, postgresSchemaVersion: '0.8' }),
    /postgresJobsTableName.*_queue_name_job_id_key.*use at most 41 bytes/,
  );
  assert.throws(() => createAsyncmqSchema({ postgresJobsTableName: 'asyncmq_paused_queues' }), /asyncmq_paused_queues/);
  assert.throws(
    () => createAsyncmqSchema({ postgresWorkersHeartbeatTableName: 'Workers' }),
    (error: AsyncmqPostgresError) => error.code === 'ASYNCMQ_INVALID_NAME' && error.setting === 'postgresWorkersHeartbeatTableName',
  );
});

for (const version of SCHEMA_VERSIONS) {
  test(`${version}: install is catalog-identical to AsyncMQ's own installer, with default and custom names and in a namespace, and a no-op on AsyncMQ's tables`, async () => {
    const cases: { names: Record<string, string>; settings: Record<string, string>; namespace?: string }[] = [
      { names: {}, settings: {} },
      {
        names: { jobs: 'my_jobs', repeatables: 'my_repeatables', cancelledJobs: 'my_cancelled', workersHeartbeat: 'my_workers' },
        settings: {
          postgresJobsTableName: 'my_jobs',
          postgresRepeatablesTableName: 'my_repeatables',
          postgresCancelledJobsTableName: 'my_cancelled',
          postgresWorkersHeartbeatTableName: 'my_workers',
        },
      },
      { names: {}, settings: { postgresSchema: 'queue' }, namespace: 'queue' },
    ];
    // AsyncMQ 0.1 hard-codes its index names, so only later versions are compared under custom names.
    for (const { names, settings, namespace } of version === '0.1' ? cases.filter((c) => !c.names.jobs) : cases) {
      const reference = await asyncmqDatabase(version, names, namespace);
      const ours = await createDatabase();
      const options = { env: {}, settings: { ...settings, postgresSchemaVersion: version } };
      await installOrDropPostgresBackend({ connectionString: ours.url, ...options });
      assert.deepEqual(await snapshot(ours.sql, namespace), await snapshot(reference.sql, namespace), JSON.stringify(settings));

      const report = await installOrDropPostgresBackend({ connectionString: reference.url, ...options });
      assert.deepEqual([report.created, report.dropped, report.pendingIndexes], [[], [], []]);
      const status = await inspectPostgresBackend({ connectionString: reference.url, ...options });
      assert.equal(status.ok, true);
      assert.deepEqual([status.schemaVersion.state, status.schemaVersion.held, status.schemaVersion.verdict], ['matches', version, 'compatible']);
    }
  });
}

test('drop takes every table of the name set, but only its jobs table while another jobs table remains in the namespace', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, ...at('0.9') });
  const other = { env: {}, settings: { postgresSchemaVersion: '0.9', postgresJobsTableName: 'b_jobs', postgresRepeatablesTableName: 'b_rep', postgresCancelledJobsTableName: 'b_can', postgresWorkersHeartbeatTableName: 'b_hb' } };
  await installOrDropPostgresBackend({ connectionString: db.url, ...other });

  // Configured 0.1, the database 0.9's: drop still recognises the whole name set, heartbeat
  // table included, but while b_jobs remains only the jobs table goes: the settings of b_jobs's
  // AsyncMQ, which may name these tables, are not in the database.
  const first = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, drop: true });
  assert.deepEqual(first.dropped, ['table public.asyncmq_jobs']);
  const why = 'public.b_jobs remains in public, and the AsyncMQ that uses it may be configured with this table';
  assert.deepEqual(first.kept, [
    `table public.asyncmq_repeatables (${why})`,
    `table public.asyncmq_cancelled_jobs (${why})`,
    `table public.asyncmq_workers_heartbeat (${why})`,
    'table public.asyncmq_paused_queues (still used by public.b_jobs: AsyncMQ fixes its name)',
  ]);

  // The last jobs table: its whole set goes, the shared paused-queues table with it.
  const last = await installOrDropPostgresBackend({ connectionString: db.url, ...other, drop: true });
  assert.deepEqual(last.dropped, ['table public.b_jobs', 'table public.b_rep', 'table public.b_can', 'table public.b_hb', 'table public.asyncmq_paused_queues']);
  assert.equal(last.kept, undefined);
  // With no jobs table left, the first set's remaining tables go too.
  const rest = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, drop: true });
  assert.deepEqual(rest.dropped, ['table public.asyncmq_repeatables', 'table public.asyncmq_cancelled_jobs', 'table public.asyncmq_workers_heartbeat']);
  assert.deepEqual((await snapshot(db.sql)).tables, {});
});

test('the CLI: upgrade, status naming the version, and sql --upgrade that a DBA can run as printed', async () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t), env: {} } };
  };
  const db = await asyncmqDatabase('0.1');
  await fill(db, '0.1');

  const status = io();
  assert.equal(await main(['status', '--url', db.url, '--schema-version', '0.9.1'], status.io), 1);
  assert.match(status.out.stdout, /schema version 0\.9 configured; the tables hold AsyncMQ 0\.1's schema: upgrade with `npx --no-install asyncmq-postgres upgrade --schema-version 0\.9 --url <URL>` \(from 0\.1\)/);

  const install = io();
  assert.equal(await main(['install', '--url', db.url, '--schema-version', '0.9'], install.io), 3);
  assert.match(install.out.stderr, /\[ASYNCMQ_UPGRADE_REQUIRED\]/);

  const upgrade = io();
  assert.equal(await main(['upgrade', '--url', db.url, '--schema-version', '0.9'], upgrade.io), 0, upgrade.out.stderr);
  assert.match(upgrade.out.stdout, /Upgraded public from AsyncMQ 0\.1's schema, keeping every row; replaced: constraint public\.asyncmq_jobs_job_id_key\./);
  const ok = io();
  assert.equal(await main(['status', '--url', db.url, '--schema-version', '0.9'], ok.io), 0, ok.out.stdout);

  // The DBA's path: the printed upgrade, run statement by statement on AsyncMQ 0.1's tables.
  const sql = io();
  assert.equal(await main(['sql', '--upgrade', '--from', '0.1', '--schema-version', '0.9', '--json'], sql.io), 0, sql.out.stderr);
  const { steps } = JSON.parse(sql.out.stdout) as { steps: { concurrent: string[]; transaction: string[] }[] };
  assert.deepEqual(steps.map((s) => s.concurrent.length), [0, 1, 0]);
  const byHand = await asyncmqDatabase('0.1');
  await fill(byHand, '0.1');
  const before = await rows(byHand);
  const session = await byHand.sql.reserve();
  try {
    for (const step of steps) for (const statement of [...step.concurrent, ...step.transaction]) await session.unsafe(statement);
  } finally {
    session.release();
  }
  assert.deepEqual(await snapshot(byHand.sql), await reference('0.9'));
  const after = await rows(byHand);
  for (const [table, kept] of Object.entries(before)) assert.deepEqual(after[table], kept, table);
  assert.deepEqual(
    renderPostgresBackendSql({ upgrade: true, from: '0.4.6', settings: { postgresSchemaVersion: '0.8' } }),
    // Without BEGIN, the statements that open the transaction, and COMMIT.
    steps[1]!.concurrent.concat(steps[1]!.transaction.slice(1 + renderLockStatements('public', 10_000).length, -1)),
  );

  const usage = io();
  assert.equal(await main(['sql', '--upgrade', '--schema-version', '0.9'], usage.io), 2);
  assert.match(usage.out.stderr, /needs the version the database holds.*--from/);
  const misplaced = io();
  assert.equal(await main(['install', '--from', '0.1'], misplaced.io), 2);
});
