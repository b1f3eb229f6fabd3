/**
 * Draining a queue of waiting jobs with AsyncMQ 0.9's own dequeue and complete (its backend's
 * `dequeue()` and `complete_active_job()`, verbatim), by 4 and 16 workers, under each index
 * profile; beside it, pg-boss's `fetch()` and `complete()` on a queue of as many jobs, in the
 * same run. Each worker takes one job at a time, as AsyncMQ's and pg-boss's workers do. A
 * drain that would take longer than its window is measured over the window.
 */
import postgres, { type Sql } from 'postgres';
import { asJson, asyncmq09, asyncmq09Job } from '../test/support/asyncmq09.js';
import { installProfile, PROFILES_09, schemaOf, type Profile09 } from './asyncmq09.js';
import { step } from './progress.js';

const quiet = { onnotice: () => {} } as const;

export interface DrainRun {
  workers: number;
  /** Jobs dequeued and completed per second. */
  jobsPerSecond: number;
  completed: number;
  seconds: number;
  /** Whether the queue was empty before the window closed. */
  drained: boolean;
}

export interface DrainResults {
  jobs: number;
  window: number;
  profiles: Record<Profile09, DrainRun[]>;
  pgBoss: DrainRun[] | { error: string };
}

async function loadQueue(admin: Sql, schema: string, jobs: number): Promise<void> {
  const base = JSON.stringify(asyncmq09Job('x'));
  await admin.unsafe(`
    insert into ${schema}.asyncmq_jobs (queue_name, job_id, data, status, created_at)
    select 'drain', 'job-' || g, '${base}'::jsonb || jsonb_build_object('id', 'job-' || g, 'args', jsonb_build_array(g)), 'waiting',
      now() - make_interval(secs => ${jobs} - g)
    from generate_series(1, ${jobs}) g`);
  await admin.unsafe(`vacuum analyze ${schema}.asyncmq_jobs`);
}

/** Runs `workers` loops that each take a job and finish it, until none is left or the window closes. */
async function drainWith(workers: number, window: number, take: () => Promise<boolean>): Promise<DrainRun> {
  const started = performance.now();
  const deadline = started + window * 1000;
  let completed = 0;
  let drained = false;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!drained && performance.now() < deadline) {
        if (await take()) completed++;
        else drained = true;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { workers, jobsPerSecond: completed / seconds, completed, seconds, drained };
}

async function drainAsyncmq(url: string, schema: string, workers: number, window: number): Promise<DrainRun> {
  const sql = postgres(url, { ...quiet, max: workers, connection: { search_path: schema } });
  try {
    return await drainWith(workers, window, async () => {
      const job = await sql.begin(async (tx) => {
        await tx.unsafe(asyncmq09('dequeue-purge-cancelled'), ['drain', 'waiting']);
        const [row] = await tx.unsafe(asyncmq09('dequeue-claim'), ['drain', 'waiting', 'active', Date.now() / 1000]);
        return row?.data as Record<string, unknown> | undefined;
      });
      if (!job) return false;
      const id = String(job.id);
      await sql.begin(async (tx) => {
        const cancelled = await tx.unsafe(asyncmq09('lifecycle-is-cancelled'), ['drain', id]);
        if (cancelled.length > 0) await tx.unsafe(asyncmq09('lifecycle-delete-cancelled'), ['drain', id]);
        else await tx.unsafe(asyncmq09('lifecycle-upsert'), ['drain', id, asJson({ ...job, status: 'completed', result: 1, delay_until: null }), 'completed', null]);
      });
      return true;
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function drainPgBoss(url: string, admin: Sql, jobs: number, workers: number, window: number): Promise<DrainRun> {
  const { PgBoss } = await import('pg-boss');
  await admin.unsafe('drop schema if exists pgboss_drain cascade');
  const boss = new PgBoss({ connectionString: url, schema: 'pgboss_drain', supervise: false, schedule: false, max: workers });
  boss.on('error', () => {});
  await boss.start();
  try {
    await boss.createQueue('drain');
    for (let done = 0; done < jobs; done += 10_000) {
      const size = Math.min(10_000, jobs - done);
      await boss.insert('drain', Array.from({ length: size }, (_, i) => ({ data: { n: done + i, task: 'bench.task' } })));
    }
    await admin.unsafe('vacuum analyze pgboss_drain.job');
    return await drainWith(workers, window, async () => {
      const [job] = await boss.fetch('drain');
      if (!job) return false;
      await boss.complete('drain', job.id);
      return true;
    });
  } finally {
    await boss.stop({ graceful: false, close: true });
    await admin.unsafe('drop schema if exists pgboss_drain cascade');
  }
}

export async function benchDrain(url: string, admin: Sql, jobs: number, workerCounts: readonly number[], window: number): Promise<DrainResults> {
  const profiles = {} as Record<Profile09, DrainRun[]>;
  let pgBoss: DrainRun[] | { error: string } = [];
  for (const workers of workerCounts) {
    // Interleaved by worker count, so a noisy stretch of the machine lands on every contender.
    for (const profile of PROFILES_09) {
      const schema = await installProfile(url, admin, profile);
      await loadQueue(admin, schema, jobs);
      step(`drain of ${jobs} jobs, ${profile}, ${workers} workers (window ${window}s)`);
      const run = await drainAsyncmq(url, schema, workers, window);
      (profiles[profile] ??= []).push(run);
      step(`drain, ${profile}, ${workers} workers: ${run.jobsPerSecond.toFixed(1)} jobs/s${run.drained ? ', drained' : ''}`);
      await admin.unsafe(`drop schema ${schemaOf(profile)} cascade`);
    }
    if (Array.isArray(pgBoss)) {
      step(`drain of ${jobs} jobs, pg-boss fetch() + complete(), ${workers} workers`);
      try {
        const run = await drainPgBoss(url, admin, jobs, workers, window);
        pgBoss.push(run);
        step(`drain, pg-boss, ${workers} workers: ${run.jobsPerSecond.toFixed(1)} jobs/s${run.drained ? ', drained' : ''}`);
      } catch (error) {
        pgBoss = { error: (error as Error).message };
      }
    }
  }
  return { jobs, window, profiles, pgBoss };
}
