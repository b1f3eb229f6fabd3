/**
 * The command reads the app's own configuration: asyncmq.config.* in the current directory, or
 * --config, exporting the app's tables or its settings. Flags and variables override its
 * settings; against its tables, a naming flag or variable that says otherwise is refused,
 * naming both. A TypeScript config loads through what the app has (tsx, drizzle-kit's), checked
 * with the built command in a process of its own, as an app runs it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createAsyncmqSchema, installPostgresBackend } from '../src/index.js';
import { createDatabase } from './support/db.js';
import { testTmp } from './support/tmp.js';
import { asyncmqDatabase } from './support/versions.js';
import { runCli } from './support/cli.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const schemaEntry = pathToFileURL(join(root, 'src/schema.ts')).href;
let work: string;

before(async () => {
  work = await testTmp('asyncmq-config-');
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A directory of its own holding `files`. */
function app(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const run = (args: string[], cwd: string, env: Record<string, string | undefined> = {}) => runCli(args, env, cwd);

const statements = async (args: string[], cwd: string, env: Record<string, string> = {}) => {
  const result = await run(['sql', '--json', ...args], cwd, env);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  return (JSON.parse(result.stdout) as { statements: string[] }).statements.join('\n');
};

test("the app's tables from asyncmq.config.mjs: status sees them with no flag; a naming flag or variable that says otherwise is refused, naming both", async () => {
  const dir = app('tables', {
    'asyncmq.config.mjs': `import { createAsyncmqSchema } from '${schemaEntry}';\nexport default createAsyncmqSchema({ postgresSchema: 'asyncmq', postgresSchemaVersion: '0.9' });\n`,
  });
  const db = await createDatabase();
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  // The app installed its tables at startup; the command, run in the app's directory, sees the same ones.
  await installPostgresBackend({ connectionString: db.url, env: {}, schema: createAsyncmqSchema({ postgresSchema: 'asyncmq', postgresSchemaVersion: '0.9' }) });
  const status = await run(['status'], dir, env);
  assert.equal(status.code, 0, status.stdout);
  assert.match(status.stdout, /^namespace asyncmq, index profile seed\nschema version 0\.9 configured; the tables hold AsyncMQ 0\.9's schema\nAsyncMQ schema 0\.9 \(AsyncMQ 0\.9\.x\), from asyncmq\.config\.mjs\.\n/);
  assert.match(status.stdout, /\nOK: installed and in shape\.\n$/);
  assert.match(await statements([], dir), /CREATE TABLE "asyncmq"\."asyncmq_paused_queues"/);

  // Agreeing flags are fine; disagreeing ones name both sides.
  assert.equal((await run(['status', '--schema', 'asyncmq', '--schema-version', '0.9.1'], dir, env)).code, 0);
  const flag = await run(['status', '--schema', 'other'], dir, env);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^asyncmq-postgres: --schema is "other", but the tables asyncmq\.config\.mjs exports have "asyncmq"; the tables decide/);
  const variable = await run(['status'], dir, { ...env, ASYNCMQ_POSTGRES_SCHEMA_VERSION: '0.8' });
  assert.equal(variable.code, 2);
  assert.match(variable.stderr, /^asyncmq-postgres: ASYNCMQ_POSTGRES_SCHEMA_VERSION is "0\.8", but the tables asyncmq\.config\.mjs exports have "0\.9"/);
});

test('settings from the config, under flags and variables; each error names the key in the file', async () => {
  const dir = app('settings', {
    'asyncmq.config.mjs': "export default { postgresSchema: 'cfg', postgresSchemaVersion: '0.8', postgresLockTimeout: 1234 };\n",
  });
  const fromConfig = await statements([], dir);
  assert.match(fromConfig, /set_config\('lock_timeout', '1234ms', true\)/);
  assert.match(fromConfig, /CREATE TABLE "cfg"\."asyncmq_jobs"/);
  assert.match(fromConfig, /"asyncmq_jobs_queue_name_job_id_key" UNIQUE \("queue_name", "job_id"\)/);
  assert.match(await statements([], dir, { ASYNCMQ_POSTGRES_SCHEMA: 'from_env' }), /CREATE TABLE "from_env"\."asyncmq_jobs"/);
  assert.match(await statements(['--schema', 'from_flag'], dir, { ASYNCMQ_POSTGRES_SCHEMA: 'from_env' }), /CREATE TABLE "from_flag"\."asyncmq_jobs"/);
  assert.match(await statements(['--lock-timeout', '5'], dir), /'5ms'/);

  const cases: [Record<string, string>, RegExp][] = [
    [{ 'asyncmq.config.mjs': "export default { postgresSchemaVersion: '9' };\n" }, /^asyncmq-postgres: postgresSchemaVersion in asyncmq\.config\.mjs is "9", which is not a schema version/],
    [{ 'asyncmq.config.mjs': "export default { postgresJobsTableName: 'Jobs' };\n" }, /^asyncmq-postgres: postgresJobsTableName in asyncmq\.config\.mjs is "Jobs": use a plain lowercase identifier/],
    [{ 'asyncmq.config.mjs': "export default { postgresSchemaVerison: '0.9' };\n" }, /^asyncmq-postgres: asyncmq\.config\.mjs: postgresSchemaVerison is not a setting; did you mean postgresSchemaVersion\?/],
    [{ 'asyncmq.config.mjs': "export const asyncmq = { postgresSchema: 'x' };\n" }, /asyncmq\.config\.mjs must export as default the app's tables .* it exports no default/],
    [{ 'asyncmq.config.mjs': "throw new Error('boom');\n" }, /^asyncmq-postgres: asyncmq\.config\.mjs failed to load: boom \[ASYNCMQ_USAGE\]/],
  ];
  for (const [index, [files, pattern]] of cases.entries()) {
    const result = await run(['sql'], app(`bad-${index}`, files));
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stderr, pattern);
  }

  // CommonJS, and a config named by --config from another directory.
  assert.match(await statements([], app('cjs', { 'asyncmq.config.cjs': "module.exports = { postgresSchema: 'cjs_ns' };\n" })), /"cjs_ns"\."asyncmq_jobs"/);
  const elsewhere = app('elsewhere', { 'config/queue.mjs': "export default { postgresSchema: 'named' };\n" });
  assert.match(await statements(['--config', 'config/queue.mjs'], elsewhere), /"named"\."asyncmq_jobs"/);
  const missing = await run(['sql', '--config', 'nothere.mjs'], elsewhere);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^asyncmq-postgres: --config nothere\.mjs: no such file in /);
  // No config: the defaults, unqualified.
  assert.match(await statements([], app('none', { 'README.md': '' })), /CREATE TABLE "asyncmq_jobs"/);
});

test('a command printed under --config names the file, and runs as printed', async () => {
  const db = await asyncmqDatabase('0.1');
  const dir = app('printed', { 'deploy/asyncmq.mjs': "export default { postgresSchemaVersion: '0.9' };\n" });
  const env = { ASYNCMQ_POSTGRES_BACKEND_URL: db.url };
  const refused = await run(['install', '--config', 'deploy/asyncmq.mjs'], dir, env);
  assert.equal(refused.code, 3);
  const printed = /needs an upgrade: `npx --no-install asyncmq-postgres ([^`]+)`/.exec(refused.stderr)?.[1];
  assert.equal(printed, 'upgrade --config deploy/asyncmq.mjs');
  const upgraded = await run(printed!.split(' '), dir, env);
  assert.equal(upgraded.code, 0, upgraded.stderr);
  assert.match(upgraded.stdout, /^AsyncMQ schema 0\.9 \(AsyncMQ 0\.9\.x\), from deploy\/asyncmq\.mjs\.\nUpgraded public from AsyncMQ 0\.1's schema/);
});

test('asyncmq.config.ts loads through the tsx the app has, or drizzle-kit brings; without either, the error says what to install', () => {
  // The command as npm ships it, built from these sources, in a process without any loader of the tests'.
  const pkg = join(work, 'pkg');
  mkdirSync(pkg);
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { stdio: 'pipe' });
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
  const bin = join(pkg, 'dist/bin.js');
  const withPackage = (dir: string, loaders: string[]) => {
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    symlinkSync(pkg, join(dir, 'node_modules/asyncmq-postgres'));
    for (const loader of loaders) symlinkSync(join(root, 'node_modules', loader), join(dir, 'node_modules', loader));
    return dir;
  };
  // As in the README: the app's tables in a TypeScript module, imported with its .js name.
  const files = {
    'db/asyncmq.ts': "import { createAsyncmqSchema } from 'asyncmq-postgres/schema';\nexport const asyncmq = createAsyncmqSchema({ postgresSchema: 'asyncmq', postgresSchemaVersion: '0.9' });\n",
    'asyncmq.config.ts': "import type { AsyncmqSchemaTables } from 'asyncmq-postgres';\nimport { asyncmq } from './db/asyncmq.js';\nconst tables: AsyncmqSchemaTables = asyncmq;\nexport default tables;\n",
  };
  const sql = (cwd: string, format: string[] = ['--json']) => spawnSync(process.execPath, [bin, 'sql', ...format], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH } });

  for (const loaders of [['tsx'], ['drizzle-kit']]) {
    const result = sql(withPackage(app(`ts-${loaders[0]}`, files), loaders));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /CREATE TABLE \\"asyncmq\\"\.\\"asyncmq_paused_queues\\"/, loaders[0]);
  }

  const bare = sql(withPackage(app('ts-none', { 'asyncmq.config.ts': "export default { postgresSchema: 'bare' } satisfies Record<string, string>;\n" }), []), []);
  if ((process.features as { typescript?: unknown }).typescript) {
    assert.equal(bare.status, 0, bare.stderr); // a Node that strips types loads it by itself
  } else {
    assert.equal(bare.status, 2);
    assert.match(
      bare.stderr,
      /^asyncmq-postgres: asyncmq\.config\.ts is TypeScript, which this Node \(v[\d.]+\) does not load by itself, and no tsx was found from asyncmq\.config\.ts \(drizzle-kit brings it\): install it \(npm install --save-dev tsx\), run a Node that strips types \(22\.18 or later\), or write the config as asyncmq\.config\.mjs \[ASYNCMQ_USAGE\]\n$/,
    );
  }
});
