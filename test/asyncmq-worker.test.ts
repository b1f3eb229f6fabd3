/**
 * The producer proven by AsyncMQ itself: jobs enqueued from TypeScript (now, delayed, with an id
 * of the app's, and one cancelled) are dequeued and run by AsyncMQ's own worker, with its own
 * Postgres backend, from a checkout of AsyncMQ's source at a release tag; the cancelled one never
 * runs.
 *
 * Runs where ASYNCMQ_TEST_SOURCE_DIR (passed through by test/run.ts, as every ASYNCMQ_TEST_ variable) names such a checkout (the folder holding `asyncmq/`); AsyncMQ's
 * source is not on the package registries CI reaches, so CI skips it, saying so. Python 3.11 with
 * Debian's packages (python3-asyncpg, -anyio, -croniter, -rich, -click, and -redis for 0.1's
 * default settings) runs it (ASYNCMQ_TEST_PYTHON, default /usr/bin/python3); fixtures/asyncmq-python
 * adds a stand-in for `monkay` (not in Debian: only its settings loading and lazy imports are
 * used) and `typing_extensions.Doc` (newer than Debian's). The schema version comes from the
 * checkout's own `__version__`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { createAsyncmqProducer, createAsyncmqSchema, installOrDropPostgresBackend, type DrizzleWriter } from '../src/index.js';
import { schemaVersionOf } from '../src/config/versions.js';
import { createDatabase } from './support/db.js';
import { testTmp } from './support/tmp.js';
import { HANG_MS } from './support/patience.js';

const source = process.env.ASYNCMQ_TEST_SOURCE_DIR;
const python = process.env.ASYNCMQ_TEST_PYTHON ?? '/usr/bin/python3';
const fixtures = fileURLToPath(new URL('./fixtures/asyncmq-python/', import.meta.url));
const release = source && existsSync(join(source, 'asyncmq/__init__.py'))
  ? /__version__\s*=\s*"([^"]+)"/.exec(readFileSync(join(source, 'asyncmq/__init__.py'), 'utf8'))?.[1]
  : undefined;
const skip = !source ? 'set ASYNCMQ_TEST_SOURCE_DIR to a checkout of AsyncMQ at a release tag to run it' : !release ? `${source} holds no asyncmq/__init__.py with a __version__` : false;

const clients: postgres.Sql[] = [];
after(() => Promise.all(clients.map((c) => c.end({ timeout: 5 }))));

/** AsyncMQ's worker in a process of its own, bounded in time; resolves with its output. */
function worker(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(python, [join(fixtures, 'worker.py')], {
    env: { PATH: process.env.PATH ?? '', PYTHONPATH: [fixtures, source!].join(delimiter), PYTHONDONTWRITEBYTECODE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve({ code, output }))));
}

test(`AsyncMQ ${release ?? '(no checkout)'}'s own worker runs the jobs the TypeScript producer enqueued, and not the one it cancelled`, { skip }, async () => {
  const version = schemaVersionOf(release!);
  assert.ok(version, `no schema version known for AsyncMQ ${release}`);
  const names = { postgresSchemaVersion: version, postgresJobsTableName: 'proof_jobs', postgresCancelledJobsTableName: 'proof_cancelled' } as const;
  const tables = createAsyncmqSchema(names);
  const database = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: database.url, schema: tables, env: {} });
  const client = postgres(database.url, { max: 2, onnotice: () => {} });
  clients.push(client);
  const db = drizzle({ client } as never) as unknown as DrizzleWriter;
  const producer = createAsyncmqProducer(tables);

  const now = await producer.enqueue(db, { queue: 'proof', task: 'proof_tasks.record', args: [1, 'a'], kwargs: { tag: 'now', nested: { list: [true, null, 2.5] } } });
  const later = await producer.enqueueDelayed(db, { queue: 'proof', task: 'proof_tasks.record', kwargs: { tag: 'delayed' }, delay: 1 });
  const own = await producer.enqueue(db, { queue: 'proof', task: 'proof_tasks.record', kwargs: { tag: 'own id' }, jobId: 'welcome-ada', priority: 1 });
  const doomed = await producer.enqueue(db, { queue: 'proof', task: 'proof_tasks.record', kwargs: { tag: 'cancelled' } });
  await producer.cancel(db, { queue: 'proof', jobId: doomed.jobId });
  assert.ok(now.enqueued && later.enqueued && own.enqueued);

  const work = await testTmp('asyncmq-worker-');
  try {
    const out = join(work, 'runs.jsonl');
    const run = await worker({
      PROOF_DSN: database.url,
      PROOF_QUEUE: 'proof',
      PROOF_OUT: out,
      PROOF_EXPECT: '3',
      PROOF_TIMEOUT: '60',
      PROOF_POSTGRES_JOBS_TABLE_NAME: 'proof_jobs',
      PROOF_POSTGRES_CANCELLED_JOBS_TABLE_NAME: 'proof_cancelled',
    });
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, new RegExp(`asyncmq ${release!.replace(/\./g, '\\.')}`));
    const runs = (await readFile(out, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { args: unknown[]; kwargs: { tag: string } });
    const byTag = new Map(runs.map((r) => [r.kwargs.tag, r]));
    assert.deepEqual([...byTag.keys()].sort(), ['delayed', 'now', 'own id'], `ran: ${JSON.stringify(runs)}\n${run.output}`);
    assert.deepEqual(byTag.get('now'), { args: [1, 'a'], kwargs: { tag: 'now', nested: { list: [true, null, 2.5] } } });
    // None of them is still waiting or delayed for AsyncMQ.
    const left = await database.sql`select job_id, status from proof_jobs where status in ('waiting', 'delayed') and job_id <> ${doomed.jobId}`;
    assert.deepEqual([...left], []);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
