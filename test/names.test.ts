/**
 * Custom names and namespaces: each name set is its own, indexes land on the right tables,
 * sets coexist, drop is scoped, and hostile names never reach the database.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AsyncmqPostgresError, installOrDropPostgresBackend, inspectPostgresBackend, type AsyncmqSettings } from '../src/index.js';
import { validateIdentifier } from '../src/config/settings.js';
import { createDatabase } from './support/db.js';
import { seedInstallSql } from './support/seed.js';
import { snapshot } from './support/snapshot.js';

const setA: AsyncmqSettings = { postgresJobsTableName: 'a_jobs', postgresRepeatablesTableName: 'a_repeatables', postgresCancelledJobsTableName: 'a_cancelled' };
const setB: AsyncmqSettings = { postgresJobsTableName: 'b_jobs', postgresRepeatablesTableName: 'b_repeatables', postgresCancelledJobsTableName: 'b_cancelled' };

test('custom names: tables, constraints and indexes named after them, indexes on the jobs table', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: setA });
  const snap = await snapshot(db.sql);
  assert.deepEqual(Object.keys(snap.tables), ['a_cancelled', 'a_jobs', 'a_repeatables']);
  assert.deepEqual(snap.tables.a_jobs!.indexes, [
    'CREATE UNIQUE INDEX a_jobs_job_id_key ON public.a_jobs USING btree (job_id)',
    'CREATE UNIQUE INDEX a_jobs_pkey ON public.a_jobs USING btree (id)',
    'CREATE INDEX idx_a_jobs_delay_until ON public.a_jobs USING btree (delay_until)',
    'CREATE INDEX idx_a_jobs_queue_name ON public.a_jobs USING btree (queue_name)',
    'CREATE INDEX idx_a_jobs_status ON public.a_jobs USING btree (status)',
  ]);
  assert.deepEqual(snap.tables.a_repeatables!.constraints, ['a_repeatables_pkey PRIMARY KEY (queue_name, job_def)']);
  assert.deepEqual(snap.sequences, ['a_jobs_id_seq owned by a_jobs.id']);
});

test("AsyncMQ's own install under a custom jobs name (indexes named idx_asyncmq_jobs_*) counts as installed", async () => {
  const db = await createDatabase();
  await db.sql.unsafe(seedInstallSql({ jobs: 'a_jobs', repeatables: 'a_repeatables', cancelledJobs: 'a_cancelled' }));
  const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: setA });
  assert.deepEqual(report.created, []);
  assert.deepEqual(report.pendingIndexes, []);
  const status = await inspectPostgresBackend({ connectionString: db.url, env: {}, settings: setA });
  assert.equal(status.ok, true);
  assert.equal(status.tables[0]!.items.find((i) => i.name === 'idx_a_jobs_status')!.foundName, 'idx_asyncmq_jobs_status');
});

test('two name sets in one namespace coexist; dropping one leaves the other and its rows', async () => {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: setA });
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: setB });
  await db.sql`insert into b_jobs (queue_name, job_id, data) values ('q', 'j', '{}')`;
  const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: setA, drop: true });
  // While b_jobs remains, its AsyncMQ may be configured with a's other tables (its settings are
  // not in the database): only a_jobs goes, and the rest is reported as kept.
  assert.deepEqual(report.dropped, ['table public.a_jobs']);
  const why = 'public.b_jobs remains in public, and the AsyncMQ that uses it may be configured with this table';
  assert.deepEqual(report.kept, [`table public.a_repeatables (${why})`, `table public.a_cancelled (${why})`]);
  const snap = await snapshot(db.sql);
  assert.deepEqual(Object.keys(snap.tables), ['a_cancelled', 'a_repeatables', 'b_cancelled', 'b_jobs', 'b_repeatables']);
  assert.equal(snap.tables.b_jobs!.indexes.length, 5);
  assert.equal((await db.sql`select count(*)::int as n from b_jobs`)[0]!.n, 1);
});

test('default names in several namespaces: each its own, drop scoped to one, the schema kept', async () => {
  const db = await createDatabase();
  const reference = await createDatabase();
  await reference.sql.unsafe(seedInstallSql());
  const created = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchema: 'tenant_one' } });
  assert.equal(created.created[0], 'schema tenant_one');
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchema: 'tenant_two' } });
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });

  const publicSnap = await snapshot(db.sql, 'public');
  assert.deepEqual(publicSnap, await snapshot(reference.sql, 'public'));
  const two = await snapshot(db.sql, 'tenant_two');
  assert.deepEqual(two.tables.asyncmq_jobs!.indexes.map((i) => i.replace(/ ON \S+ /, ' ON ')), publicSnap.tables.asyncmq_jobs!.indexes.map((i) => i.replace(/ ON \S+ /, ' ON ')));
  // The serial default names the namespace's own sequence.
  assert.ok(two.tables.asyncmq_jobs!.columns[0]!.includes("nextval('tenant_two.asyncmq_jobs_id_seq'::regclass)"));

  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchema: 'tenant_one' }, drop: true });
  assert.deepEqual(await snapshot(db.sql, 'tenant_one'), { tables: {}, sequences: [] });
  assert.deepEqual(await snapshot(db.sql, 'tenant_two'), two);
  assert.deepEqual(await snapshot(db.sql, 'public'), publicSnap);
  const { kept } = (await db.sql`select exists (select 1 from pg_namespace where nspname = 'tenant_one') as kept`)[0]!;
  assert.equal(kept, true);
});

test('unqualified names follow the connection search_path, as AsyncMQ does', async () => {
  const db = await createDatabase();
  await db.sql`create schema tenant`;
  const report = await installOrDropPostgresBackend({ connectionString: db.url, env: {}, pool: { connection: { search_path: 'tenant' } } });
  assert.equal(report.namespace, 'tenant');
  assert.deepEqual(Object.keys((await snapshot(db.sql, 'tenant')).tables), ['asyncmq_cancelled_jobs', 'asyncmq_jobs', 'asyncmq_repeatables']);
  assert.deepEqual(await snapshot(db.sql, 'public'), { tables: {}, sequences: [] });
});

test('a table named with capitals (a different table to AsyncMQ) is not mistaken for ours', async () => {
  const db = await createDatabase();
  await db.sql.unsafe('create table "Asyncmq_Jobs" (x int)');
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, drop: true });
  assert.deepEqual(Object.keys((await snapshot(db.sql)).tables), ['Asyncmq_Jobs']);
});

test('hostile names are refused before anything runs; an unrelated table survives', async () => {
  const db = await createDatabase();
  await db.sql`create table app_users (id int)`;
  const hostile: AsyncmqSettings[] = [
    { postgresJobsTableName: 'x"; drop table app_users; --' },
    { postgresJobsTableName: 'jobs; drop table app_users' },
    { postgresRepeatablesTableName: 'App_Users' },
    { postgresCancelledJobsTableName: "it's" },
    { postgresSchema: 'public; drop table app_users' },
    { postgresJobsTableName: 'j'.repeat(48) },
  ];
  // Against a port where nothing listens too: the name is refused before any connection.
  for (const settings of hostile) {
    for (const [drop, connectionString] of [[false, db.url], [true, db.url], [false, 'postgres://x@127.0.0.1:1/db']] as const) {
      await assert.rejects(installOrDropPostgresBackend({ connectionString, env: {}, settings, drop }), (e: unknown) => {
        assert.ok(e instanceof AsyncmqPostgresError);
        assert.equal(e.code, 'ASYNCMQ_INVALID_NAME');
        assert.equal(e.setting, Object.keys(settings)[0]);
        return true;
      });
    }
  }
  assert.deepEqual(Object.keys((await snapshot(db.sql)).tables), ['app_users']);
});

test('the URL: connectionString over settings over the environment; pool options from the call replace the others', async () => {
  const db = await createDatabase();
  const nowhere = 'postgres://x@127.0.0.1:1/db';
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: nowhere, ASYNCMQ_POSTGRES_POOL_OPTIONS: '{"bogus": true}' };
  // The call's pool options replace the environment's (whose unknown option would be refused).
  const report = await installOrDropPostgresBackend({ connectionString: db.url, env, settings: { asyncmqPostgresBackendUrl: nowhere }, pool: { max: 1 } });
  assert.equal(report.namespace, 'public');
  const viaSettings = await installOrDropPostgresBackend({ env: { ASYNCMQ_POSTGRES_BACKEND_URL: nowhere }, settings: { asyncmqPostgresBackendUrl: db.url } });
  assert.deepEqual(viaSettings.created, []);
  const viaEnv = await inspectPostgresBackend({ env: { ASYNCMQ_POSTGRES_BACKEND_URL: db.url } });
  assert.equal(viaEnv.ok, true);
  await assert.rejects(installOrDropPostgresBackend({ connectionString: db.url, env }), (e: unknown) => {
    assert.ok(e instanceof AsyncmqPostgresError);
    assert.equal(e.code, 'ASYNCMQ_INVALID_POOL_OPTIONS');
    return true;
  });
});

test('prepare: false (PgBouncer in transaction mode) installs, checks and drops as usual', async () => {
  const db = await createDatabase();
  const options = { connectionString: db.url, env: {}, pool: { prepare: false } };
  assert.equal((await installOrDropPostgresBackend(options)).created.length, 6);
  assert.deepEqual((await installOrDropPostgresBackend(options)).created, []);
  assert.equal((await inspectPostgresBackend(options)).ok, true);
  assert.equal((await installOrDropPostgresBackend({ ...options, drop: true })).dropped.length, 3);
});

test('a namespace whose name is a key word (quoted in serial defaults) installs, checks and drops as usual', async () => {
  const db = await createDatabase();
  const options = { connectionString: db.url, env: {}, settings: { postgresSchema: 'time' } };
  assert.equal((await installOrDropPostgresBackend(options)).created[0], 'schema time');
  assert.deepEqual((await installOrDropPostgresBackend(options)).created, []);
  const { columns } = (await snapshot(db.sql, 'time')).tables.asyncmq_jobs!;
  assert.ok(columns[0]!.includes(`nextval('"time".asyncmq_jobs_id_seq'::regclass)`), columns[0]);
  assert.equal((await inspectPostgresBackend(options)).ok, true);
  assert.equal((await installOrDropPostgresBackend({ ...options, drop: true })).dropped.length, 3);
});

test('names AsyncMQ cannot use unquoted, and system names, are refused before any connection', async () => {
  const refusals: [AsyncmqSettings, RegExp][] = [
    // Type-or-function-name key words (pg_get_keywords() catcode T), not only reserved ones.
    ...['join', 'left', 'is', 'like', 'verbose', 'freeze', 'concurrently', 'tablesample'].map(
      (word) => [{ postgresJobsTableName: word }, new RegExp(`"${word}", a key word Postgres accepts only as a type or function name`)] as [AsyncmqSettings, RegExp],
    ),
    [{ postgresSchema: 'inner' }, /^settings\.postgresSchema is "inner", a key word/],
    [{ postgresSchema: 'select' }, /"select", a reserved word/],
    [{ postgresRepeatablesTableName: 'pg_jobs' }, /^settings\.postgresRepeatablesTableName is "pg_jobs": names starting with pg_ are Postgres's/],
    [{ postgresSchema: 'information_schema' }, /"information_schema", a system schema/],
    [{ postgresSchema: 'pg_catalog' }, /pg_ are reserved for Postgres's system schemas/],
    [{ postgresSchema: 'pg_queue' }, /pg_ are reserved/],
  ];
  for (const [settings, pattern] of refusals) {
    await assert.rejects(installOrDropPostgresBackend({ connectionString: 'postgres://x@127.0.0.1:1/db', env: {}, settings }), (e: unknown) => {
      assert.ok(e instanceof AsyncmqPostgresError);
      assert.equal(e.code, 'ASYNCMQ_INVALID_NAME');
      assert.equal(e.setting, Object.keys(settings)[0]);
      assert.match(e.message, pattern);
      return true;
    });
  }
});

// AsyncMQ's own statements, with the table name written unquoted as AsyncMQ writes it.
const asyncmqStatements = (table: string) => [
  `CREATE TABLE IF NOT EXISTS ${table} (id SERIAL PRIMARY KEY, queue_name TEXT NOT NULL, job_id TEXT NOT NULL UNIQUE, data JSONB NOT NULL, status TEXT, delay_until DOUBLE PRECISION, created_at TIMESTAMP WITHOUT TIME ZONE DEFAULT NOW(), updated_at TIMESTAMP WITHOUT TIME ZONE DEFAULT NOW())`,
  `CREATE INDEX IF NOT EXISTS idx_probe_status ON ${table}(status)`,
  `INSERT INTO ${table} (queue_name, job_id, data, status) VALUES ('q', 'j', '{}', 'waiting') ON CONFLICT (job_id) DO UPDATE SET data = EXCLUDED.data, status = EXCLUDED.status, updated_at = now()`,
  `SELECT data FROM ${table} WHERE queue_name = 'q' AND (data ->>'delay_until') IS NOT NULL AND (data ->>'delay_until')::float <= 1`,
  `UPDATE ${table} SET status = 'active', updated_at = now() WHERE id = (SELECT id FROM ${table} WHERE queue_name = 'q' AND status = 'waiting' ORDER BY created_at ASC LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING data`,
  `DELETE FROM ${table} WHERE queue_name = 'q' AND job_id = 'j'`,
  `DROP TABLE IF EXISTS ${table}`,
];

test("every key word category is checked against AsyncMQ's statements on this server: exactly the ones that break are refused", async () => {
  const db = await createDatabase();
  const words = await db.sql<{ word: string; catcode: string }[]>`select word, catcode from pg_get_keywords() order by word`;
  const accepted = (word: string, key: 'postgresJobsTableName' | 'postgresSchema') => {
    try {
      validateIdentifier(key, word);
      return true;
    } catch {
      return false;
    }
  };
  // The word as the table, and as the schema of a table.
  const uses = (word: string) => [
    asyncmqStatements(word).join('; '),
    `CREATE SCHEMA "${word}"; ${asyncmqStatements(`${word}.probe_jobs`).join('; ')}`,
  ];
  const session = await db.sql.reserve();
  // One simple query, which Postgres parses whole before it runs any of it; the ROLLBACK undoes
  // what a good one made. Resolves to the SQLSTATE of a failure.
  const attempt = (script: string) =>
    session.unsafe(`BEGIN; ${script}; ROLLBACK`).then(
      () => undefined,
      async (error: { code?: string }) => {
        await session.unsafe('ROLLBACK');
        return error.code;
      },
    );
  try {
    const usable: { word: string; catcode: string }[] = [];
    for (const { word, catcode } of words) {
      const refused = catcode === 'R' || catcode === 'T';
      // A word the server lists but the package does not know: keywords.ts needs regenerating.
      assert.equal(accepted(word, 'postgresJobsTableName'), !refused, `table name ${word} (${catcode})`);
      assert.equal(accepted(word, 'postgresSchema'), !refused, `schema name ${word} (${catcode})`);
      // Parsed only: the division by zero stops a script after parsing and before any DDL.
      if (refused) for (const use of uses(word)) assert.equal(await attempt(`SELECT 1/0; ${use}`), '42601', `${word} (${catcode}): ${use}`);
      else usable.push({ word, catcode });
    }
    // The others, all at once; one by one only to name a word that fails.
    const all = usable.flatMap(({ word }) => uses(word));
    if ((await attempt(`SELECT 1/0; ${all.join('; ')}`)) !== '22012') {
      for (const use of all) assert.equal(await attempt(`SELECT 1/0; ${use}`), '22012', use);
    }
    // Run, for the column-name words, which Postgres also reads as types and functions (int,
    // values, coalesce...); the unreserved ones all ran when keywords.ts was made.
    const columnNames = usable.filter((u) => u.catcode === 'C').flatMap(({ word }) => uses(word));
    for (let i = 0; i < columnNames.length; i += 20) {
      const batch = columnNames.slice(i, i + 20);
      if ((await attempt(batch.join('; '))) === undefined) continue;
      for (const use of batch) assert.equal(await attempt(use), undefined, `should work: ${use}`);
    }
  } finally {
    session.release();
  }
});
