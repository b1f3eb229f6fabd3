/**
 * The upgrade for an app whose drizzle-kit migrations own AsyncMQ's tables, with the real
 * drizzle-kit of the line under test (this checkout's 0.31; 1.0 in the lane of .ci/run), for
 * each version to the next and across all of them: the app changes its schema's version and runs
 * `drizzle-kit generate`, puts `asyncmq-postgres sql --upgrade --drizzle-kit` in place of the
 * generated SQL, and then, on a database whose queue has rows:
 * - a change that only adds a table migrates as is;
 * - a change of the jobs table's key is refused by the migration, changing nothing, until the
 *   package's online upgrade (the command the refusal names, run as printed) has moved the
 *   tables; the migration then changes nothing and is recorded;
 * - the tables end exactly as the installer makes that version, every row kept, the startup
 *   check passes, and a second `generate` writes nothing.
 * A new database built from the same migrations gets the same tables (the change made in the
 * migration, on an empty table).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAsyncmqSchema, installOrDropPostgresBackend } from '../../src/index.js';
import type { SchemaVersion } from '../../src/config/versions.js';
import { drizzleModules, installBuilt, kit, kitOk, kitVersion, root } from '../support/apps.js';
import { createDatabase, type TestDatabase } from '../support/db.js';
import { snapshot } from '../support/snapshot.js';
import { testTmp } from '../support/tmp.js';

let work: string;
let pkg: string;

before(async () => {
  work = await testTmp('asyncmq-kit-upgrade-');
  pkg = join(work, 'package');
  await installBuilt(work, pkg);
  // The package's own imports resolve from where it lies (the apps link it): drizzle-orm of the
  // line under test, and postgres.js for the CLI, one level up.
  await mkdir(join(work, 'node_modules'));
  await symlink(join(drizzleModules, 'drizzle-orm'), join(work, 'node_modules/drizzle-orm'));
  await symlink(join(root, 'node_modules/postgres'), join(work, 'node_modules/postgres'));
});

after(() => rm(work, { recursive: true, force: true }));

const names = (version: SchemaVersion) => ({ postgresSchema: 'asyncmq', postgresSchemaVersion: version, postgresIndexes: 'queue' }) as const;

/** An app as examples/drizzle-kit-owns has it: its own table and AsyncMQ's, at `version`. */
async function app(id: string): Promise<{ dir: string; setVersion(version: SchemaVersion): Promise<void> }> {
  const dir = join(work, id);
  await mkdir(join(dir, 'node_modules'), { recursive: true });
  await symlink(pkg, join(dir, 'node_modules/asyncmq-postgres'));
  for (const dep of ['drizzle-orm', 'drizzle-kit']) await symlink(join(drizzleModules, dep), join(dir, 'node_modules', dep));
  await symlink(join(root, 'node_modules/postgres'), join(dir, 'node_modules/postgres'));
  await writeFile(join(dir, 'package.json'), '{"type":"module"}');
  await writeFile(
    join(dir, 'drizzle.config.ts'),
    `import { defineConfig } from 'drizzle-kit';
     export default defineConfig({ dialect: 'postgresql', schema: './schema.ts', out: './drizzle', dbCredentials: { url: process.env.DATABASE_URL ?? '' }, schemaFilter: ['public', 'asyncmq'] });`,
  );
  return {
    dir,
    setVersion: (version) =>
      writeFile(
        join(dir, 'schema.ts'),
        `import { createAsyncmqSchema } from 'asyncmq-postgres/schema';
         import { pgTable, serial, text } from 'drizzle-orm/pg-core';
         export const asyncmq = createAsyncmqSchema(${JSON.stringify(names(version))});
         export const { pgSchema: asyncmqNamespace, jobs: asyncmqJobs, repeatables: asyncmqRepeatables, cancelledJobs: asyncmqCancelledJobs,
           workersHeartbeat: asyncmqWorkersHeartbeat, pausedQueues: asyncmqPausedQueues } = asyncmq;
         export const users = pgTable('users', { id: serial('id').primaryKey(), email: text('email').notNull() });`,
      ),
  };
}

async function sqlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(dir, 'drizzle'), { recursive: true }).catch(() => [] as string[]);
  return entries.filter((f) => f.endsWith('.sql')).sort();
}

/** The package's CLI as `npx --no-install asyncmq-postgres ...` runs it: the packed bin (each app links the package). */
function cli(dir: string, args: string[], url?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(url ? { ASYNCMQ_POSTGRES_BACKEND_URL: url } : {}) };
  for (const key of Object.keys(env)) if (key.startsWith('ASYNCMQ_') && key !== 'ASYNCMQ_POSTGRES_BACKEND_URL') delete env[key];
  const run = spawnSync(process.execPath, [join(pkg, 'dist/bin.js'), ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

async function state(db: TestDatabase) {
  const rows = await db.sql`select queue_name, job_id, data, status from asyncmq.asyncmq_jobs order by id`;
  const cancelled = await db.sql`select queue_name, job_id from asyncmq.asyncmq_cancelled_jobs order by 1, 2`;
  return { asyncmq: await snapshot(db.sql, 'asyncmq'), public: await snapshot(db.sql, 'public'), rows: [...rows], cancelled: [...cancelled] };
}

/** What the installer makes for `version`: the tables the migrations must end with. */
async function reference(version: SchemaVersion) {
  const db = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: db.url, env: {}, schema: createAsyncmqSchema(names(version)) });
  return snapshot(db.sql, 'asyncmq');
}

const CASES: [SchemaVersion, SchemaVersion][] = [
  ['0.1', '0.2'],
  ['0.2', '0.8'],
  ['0.8', '0.9'],
  ['0.1', '0.9'],
];

describe(`drizzle-kit ${kitVersion} owns the tables: the upgrade from one AsyncMQ schema version to another`, { concurrency: 2 }, () => {
  for (const [from, to] of CASES) {
    test(`${from} to ${to}: generate, the package's SQL in place of drizzle-kit's, the online upgrade where the key changes, migrate`, async () => {
      const { dir, setVersion } = await app(`app-${from}-${to}`);
      const live = await createDatabase();
      await setVersion(from);
      await kitOk(dir, ['generate', '--name', `asyncmq_${from.replace('.', '_')}`], live.url);
      await kitOk(dir, ['migrate'], live.url);
      // A queue in use: AsyncMQ's rows, and the app's.
      await live.sql.unsafe(`
        insert into asyncmq.asyncmq_jobs (queue_name, job_id, data, status) values
          ('emails', 'j1', '{"id":"j1","task":"t"}', 'waiting'), ('emails', 'j2', '{"id":"j2","task":"t"}', 'delayed'), ('reports', 'j3', '{"id":"j3","task":"t"}', 'waiting');
        insert into asyncmq.asyncmq_cancelled_jobs values ('emails', 'j2');
        insert into users (email) values ('ada@example.com')`);
      const before = await state(live);

      // The app moves to the new version: drizzle-kit writes its migration and snapshot.
      const earlier = await sqlFiles(dir);
      await setVersion(to);
      const keyChanges = from !== '0.8' && to !== '0.2';
      // drizzle-kit 1.0 asks whether the new key renames the old one; without a terminal the
      // answer is given as a hint (docs/drizzle.md): it is a new key.
      const hints = keyChanges && kitVersion.startsWith('1.') ? ['--hints', JSON.stringify([{ type: 'create', kind: 'unique', entity: ['asyncmq', 'asyncmq_jobs', 'asyncmq_jobs_queue_name_job_id_key'] }])] : [];
      await kitOk(dir, ['generate', '--name', `asyncmq_${to.replace('.', '_')}`, ...hints], live.url);
      const [migration, ...more] = (await sqlFiles(dir)).filter((f) => !earlier.includes(f));
      assert.ok(migration && more.length === 0, 'one new migration');
      if (keyChanges) {
        // What drizzle-kit would run: the old key dropped, the new one built under a lock that stops every writer.
        const generated = spawnSync('cat', [join(dir, 'drizzle', migration)], { encoding: 'utf8' }).stdout;
        assert.match(generated, /DROP CONSTRAINT "asyncmq_jobs_job_id_key"/);
      }
      const printed = cli(dir, ['sql', '--upgrade', '--drizzle-kit', '--from', from, '--schema-version', to, '--schema', 'asyncmq', '--indexes', 'queue']);
      assert.equal(printed.status, 0, printed.stderr);
      await writeFile(join(dir, 'drizzle', migration), printed.stdout);

      if (keyChanges) {
        // Without the online upgrade, the migration refuses and changes nothing, not even the app's.
        const refused = await kit(dir, ['migrate'], live.url);
        assert.notEqual(refused.code, 0, refused.output);
        assert.deepEqual(await state(live), before);
        // The command the migration names, run as printed, with the URL in the environment.
        const command = /run: (npx --no-install asyncmq-postgres upgrade [^;]+);/.exec(printed.stdout)?.[1];
        assert.ok(command, printed.stdout);
        const upgraded = cli(dir, command.split(' ').slice(3), live.url);
        assert.equal(upgraded.status, 0, upgraded.stderr + upgraded.stdout);
        const moved = await state(live);
        await kitOk(dir, ['migrate'], live.url);
        assert.deepEqual(await state(live), moved, 'the migration changed nothing after the online upgrade');
      } else {
        await kitOk(dir, ['migrate'], live.url);
      }

      const after = await state(live);
      assert.deepEqual(after.asyncmq, await reference(to));
      assert.deepEqual({ rows: after.rows, cancelled: after.cancelled, public: after.public }, { rows: before.rows, cancelled: before.cancelled, public: before.public });
      await installOrDropPostgresBackend({ connectionString: live.url, env: {}, schema: createAsyncmqSchema(names(to)), verifyOnly: true });

      // drizzle-kit's snapshot agrees: a second generate writes nothing, a second migrate changes nothing.
      const files = await sqlFiles(dir);
      await kitOk(dir, ['generate'], live.url);
      assert.deepEqual(await sqlFiles(dir), files, 'a second generate writes no migration');
      await kitOk(dir, ['migrate'], live.url);
      assert.deepEqual(await state(live), after);

      // A new database from the same migrations: the change is made in the migration, on an empty table.
      const fresh = await createDatabase();
      await kitOk(dir, ['migrate'], fresh.url);
      assert.deepEqual(await snapshot(fresh.sql, 'asyncmq'), after.asyncmq);
    });
  }
});

test('the drizzle-kit SQL is refused where it cannot be right: no newer version, an index profile whose indexes change', () => {
  const dir = work;
  const same = cli(dir, ['sql', '--upgrade', '--drizzle-kit', '--from', '0.9', '--schema-version', '0.9']);
  assert.equal(same.status, 2);
  assert.match(same.stderr, /from 0\.9 must be older than the configured 0\.9.*\[ASYNCMQ_USAGE\]/);
  const profile = cli(dir, ['sql', '--upgrade', '--drizzle-kit', '--from', '0.8', '--schema-version', '0.9', '--indexes', 'asyncmq-0.9']);
  assert.equal(profile.status, 2);
  assert.match(profile.stderr, /asyncmq-0\.9 index profile changes the indexes of asyncmq_jobs from 0\.8 to 0\.9/);
  const noFrom = cli(dir, ['sql', '--upgrade', '--drizzle-kit', '--schema-version', '0.9']);
  assert.match(noFrom.stderr, /needs --from/);
  const noUpgrade = cli(dir, ['sql', '--drizzle-kit']);
  assert.match(noUpgrade.stderr, /--drizzle-kit applies to sql --upgrade only/);
});

test("the drizzle-kit SQL names only pg_catalog's functions, operators and types", () => {
  const printed = cli(work, ['sql', '--upgrade', '--drizzle-kit', '--from', '0.1', '--schema-version', '0.9', '--schema', 'asyncmq']);
  assert.equal(printed.status, 0, printed.stderr);
  const body = printed.stdout
    .replace(/^--.*$/gm, '')
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/\$asyncmq\$/g, '')
    .replace(/OPERATOR\(pg_catalog\.[^)]+\)/g, ' ')
    .replace(/ := /g, ' ')
    // RAISE's options are written name = value: syntax, not an operator.
    .replace(/\b(ERRCODE|MESSAGE|HINT) = /g, ' ');
  assert.doesNotMatch(body, /[=<>|!~]/);
  const words = new Set(['EXISTS', 'NOT', 'KEY', 'UNIQUE', 'btree', 'TABLE', 'INDEX', 'INTO', 'ARRAY']);
  for (const [, name] of body.matchAll(/([A-Za-z_][A-Za-z0-9_.]*)\s*\(/g)) {
    assert.ok(name!.startsWith('pg_catalog.') || words.has(name!) || /^"/.test(name!), `${name}(`);
  }
  for (const [, type] of body.matchAll(/::([a-z_.]+)/g)) assert.ok(type!.startsWith('pg_catalog.'), `::${type}`);
  // Names in CREATE TABLE are quoted; a column's type is pg_catalog's or a key word.
  for (const [, type] of body.matchAll(/^\s+"[a-z_]+" ([a-z_.]+)/gm)) assert.ok(/^(pg_catalog\.|serial|integer|timestamp|double|boolean)/.test(type!), type);
});

