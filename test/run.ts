/**
 * `npm test`: runs every test file with Node's test runner against a real Postgres: the one at
 * ASYNCMQ_TEST_DATABASE_URL (a superuser URL; each test makes and drops its own database),
 * or else an embedded server started here and stopped when the run ends, however it ends.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres, type RunningServer } from '../scripts/embedded-postgres.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = only.length > 0 ? only : readdirSync(here).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `${here}${f}`);

let server: RunningServer | undefined;
let url = process.env.ASYNCMQ_TEST_DATABASE_URL;
if (!url) {
  process.stdout.write('starting embedded Postgres (set ASYNCMQ_TEST_DATABASE_URL to use another server)\n');
  server = await startEmbeddedPostgres();
  url = server.url;
}

const env: NodeJS.ProcessEnv = { ...process.env, ASYNCMQ_TEST_DATABASE_URL: url };
// The tests must not pick up a developer's own configuration.
for (const key of Object.keys(env)) if (key.startsWith('ASYNCMQ_') && !key.startsWith('ASYNCMQ_TEST_')) delete env[key];

let code = 1;
try {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...files], { stdio: 'inherit', env });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  code = await new Promise<number>((resolve) => {
    child.on('error', () => resolve(1));
    child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0)));
  });
} finally {
  await server?.stop();
}
process.exit(code);
