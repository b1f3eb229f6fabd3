/**
 * `npm test` and `npm run test:integration`: every test file of test/ (or, with
 * `--integration`, of test/integration/: the packed package and the example apps with the real
 * drizzle-kit, which take minutes) with Node's test runner against a real Postgres: the one at
 * ASYNCMQ_TEST_DATABASE_URL (a superuser URL; each test makes and drops its own database), or
 * else an embedded server started here and stopped when the run ends, however it ends.
 *
 * Hangs are bounded, slowness is not: no test or file has a deadline that a busy machine could
 * trip. The run stops only when nothing has been reported for ten minutes, which no test comes
 * near even on two loaded cores.
 *
 * Nothing outlives the run: every file the tests make goes into one directory of the run's
 * (ASYNCMQ_TEST_TMP, see support/tmp.ts), removed at the end, on SIGINT or SIGTERM, after a
 * cancelled file, and, for a run that was killed outright, by the next run.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres, type RunningServer } from '../scripts/embedded-postgres.js';

// ASYNCMQ_TEST_HANG_MS: for the runner's own test (test/runner.test.ts) only.
const HANG_MS = Number(process.env.ASYNCMQ_TEST_HANG_MS) || 10 * 60_000;

/** The run's exit code when it was stopped: as a shell reports a signal, and 1 for a hang. */
const STOPPED_EXIT = { SIGINT: 130, SIGTERM: 143, hang: 1 } as const;

const args = process.argv.slice(2);
const integration = args.includes('--integration');
const only = args.filter((a) => a !== '--integration');
const here = fileURLToPath(new URL(integration ? './integration/' : '.', import.meta.url));
const files = only.length > 0 ? only : readdirSync(here).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `${here}${f}`);

/** Removes the directories of earlier runs whose process is gone (killed before it could clean up). */
function sweepAbandonedRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('asyncmq-test-')) continue;
    const dir = join(tmpdir(), name);
    let pid: number;
    try {
      pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    } catch {
      continue; // not ours, or being made right now
    }
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(dir, { recursive: true, force: true });
    }
  }
}

sweepAbandonedRuns();
const runDir = mkdtempSync(join(tmpdir(), 'asyncmq-test-'));
// Enterable by the postgres user, for the tests that start servers as it (embedded-postgres.test.ts);
// what must stay private gets a 0700 directory of its own inside.
chmodSync(runDir, 0o755);
writeFileSync(join(runDir, 'pid'), String(process.pid));
const removeRunDir = () => rmSync(runDir, { recursive: true, force: true, maxRetries: 5 });
process.on('exit', removeRunDir);

let server: RunningServer | undefined;
let code = 1;
try {
  let url = process.env.ASYNCMQ_TEST_DATABASE_URL;
  if (!url) {
    process.stdout.write('starting embedded Postgres (set ASYNCMQ_TEST_DATABASE_URL to use another server)\n');
    server = await startEmbeddedPostgres();
    url = server.url;
  }
  const env: NodeJS.ProcessEnv = { ...process.env, ASYNCMQ_TEST_DATABASE_URL: url, ASYNCMQ_TEST_TMP: runDir };
  // The tests must not pick up a developer's own configuration.
  for (const key of Object.keys(env)) if (key.startsWith('ASYNCMQ_') && !key.startsWith('ASYNCMQ_TEST_')) delete env[key];
  code = await runFiles(env);
} finally {
  await server?.stop();
  removeRunDir();
}
process.exit(code);

/**
 * Node's test runner in a process group of its own, so that it, the files it runs and whatever
 * they started can be ended together.
 */
function runFiles(env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
    detached: true,
  });
  let last = Date.now();
  const relay = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
    last = Date.now();
    to.write(chunk);
  };
  child.stdout.on('data', relay(process.stdout));
  child.stderr.on('data', relay(process.stderr));
  let stopping: 'SIGINT' | 'SIGTERM' | 'hang' | undefined;
  const stop = (reason: NonNullable<typeof stopping>) => {
    if (stopping) return;
    stopping = reason;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    // What ignores SIGTERM is killed outright; the timer keeps nothing alive on its own.
    setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10_000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const watchdog = setInterval(() => {
    if (Date.now() - last < HANG_MS) return;
    process.stderr.write(`\nno test reported anything for ${HANG_MS / 60_000} minutes: a hang; ending the run\n`);
    stop('hang');
  }, Math.min(10_000, HANG_MS / 4));
  return new Promise<number>((resolve) => {
    child.on('error', () => resolve(1));
    child.on('exit', (c, s) => {
      clearInterval(watchdog);
      // The group's stragglers (a child a test started) go with the run.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // none left
      }
      resolve(stopping ? STOPPED_EXIT[stopping] : (c ?? 1));
    });
  });
}
