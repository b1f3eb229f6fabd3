/**
 * Settings, names and pool options: everything that is refused before a connection is made.
 * No database is involved here, by design: these errors must come before any connection.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { AsyncmqPostgresError, createAsyncmqSchema, installOrDropPostgresBackend, renderPostgresBackendSql } from '../src/index.js';
import { normalizePoolOptions, resolveConnection } from '../src/connection/target.js';
import { lockKey } from '../src/operations/locking.js';
import { resolveSettings } from '../src/config/settings.js';
import { main } from '../src/cli.js';

const refused = (code: string, pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof AsyncmqPostgresError, `expected AsyncmqPostgresError, got ${String(error)}`);
  assert.equal(error.code, code);
  assert.match(error.message, pattern);
  return true;
};

test('no URL anywhere: rejects before connecting, naming connectionString and the variable', async () => {
  await assert.rejects(installOrDropPostgresBackend({ env: {} }), refused('ASYNCMQ_NO_URL', /connectionString.*ASYNCMQ_POSTGRES_BACKEND_URL/));
  await assert.rejects(installOrDropPostgresBackend({ env: {}, drop: true }), refused('ASYNCMQ_NO_URL', /connectionString/));
});

test('precedence: settings over environment over defaults, key by key', () => {
  const env = { ASYNCMQ_POSTGRES_JOBS_TABLE_NAME: 'env_jobs', ASYNCMQ_POSTGRES_SCHEMA: 'env_ns', ASYNCMQ_POSTGRES_LOCK_TIMEOUT: '250' };
  const settings = resolveSettings({ postgresJobsTableName: 'call_jobs', postgresSchema: undefined }, env);
  assert.equal(settings.postgresJobsTableName, 'call_jobs');
  assert.equal(settings.postgresSchema, 'env_ns');
  assert.equal(settings.postgresLockTimeout, 250);
  const [create] = renderPostgresBackendSql({ settings: { postgresRepeatablesTableName: 'r' }, env });
  assert.equal(create, 'CREATE SCHEMA "env_ns"');
});

test('the factory falls back to the seed defaults, never to the environment', () => {
  process.env.ASYNCMQ_POSTGRES_JOBS_TABLE_NAME = 'from_env';
  try {
    const { jobs, repeatables, cancelledJobs } = createAsyncmqSchema({ postgresRepeatablesTableName: 'my_repeatables' });
    assert.equal(getTableConfig(jobs).name, 'asyncmq_jobs');
    assert.equal(getTableConfig(repeatables).name, 'my_repeatables');
    assert.equal(getTableConfig(cancelledJobs).name, 'asyncmq_cancelled_jobs');
  } finally {
    delete process.env.ASYNCMQ_POSTGRES_JOBS_TABLE_NAME;
  }
});

test('index names follow the jobs table; constraint names follow each table', () => {
  const { jobs, cancelledJobs } = createAsyncmqSchema({ postgresJobsTableName: 'q_jobs', postgresCancelledJobsTableName: 'q_cancel' });
  const config = getTableConfig(jobs);
  assert.deepEqual(config.indexes.map((i) => i.config.name), ['idx_q_jobs_queue_name', 'idx_q_jobs_status', 'idx_q_jobs_delay_until']);
  assert.deepEqual(config.uniqueConstraints.map((u) => u.getName()), ['q_jobs_job_id_key']);
  assert.deepEqual(getTableConfig(cancelledJobs).primaryKeys.map((p) => p.getName()), ['q_cancel_pkey']);
});

test('names AsyncMQ would misread are refused, naming the setting and its variable', () => {
  for (const bad of ['MyJobs', 'jobs; drop table users', 'jobs"x', 'has space', '1jobs', '', 'jöbs', 'select']) {
    assert.throws(() => createAsyncmqSchema({ postgresJobsTableName: bad }), refused('ASYNCMQ_INVALID_NAME', /^postgresJobsTableName \(ASYNCMQ_POSTGRES_JOBS_TABLE_NAME\)/));
  }
  assert.throws(() => createAsyncmqSchema({ postgresSchema: 'Queue' }), refused('ASYNCMQ_INVALID_NAME', /postgresSchema \(ASYNCMQ_POSTGRES_SCHEMA\)/));
  assert.throws(() => createAsyncmqSchema({ postgresSchema: 'pg_jobs' }), refused('ASYNCMQ_INVALID_NAME', /reserved/));
  assert.throws(
    () => createAsyncmqSchema({ postgresRepeatablesTableName: 'same', postgresCancelledJobsTableName: 'same' }),
    refused('ASYNCMQ_INVALID_NAME', /both name the table same/),
  );
  assert.throws(() => createAsyncmqSchema({ postgresIndexes: 'fast' as never }), refused('ASYNCMQ_INVALID_SETTING', /seed, queue/));
});

test('a jobs table name is refused when a derived name would exceed 63 bytes, giving the longest that fits', () => {
  // idx_<jobs>_delay_until is the longest derived name: 16 bytes more than the table name.
  const fits = 'j'.repeat(47);
  assert.doesNotThrow(() => createAsyncmqSchema({ postgresJobsTableName: fits }));
  assert.throws(
    () => createAsyncmqSchema({ postgresJobsTableName: `${fits}j` }),
    refused('ASYNCMQ_INVALID_NAME', /idx_j{48}_delay_until .*at most 47 bytes/),
  );
  assert.throws(() => createAsyncmqSchema({ postgresJobsTableName: 'j'.repeat(64) }), refused('ASYNCMQ_INVALID_NAME', /64 bytes/));
  // The cancelled-jobs table derives only <name>_pkey.
  assert.doesNotThrow(() => createAsyncmqSchema({ postgresCancelledJobsTableName: 'c'.repeat(58) }));
  assert.throws(() => createAsyncmqSchema({ postgresCancelledJobsTableName: 'c'.repeat(59) }), refused('ASYNCMQ_INVALID_NAME', /at most 58 bytes/));
});

test('a derived name that collides with another table is refused', () => {
  assert.throws(
    () => createAsyncmqSchema({ postgresJobsTableName: 'q', postgresRepeatablesTableName: 'idx_q_status' }),
    refused('ASYNCMQ_INVALID_NAME', /idx_q_status/),
  );
});

test('pool options: asyncpg names map to postgres.js, unknown and malformed ones are refused', async () => {
  assert.deepEqual(normalizePoolOptions({ min_size: 1, max_size: 5, timeout: 3, prepare: false }, 'the call'), { max: 5, connect_timeout: 3, prepare: false });
  assert.throws(() => normalizePoolOptions({ max_sise: 5 }, 'the call'), refused('ASYNCMQ_INVALID_POOL_OPTIONS', /"max_sise" is not known/));
  assert.throws(() => normalizePoolOptions({ max: 5, max_size: 5 }, 'the call'), refused('ASYNCMQ_INVALID_POOL_OPTIONS', /"max" and "max_size" both set the pool size; give one/));
  assert.throws(() => normalizePoolOptions({ max: '5' }, 'the call'), refused('ASYNCMQ_INVALID_POOL_OPTIONS', /"max" sets the pool size: expected a whole number of connections from 1 to 262143, got "5"/));
  const url = 'postgres://u:p@127.0.0.1:1/db';
  // @ts-expect-error: not a pool option
  await assert.rejects(installOrDropPostgresBackend({ connectionString: url, env: {}, pool: { max_sise: 5 } }), refused('ASYNCMQ_INVALID_POOL_OPTIONS', /max_sise.*from the call/));
  for (const raw of ['{"max": ', '[1]', '"x"', 'null']) {
    await assert.rejects(
      installOrDropPostgresBackend({ connectionString: url, env: { ASYNCMQ_POSTGRES_POOL_OPTIONS: raw } }),
      refused('ASYNCMQ_INVALID_POOL_OPTIONS', /ASYNCMQ_POSTGRES_POOL_OPTIONS .*JSON object/),
    );
  }
  await assert.rejects(
    installOrDropPostgresBackend({ connectionString: url, env: { ASYNCMQ_POSTGRES_POOL_OPTIONS: '{"bogus": 1}' } }),
    refused('ASYNCMQ_INVALID_POOL_OPTIONS', /"bogus".*ASYNCMQ_POSTGRES_POOL_OPTIONS/),
  );
});

test('a malformed URL is refused without showing its password anywhere', async () => {
  for (const url of ['postgres://user:s3cr3t-pw@host:notaport/db', 'mysql://user:s3cr3t-pw@host/db', 'postgres://user:s3cr3t-pw@[bad/db', 'postgres://user:s3cr3t@-pw@host:x/db']) {
    const error = await installOrDropPostgresBackend({ connectionString: url, env: {} }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AsyncmqPostgresError);
    assert.equal(error.code, 'ASYNCMQ_INVALID_URL');
    const { inspect } = await import('node:util');
    const everything = inspect(error, { depth: 10, showHidden: true }) + JSON.stringify(error) + String(error.stack);
    assert.doesNotMatch(everything, /s3cr3t|-pw/);
    assert.match(error.message, /the URL is not shown/);
  }
});

test('a keyword/value connection string is refused without repeating any of it', async () => {
  const error = await installOrDropPostgresBackend({ connectionString: 'host=db user=app password=Sup3rSecret dbname=app', env: {} }).then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AsyncmqPostgresError);
  assert.equal(error.code, 'ASYNCMQ_INVALID_URL');
  const { inspect } = await import('node:util');
  assert.doesNotMatch(inspect(error, { depth: 10, showHidden: true }), /Sup3rSecret/);
  const query = await installOrDropPostgresBackend({ connectionString: 'postgres://u@h:port/db?password=Qw3rty', env: {} }).then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.doesNotMatch(inspect(query, { depth: 10, showHidden: true }), /Qw3rty/);
});

test('a password with an unescaped @ or / is refused, and no piece of it shows', async () => {
  const { inspect } = await import('node:util');
  for (const url of ['postgres://postgres:se@cr/et@127.0.0.1:1/postgres', 'postgres://postgres:5432/pw@127.0.0.1:1/db']) {
    const error = await installOrDropPostgresBackend({ connectionString: url, env: {} }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AsyncmqPostgresError);
    assert.equal(error.code, 'ASYNCMQ_INVALID_URL');
    assert.match(error.message, /percent-encode/);
    assert.doesNotMatch(inspect(error, { depth: 10, showHidden: true }), /se@|cr\/et|\/pw|et@/);
  }
});

test('malformed pool-options JSON is refused without quoting it', async () => {
  const error = await installOrDropPostgresBackend({
    connectionString: 'postgres://u@127.0.0.1:1/db',
    env: { ASYNCMQ_POSTGRES_POOL_OPTIONS: '{"password": hunter2secret}' },
  }).then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AsyncmqPostgresError);
  assert.equal(error.code, 'ASYNCMQ_INVALID_POOL_OPTIONS');
  assert.doesNotMatch(JSON.stringify({ message: error.message, stack: error.stack }), /hunter2/);
});

test('pool options that would change how the package reads its own queries are refused', () => {
  for (const name of ['transform', 'types']) {
    assert.throws(() => normalizePoolOptions({ [name]: {} }, 'the call'), refused('ASYNCMQ_INVALID_POOL_OPTIONS', new RegExp(`"${name}" is not accepted`)));
  }
});

test('the connect timeout is 10 s unless given', async () => {
  assert.equal((await resolveConnection('postgres://u@h/db', {}, 'the call')).options.connect_timeout, 10);
  assert.equal((await resolveConnection('postgres://u@h/db', { timeout: 3 }, 'the call')).options.connect_timeout, 3);
});

test('importing the schema entry reads only the naming variables', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/schema.ts').then((m) => console.log(Object.keys(m).length))"], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, ASYNCMQ_POSTGRES_POOL_OPTIONS: '{not json', ASYNCMQ_POSTGRES_LOCK_TIMEOUT: 'soon' },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
});

test('bad settings values are refused with the setting named', async () => {
  await assert.rejects(
    installOrDropPostgresBackend({ connectionString: 'postgres://x@127.0.0.1:1/db', env: { ASYNCMQ_POSTGRES_LOCK_TIMEOUT: 'soon' } }),
    refused('ASYNCMQ_INVALID_SETTING', /postgresLockTimeout \(ASYNCMQ_POSTGRES_LOCK_TIMEOUT\)/),
  );
  await assert.rejects(
    installOrDropPostgresBackend({ connectionString: 'postgres://x@127.0.0.1:1/db', env: { ASYNCMQ_POSTGRES_JOBS_TABLE_NAME: 'Jobs' } }),
    refused('ASYNCMQ_INVALID_NAME', /ASYNCMQ_POSTGRES_JOBS_TABLE_NAME/),
  );
});

test('the install lock key of a namespace is fixed, so two versions in a rolling deploy serialize', () => {
  // Changing these values would let an old and a new version install at the same time.
  assert.equal(lockKey('public'), '7416167380895331789');
  assert.equal(lockKey('tenant_one'), '2042810053343603324');
  assert.notEqual(lockKey('public', 'index-build'), lockKey('public'));
});

test('pool options get the range postgres.js can use, and a coded error otherwise', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    // [...Array(0)] opens no connection, and every query would wait forever; 1.5 throws at run time.
    [{ max: 0 }, /"max" sets the pool size: expected a whole number of connections from 1 to 262143, got 0 /],
    [{ max: 1e9 }, /got 1000000000/],
    [{ max: 1.5 }, /got 1\.5/],
    [{ max_size: -1 }, /"max_size" sets the pool size/],
    [{ max: null }, /got null/],
    [{ max_size: 2, max: 3 }, /^pool options "max_size" and "max" both set the pool size; give one/],
    [{ host: 'a', hostname: 'b' }, /"host" and "hostname" both set the host/],
    [{ password: 'x', pass: 'y' }, /both set the password/],
    [{ timeout: 3, connect_timeout: 4 }, /both set the connect timeout/],
    // No deadline at all for a connection attempt, or a timer Node fires at once.
    [{ connect_timeout: 0 }, /"connect_timeout" sets the connect timeout: expected a number of seconds, more than 0/],
    [{ timeout: 3e6 }, /got 3000000/],
    [{ idle_timeout: -1 }, /"idle_timeout"/],
    [{ max_lifetime: 'soon' }, /"max_lifetime".*got "soon"/],
    [{ backoff: 'x' }, /"backoff" sets the reconnect delay/],
    [{ keep_alive: true }, /"keep_alive"/],
    [{ max_pipeline: 1.5 }, /"max_pipeline"/],
    [{ port: 70000 }, /"port" sets the port: expected a port number from 1 to 65535, got 70000/],
    // Truthy: postgres.js would turn TLS on.
    [{ ssl: 'disable' }, /"ssl" sets TLS/],
    [{ target_session_attrs: 'any' }, /"target_session_attrs"/],
    [{ connection: 'x' }, /"connection" sets the connection parameters: expected an object of string, number or boolean values/],
    [{ connection: { search_path: ['a'] } }, /"connection"/],
    [{ prepare: 'no' }, /"prepare"/],
  ];
  for (const [options, pattern] of bad) {
    assert.throws(() => normalizePoolOptions(options, 'ASYNCMQ_POSTGRES_POOL_OPTIONS'), refused('ASYNCMQ_INVALID_POOL_OPTIONS', pattern), JSON.stringify(options));
  }
  // A password of the wrong type is refused without being echoed.
  assert.throws(() => normalizePoolOptions({ password: 123456789 }, 'the call'), (e: unknown) => {
    assert.ok(e instanceof AsyncmqPostgresError);
    assert.match(e.message, /"password" sets the password: expected a string, or a function that returns one, got a number/);
    assert.doesNotMatch(e.message, /123456789/);
    return true;
  });
  const good = {
    max: 1,
    idle_timeout: null,
    max_lifetime: 0,
    keep_alive: null,
    connect_timeout: 0.5,
    backoff: () => 0,
    max_pipeline: 0,
    port: '5433',
    ssl: 'require',
    target_session_attrs: 'primary',
    connection: { search_path: 'queue', statement_timeout: 0, jit: false },
    prepare: false,
  };
  assert.deepEqual(normalizePoolOptions(good, 'the call'), good);
});

test('bad pool options are refused before any connection, and the CLI exits 2', async () => {
  // Port 1: nothing listens there, so a connection attempt would fail differently.
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: 'postgres://x@127.0.0.1:1/db' };
  for (const options of ['{"max":0}', '{"max":1.5}', '{"connection":"x"}', '{"max_size":2,"max":3}']) {
    await assert.rejects(
      installOrDropPostgresBackend({ env: { ...env, ASYNCMQ_POSTGRES_POOL_OPTIONS: options } }),
      refused('ASYNCMQ_INVALID_POOL_OPTIONS', /\(from ASYNCMQ_POSTGRES_POOL_OPTIONS\)$/),
    );
    for (const command of ['install', 'status']) {
      let stderr = '';
      const code = await main([command], { stdout: () => {}, stderr: (t) => void (stderr += t), env: { ...env, ASYNCMQ_POSTGRES_POOL_OPTIONS: options } });
      assert.equal(code, 2, `${command} ${options}`);
      assert.match(stderr, /^asyncmq-postgres: pool options? .*\[ASYNCMQ_INVALID_POOL_OPTIONS\]\n$/);
    }
  }
});

test('lock timeouts: one reader for the option, the variable and the flag, in Postgres range, the value echoed', async () => {
  const url = 'postgres://x@127.0.0.1:1/db';
  // Each is refused before any connection: nothing listens on port 1.
  for (const raw of ['99999999999', '2147483648', 'abc', '0x10', '1e3', ' 10', '10 ', '-1', '1.5', '']) {
    const env = { ASYNCMQ_POSTGRES_LOCK_TIMEOUT: raw };
    if (raw === '') {
      // An empty variable counts as unset.
      assert.equal(resolveSettings({}, env).postgresLockTimeout, undefined);
      continue;
    }
    await assert.rejects(
      installOrDropPostgresBackend({ connectionString: url, env }),
      refused('ASYNCMQ_INVALID_SETTING', new RegExp(`^postgresLockTimeout \\(ASYNCMQ_POSTGRES_LOCK_TIMEOUT\\) must be a whole number of milliseconds from 0 \\(no limit\\) to 2147483647.*got ${JSON.stringify(raw).replace(/[.+]/g, '\\$&')}$`)),
      raw,
    );
    let stderr = '';
    const code = await main(['status', `--lock-timeout=${raw}`], { stdout: () => {}, stderr: (t) => void (stderr += t), env: { ASYNCMQ_POSTGRES_BACKEND_URL: url } });
    assert.equal(code, 2, raw);
    assert.match(stderr, new RegExp(`--lock-timeout must be a whole number .*got ${JSON.stringify(raw).replace(/[.+]/g, '\\$&')} \\[ASYNCMQ_INVALID_SETTING\\]`));
  }
  for (const value of [99999999999, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(
      installOrDropPostgresBackend({ connectionString: url, env: {}, settings: { postgresLockTimeout: value } }),
      refused('ASYNCMQ_INVALID_SETTING', new RegExp(`got ${String(value)}$`)),
    );
  }
  assert.equal(resolveSettings({}, { ASYNCMQ_POSTGRES_LOCK_TIMEOUT: '2147483647' }).postgresLockTimeout, 2147483647);
  assert.equal(resolveSettings({}, { ASYNCMQ_POSTGRES_LOCK_TIMEOUT: '0' }).postgresLockTimeout, 0);
  const sql = renderPostgresBackendSql({ env: { ASYNCMQ_POSTGRES_LOCK_TIMEOUT: '2147483647' } });
  assert.ok(sql.length > 0);
});

test('a refused setting is named as it was given: settings.<key> from the call, the variable from the environment', async () => {
  const url = 'postgres://x@127.0.0.1:1/db';
  await assert.rejects(
    installOrDropPostgresBackend({ connectionString: url, env: {}, settings: { postgresSchemaVersion: '0.9.99' } }),
    refused('ASYNCMQ_INVALID_SETTING', /^settings\.postgresSchemaVersion is "0\.9\.99", which is not an AsyncMQ release/),
  );
  await assert.rejects(
    installOrDropPostgresBackend({ connectionString: url, env: {}, settings: { postgresJobsTableName: 'Jobs' } }),
    refused('ASYNCMQ_INVALID_NAME', /^settings\.postgresJobsTableName is "Jobs"/),
  );
  // Derived names: the setting whose name is too long for what derives from it.
  await assert.rejects(
    installOrDropPostgresBackend({ connectionString: url, env: { ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.8' }, settings: { postgresJobsTableName: 'j'.repeat(45) } }),
    refused('ASYNCMQ_INVALID_NAME', /^settings\.postgresJobsTableName is 45 bytes long/),
  );
  await assert.rejects(
    installOrDropPostgresBackend({ connectionString: url, env: { ASYNCMQ_POSTGRES_SCHEMA_VERSION: 'v0.9' } }),
    refused('ASYNCMQ_INVALID_SETTING', /^postgresSchemaVersion \(ASYNCMQ_POSTGRES_SCHEMA_VERSION\) is "v0\.9", which is written without the v/),
  );
  // The factory takes its options in code and names both, as before.
  assert.throws(() => createAsyncmqSchema({ postgresSchemaVersion: '0.10.1' }), refused('ASYNCMQ_INVALID_SETTING', /^postgresSchemaVersion \(ASYNCMQ_POSTGRES_SCHEMA_VERSION\) is "0\.10\.1", which is newer/));
});
