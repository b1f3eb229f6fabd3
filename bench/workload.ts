/**
 * The queue workload the schema exists to serve, at a given size, under the seed's indexes and
 * the `queue` profile side by side: two namespaces holding the same rows, their operations
 * interleaved. AsyncMQ's own statements, as its Postgres backend runs them. pg-boss's fetch at
 * the same job count is measured beside them, as an outside reference.
 */
import { readFileSync } from 'node:fs';
import postgres, { type Sql } from 'postgres';
import { installOrDropPostgresBackend } from '../src/index.js';
import { counter, step } from './progress.js';
import { interleave, summarize, timed, type Summary } from './stats.js';

const QUEUES = 8;
const PROFILES = ['seed', 'queue'] as const;
type Profile = (typeof PROFILES)[number];

export interface WorkloadResults {
  jobs: number;
  operations: Record<'upsert' | 'dequeue' | 'dueDelayed' | 'cancelled', Record<Profile, Summary>>;
  pgBossFetch: Summary | { error: string };
}

/** Fills a namespace's jobs table: half finished, the rest waiting, delayed or failed, over 8 queues. */
async function load(sql: Sql, schema: string, jobs: number): Promise<void> {
  await sql.unsafe(`
    insert into ${schema}.asyncmq_jobs (queue_name, job_id, data, status, delay_until, created_at)
    select 'queue-' || (g % ${QUEUES}), 'job-' || g,
      jsonb_build_object('id', 'job-' || g, 'task', 'bench.task', 'args', jsonb_build_array(g), 'kwargs', '{}'::jsonb,
        'status', s, 'delay_until', d, 'retries', 0, 'max_retries', 3),
      s, d, now() - make_interval(secs => ${jobs} - g)
    from generate_series(1, ${jobs}) g,
    lateral (select case when g % 2 = 0 then 'completed' when g % 10 = 1 then 'delayed' when g % 10 = 3 then 'failed' else 'waiting' end as s) st,
    lateral (select case when st.s = 'delayed' then extract(epoch from now()) + (g % 1000) - 500 end as d) dl`);
  await sql.unsafe(`insert into ${schema}.asyncmq_cancelled_jobs select 'queue-' || (g % ${QUEUES}), 'job-' || g from generate_series(1, ${jobs}, 100) g`);
  await sql.unsafe(`analyze ${schema}.asyncmq_jobs; analyze ${schema}.asyncmq_cancelled_jobs`);
}

export async function benchWorkload(url: string, admin: Sql, jobs: number, runs: { fast: number; slow: number }): Promise<WorkloadResults> {
  for (const profile of PROFILES) {
    const schema = `workload_${profile}`;
    await admin.unsafe(`drop schema if exists ${schema} cascade`);
    await installOrDropPostgresBackend({ connectionString: url, env: {}, settings: { postgresSchema: schema, postgresIndexes: profile } });
    step(`workload ${jobs}: loading ${schema}`);
    await load(admin, schema, jobs);
  }
  const sql = postgres(url, { onnotice: () => {}, max: 2 });
  let next = 0;
  const op = (name: string, run: (schema: string, i: number) => Promise<unknown>, count: number) => {
    step(`workload ${jobs}: ${name}, ${count} runs per profile, interleaved`);
    return interleave(count, { seed: (i) => run('workload_seed', i), queue: (i) => run('workload_queue', i) }, counter(name, count));
  };
  const queueOf = (i: number) => `queue-${i % QUEUES}`;
  const upsert = await op('upsert on job_id', (schema, i) => {
    // Every other one hits an existing job: AsyncMQ saves the same job again as its state changes.
    const id = i % 2 === 0 ? `job-${1 + ((i * 7919) % jobs)}` : `new-${schema}-${next++}`;
    return sql.unsafe(
      `insert into ${schema}.asyncmq_jobs (queue_name, job_id, data, status) values ($1, $2, $3, $4)
       on conflict (job_id) do update set data = excluded.data, status = excluded.status, updated_at = now()`,
      [queueOf(i), id, JSON.stringify({ id, task: 'bench.task', status: 'waiting' }), 'waiting'],
    );
  }, runs.fast);
  const dequeue = await op('dequeue (FOR UPDATE SKIP LOCKED)', (schema, i) =>
    sql.begin((tx) =>
      tx.unsafe(
        `update ${schema}.asyncmq_jobs set status = $3, updated_at = now()
         where id = (select id from ${schema}.asyncmq_jobs where queue_name = $1 and status = $2
                     order by created_at asc limit 1 for update skip locked)
         returning data`,
        [queueOf(i), 'waiting', 'active'],
      ),
    ), runs.slow);
  const dueDelayed = await op('scan of due delayed jobs', (schema, i) =>
    sql.unsafe(
      `select data from ${schema}.asyncmq_jobs where queue_name = $1
         and (data ->> 'delay_until') is not null and (data ->> 'delay_until')::float <= $2`,
      [queueOf(i), Date.now() / 1000],
    ), runs.slow);
  const cancelled = await op('cancellation lookup', (schema, i) =>
    sql.unsafe(`select 1 from ${schema}.asyncmq_cancelled_jobs where queue_name = $1 and job_id = $2`, [queueOf(i), `job-${1 + ((i * 104729) % jobs)}`]),
    runs.fast);
  await sql.end({ timeout: 5 });
  for (const profile of PROFILES) await admin.unsafe(`drop schema workload_${profile} cascade`);

  const pair = (samples: Record<Profile, number[]>) => ({ seed: summarize(samples.seed), queue: summarize(samples.queue) });
  return {
    jobs,
    operations: { upsert: pair(upsert), dequeue: pair(dequeue), dueDelayed: pair(dueDelayed), cancelled: pair(cancelled) },
    pgBossFetch: await benchPgBoss(url, admin, jobs, runs.slow).catch((error: Error) => ({ error: error.message })),
  };
}

/**
 * What pg-boss (a dev dependency, for the bench's outside reference only) says it needs, when
 * this Node is older: pg-boss 12 declares Node 22.12, while this package and its tests run on 20.19.
 */
export function pgBossNodeWarning(): string | undefined {
  let pkg: { version: string; engines?: { node?: string } };
  try {
    pkg = JSON.parse(readFileSync(new URL('../node_modules/pg-boss/package.json', import.meta.url), 'utf8'));
  } catch {
    return 'pg-boss is not installed: its reference figure will be recorded as failed';
  }
  const wanted = /^>=\s*(\d+)\.(\d+)/.exec(pkg.engines?.node ?? '');
  if (!wanted) return undefined;
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const [needMajor, needMinor] = [Number(wanted[1]), Number(wanted[2])];
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return (
    `pg-boss ${pkg.version} (the outside reference) declares Node ${pkg.engines!.node}, and this is Node ${process.versions.node}: ` +
    'it is measured anyway, and if it fails, its rows say so and the rest of the bench goes on'
  );
}

/** pg-boss with the same number of jobs in its queue, half of them completed; its fetch of one job. */
async function benchPgBoss(url: string, admin: Sql, jobs: number, runs: number): Promise<Summary> {
  step(`pg-boss ${jobs}: installing and loading`);
  // Loaded here, so that a pg-boss that cannot load on this Node fails its rows, not the bench.
  const { PgBoss } = await import('pg-boss');
  await admin.unsafe('drop schema if exists pgboss_bench cascade');
  const boss = new PgBoss({ connectionString: url, schema: 'pgboss_bench', supervise: false, schedule: false, max: 2 });
  boss.on('error', () => {});
  await boss.start();
  try {
    await boss.createQueue('bench');
    const batch = 10_000;
    const tick = counter('pg-boss insert', jobs);
    for (let done = 0; done < jobs; done += batch) {
      const size = Math.min(batch, jobs - done);
      await boss.insert('bench', Array.from({ length: size }, (_, i) => ({ data: { n: done + i, task: 'bench.task' } })));
      tick(done + size);
    }
    // Half finished, as in AsyncMQ's table: completed jobs stay in pg-boss's table too.
    await admin.unsafe(`update pgboss_bench.job set state = 'completed', completed_on = now() where name = 'bench' and (data->>'n')::int % 2 = 0`);
    await admin.unsafe('analyze pgboss_bench.job');
    step(`pg-boss ${jobs}: fetch, ${runs} runs`);
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) samples.push(await timed(() => boss.fetch('bench')));
    return summarize(samples);
  } finally {
    await boss.stop({ graceful: false, close: true });
    await admin.unsafe('drop schema if exists pgboss_bench cascade');
  }
}
