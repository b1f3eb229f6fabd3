/**
 * What the command prints from the database cannot take over the operator's terminal: a name
 * holding a newline, ANSI escape sequences, a C1 control or a bidirectional override is printed
 * as escapes, on the line it belongs to, in status and in install's refusal. JSON keeps the
 * name as it is (JSON escapes it itself).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { installOrDropPostgresBackend } from '../src/index.js';
import { runCli } from './support/cli.js';
import { createDatabase } from './support/db.js';

const FORGED = 'x\n\x1b[32mOK: installed and in shape.\x1b[0m';
const SHOWN = 'x\\n\\x1b[32mOK: installed and in shape.\\x1b[0m';

test('a column name with a newline and escape sequences cannot forge a line of status or of install\'s refusal', async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  await installOrDropPostgresBackend({ connectionString: db.url, env: {} });
  const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;
  await db.sql.unsafe(`alter table asyncmq_jobs add column ${quoted(FORGED)} text, add column ${quoted('\u009b2J\u202eevil')} text`);

  const status = await runCli(['status'], env);
  assert.equal(status.code, 4, status.stdout);
  assert.ok(status.stdout.includes(`  column     ${SHOWN}`), status.stdout);
  assert.ok(status.stdout.includes('\\x9b2J\\u202eevil'), status.stdout);
  assert.doesNotMatch(status.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
  assert.doesNotMatch(status.stdout, /^OK: installed/m);
  assert.match(status.stdout, /\nOK, with 2 warning\(s\)/);
  const json = await runCli(['status', '--json'], env);
  assert.ok(JSON.parse(json.stdout).tables[0].items.some((i: { name: string }) => i.name === FORGED));

  // A breaking column under such a name: install's refusal lists it on one line.
  await db.sql.unsafe(`alter table asyncmq_jobs add column ${quoted(`y${FORGED}`)} text not null`);
  const install = await runCli(['install'], env);
  assert.equal(install.code, 3);
  assert.ok(install.stderr.includes(`  public.asyncmq_jobs: column y${SHOWN} extra, found text NOT NULL\n`), install.stderr);
  assert.doesNotMatch(install.stderr, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  assert.doesNotMatch(install.stderr, /^OK/m);
  const refused = await runCli(['status'], env);
  assert.equal(refused.code, 1);
  assert.doesNotMatch(refused.stdout, /^OK/m);
});

test("drop's report of the tables it kept shows another jobs table's name as escapes, on its own line", async () => {
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, settings: { postgresSchemaVersion: '0.9' } });
  // Another app's jobs table, named to forge a line: drop keeps the shared tables for it and names it.
  await db.sql.unsafe(`create table "${FORGED.replace(/"/g, '""')}" (like asyncmq_jobs)`);
  const drop = await runCli(['drop', '--yes', '--schema-version', '0.9'], env);
  assert.equal(drop.code, 0, drop.stderr);
  assert.match(drop.stdout, /^Kept, since another jobs table may use them: /m);
  assert.ok(drop.stdout.includes(SHOWN), drop.stdout);
  assert.doesNotMatch(drop.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  assert.doesNotMatch(drop.stdout, /^OK/m);
});
