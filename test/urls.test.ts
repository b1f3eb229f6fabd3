/**
 * URLs and secrets: a URL is refused when postgres.js would read it otherwise than a URL
 * parser does, messages say where the driver really connects and as whom, and redaction hides
 * the password where it can be written without eating short strings elsewhere.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { main } from '../src/cli.js';
import { resolveConnection } from '../src/connection/target.js';
import { redact } from '../src/errors.js';
import { AsyncmqPostgresError, inspectPostgresBackend, installOrDropPostgresBackend } from '../src/index.js';
import { adminSql, createDatabase, serverUrl, uniqueName, atEnd } from './support/db.js';
import { failure } from './support/failure.js';


const everything = (error: unknown) => inspect(error, { depth: 20, showHidden: true }) + JSON.stringify(error);

async function cli(args: string[], env: Record<string, string | undefined>) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env });
  return { code, stdout, stderr };
}

/** A port where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

test('a password postgres.js would read as hosts is refused before any lookup, the CLI exits 2', async () => {
  // postgres.js splits at the first @ and reads the commas after it as hosts: Secret and Tail9@host.
  const url = 'postgres://u:Xy@Secret,Tail9@127.0.0.1:1/db';
  const error = await failure(installOrDropPostgresBackend({ connectionString: url, env: {} }));
  assert.equal(error.code, 'ASYNCMQ_INVALID_URL');
  assert.equal(error.setting, 'asyncmqPostgresBackendUrl');
  assert.match(error.message, /postgres\.js would read its user, password or hosts differently .*percent-encode/);
  assert.doesNotMatch(everything(error), /Secret|Tail9|Xy/);
  const run = await cli(['status'], { ASYNCMQ_POSTGRES_BACKEND_URL: url });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /\[ASYNCMQ_INVALID_URL\]\n$/);
  assert.doesNotMatch(run.stderr, /Secret|Tail9/);
});

test('% and # in a password: ASYNCMQ_INVALID_URL with the advice to percent-encode, never a URIError or a piece as a port', async () => {
  for (const url of ['postgres://app:100%pure@127.0.0.1:1/db', 'postgres://app:12#3x4q@127.0.0.1:1/db', 'postgres://app:%E0%A4%A@127.0.0.1:1/db']) {
    const error = await failure(installOrDropPostgresBackend({ connectionString: url, env: {} }));
    assert.equal(error.code, 'ASYNCMQ_INVALID_URL', url);
    assert.match(error.message, url.includes('#') ? /it has a #.*# as %23/ : /a % that does not start a percent-escape.*% as %25/);
    assert.doesNotMatch(everything(error), /pure|:12\b|3x4q|%A@|URIError/);
    const inspected = await failure(inspectPostgresBackend({ connectionString: url, env: {} }));
    assert.equal(inspected.code, 'ASYNCMQ_INVALID_URL');
    const run = await cli(['install'], { ASYNCMQ_POSTGRES_BACKEND_URL: url });
    assert.equal(run.code, 2, url);
    assert.match(run.stderr, /\[ASYNCMQ_INVALID_URL\]\n$/);
    assert.doesNotMatch(run.stderr, /pure|could not connect|app:12/);
  }
});

test('other URLs postgres.js cannot read are refused, and percent-encoded ones are read right', async () => {
  for (const url of ['postgres://u:p@[::1]:5432/db', 'postgres://u:p@h1,,h2/db', 'postgres://u:p@h1:5432,h2:99999/db', 'postgres://u:p@h%zz/db']) {
    await assert.rejects(resolveConnection(url, {}, 'the call'), (e: unknown) => e instanceof AsyncmqPostgresError && e.code === 'ASYNCMQ_INVALID_URL', url);
  }
  const encoded = await resolveConnection('postgres://app:Xy%40Secret%2CTail9%23100%25@db.example.com:6432/app', {}, 'the call');
  assert.equal(encoded.target, 'db.example.com:6432/app');
  assert.equal(encoded.user, 'app');
  assert.ok(encoded.secrets.passwords.includes('Xy@Secret,Tail9#100%'));
  // A Unix socket directory goes in the pool options, where both postgres.js lines read it alike.
  assert.equal((await resolveConnection('postgres:///app', { host: '/tmp/pg' }, 'the call')).target, '/tmp/pg/.s.PGSQL.5432 (database app)');
});

test('URLs that postgres.js 3 and 4 read differently are refused whichever is installed', async () => {
  const cases: [string, RegExp][] = [
    // 3 splits at the first @ and would look up "Tail9@127.0.0.1" (4 splits at the last).
    ['postgres://u:Xy@Tail9@127.0.0.1:1/db', /postgres\.js would read its user, password or hosts differently/],
    // 3 gives h2 the first host's port, 4 the default.
    ['postgres://u:p@h1:5433,h2/db', /gives a port to some hosts only.*give every host its port/],
    // 4 connects to the query's host or port, 3 ignores them.
    ['postgres://u:p@h1/db?host=h2', /sets host or port in its query string/],
    ['postgres://u:p@h1/db?sslmode=disable&port=5433', /sets host or port in its query string/],
    // 3 decodes a host list before splitting it, and a single host not at all; 4 decodes each host.
    ['postgres://u:p@h1%2Ch2/db', /host name has a percent-escape/],
    ['postgres://u@%2Ftmp/db', /host name has a percent-escape/],
    // 4 decodes the database name, 3 does not.
    ['postgres://u:p@h1/my%20db', /database name has a percent-escape/],
  ];
  for (const [url, why] of cases) {
    const error = await failure(resolveConnection(url, {}, 'the call'));
    assert.equal(error.code, 'ASYNCMQ_INVALID_URL', url);
    assert.match(error.message, why, url);
    assert.doesNotMatch(everything(error), /Tail9|Xy/);
  }
});

test('a multi-host URL postgres.js supports keeps working, and the message names every host', async () => {
  assert.equal((await resolveConnection('postgres://u:p@h1:5432,h2:5433/db', {}, 'the call')).target, 'h1:5432,h2:5433/db');
  assert.equal((await resolveConnection('postgres://u:p@h1,h2/db', {}, 'the call')).target, 'h1:5432,h2:5432/db');
  const db = await createDatabase();
  const server = new URL(db.url);
  const twice = db.url.replace(`@${server.host}`, `@${server.host},${server.host}`);
  assert.notEqual(twice, db.url);
  assert.equal((await installOrDropPostgresBackend({ connectionString: twice, env: {} })).created.length, 6);
  assert.equal((await inspectPostgresBackend({ connectionString: twice, env: {} })).ok, true);
});

test('the target is where postgres.js connects: pool options over the URL, then PGHOST/PGPORT/PGDATABASE/PGUSER', async () => {
  const port = await closedPort();
  const viaOptions = await failure(
    installOrDropPostgresBackend({ connectionString: 'postgres://u:pw@db.invalid:5432/app', env: {}, pool: { host: '127.0.0.1', port, user: 'opt_user' } }),
  );
  assert.equal(viaOptions.code, 'ASYNCMQ_CONNECTION_FAILED');
  assert.match(viaOptions.message, new RegExp(`^could not connect to 127\\.0\\.0\\.1:${port}/app as user opt_user \\(ECONNREFUSED`));

  const saved = { PGHOST: process.env.PGHOST, PGPORT: process.env.PGPORT, PGDATABASE: process.env.PGDATABASE, PGUSER: process.env.PGUSER };
  Object.assign(process.env, { PGHOST: '127.0.0.1', PGPORT: String(port), PGDATABASE: 'env_db', PGUSER: 'env_user' });
  try {
    const viaEnv = await failure(installOrDropPostgresBackend({ connectionString: 'postgres://', env: {} }));
    assert.match(viaEnv.message, new RegExp(`^could not connect to 127\\.0\\.0\\.1:${port}/env_db as user env_user \\(`));
    // The URL's own parts come before the environment's.
    assert.equal((await resolveConnection(`postgres://url_user@localhost:${port}/url_db`, {}, 'the call')).target, `localhost:${port}/url_db`);
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});

test('a short password or one equal to a name is hidden where it is written, not wherever the string occurs', async () => {
  const port = await closedPort();
  const cases = [
    { user: 'app', password: '1' },
    { user: 'app', password: 'app' },
    { user: 'postgres', password: 'postgres' },
  ];
  for (const { user, password } of cases) {
    const url = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
    const error = await failure(installOrDropPostgresBackend({ connectionString: url, env: {} }));
    assert.equal(error.code, 'ASYNCMQ_CONNECTION_FAILED');
    assert.match(error.message, new RegExp(`^could not connect to 127\\.0\\.0\\.1:${port}/postgres as user ${user} \\(ECONNREFUSED: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)$`));
    assert.doesNotMatch(everything(error), /\*\*\*/);
  }
  // The driver's or server's text, where it would show the password.
  const secrets = (await resolveConnection('postgres://app:1@127.0.0.1:5432/app', {}, 'the call')).secrets;
  assert.equal(redact('connect ECONNREFUSED 127.0.0.1:5432 for role "app"', secrets), 'connect ECONNREFUSED 127.0.0.1:5432 for role "app"');
  assert.equal(redact('Invalid URL postgres://app:1@127.0.0.1:5432/app', secrets), 'Invalid URL <the database URL>');
  assert.equal(redact('at postgres://app:1@elsewhere/x', secrets), 'at postgres://app:***@elsewhere/x');
  assert.equal(redact('host=h password=1 user=app', secrets), 'host=h password=*** user=app');
  assert.equal(redact('{"user":"app","password":"1"}', secrets), '{"user":"app","password":***}');
  assert.equal(redact("the value '1' is not allowed", secrets), "the value '***' is not allowed");
  const same = (await resolveConnection('postgres://postgres:postgres@127.0.0.1:5432/postgres', {}, 'the call')).secrets;
  assert.equal(redact('password authentication failed for user "postgres"', same), 'password authentication failed for user "postgres"');
  const long = (await resolveConnection('postgres://app:s3cr%40t@127.0.0.1:5432/app', {}, 'the call')).secrets;
  assert.equal(redact('quoted "s3cr@t" and \'s3cr%40t\'; app:s3cr@t@host', long), 'quoted "***" and \'***\'; app:***@host');
});

test('a role named like its password is still named when the server refuses it', async (t) => {
  const name = uniqueName('amq_same');
  await adminSql().unsafe(`create role ${name} login password '${name}'`);
  atEnd(() => adminSql().unsafe(`drop role if exists ${name}`).then(() => {}));
  const url = new URL(serverUrl);
  url.username = name;
  url.password = name;
  url.pathname = `/${uniqueName('amq_missing')}`;
  // A database that does not exist: the server's message quotes it, and names the role on some setups.
  const error = await failure(installOrDropPostgresBackend({ connectionString: url.toString(), env: {} }));
  if (error.code === 'ASYNCMQ_AUTHENTICATION_FAILED') return t.skip('this server refuses the role before the database is checked');
  assert.equal(error.code, 'ASYNCMQ_CONNECTION_FAILED');
  assert.match(error.message, new RegExp(`as user ${name}\\b`));
  assert.match(error.message, /does not exist/);
});

test('the CLI without a URL speaks of the variable and --url, not of API options', async () => {
  for (const args of [['install'], ['status'], ['drop', '--yes']]) {
    const run = await cli(args, {});
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^asyncmq-postgres: no database URL: set ASYNCMQ_POSTGRES_BACKEND_URL \(or pass --url.*\) \[ASYNCMQ_NO_URL\]\n$/);
    assert.doesNotMatch(run.stderr, /connectionString|settings/);
  }
  // A bad name is still reported first, as the library does.
  const named = await cli(['install', '--jobs-table', 'Bad'], {});
  assert.match(named.stderr, /\[ASYNCMQ_INVALID_NAME\]/);
});
