/**
 * AsyncMQ 0.9's own statements, verbatim (test/fixtures/asyncmq-0.9-statements.sql), against a
 * 0.9 schema under each index profile, side by side: one namespace per profile holding the same
 * rows, reached through `search_path` as AsyncMQ reaches its unqualified tables, with prepared
 * statements as asyncpg uses them. Every statement that changes rows runs in a transaction that
 * is rolled back, so each run meets the same table.
 *
 * Beside the shipped profiles, `by-status` is measured: what `asyncmq-0.9` was before it indexed
 * AsyncMQ's casts, one index (status, queue_name, created_at). Against it, `asyncmq-0.9` shows
 * what the two expression indexes give the reads and cost the writes. Before any timing, every
 * profile's dequeue must claim the job `queue`'s claims, queue by queue, under custom and generic
 * plans (the index must not change which job AsyncMQ gets).
 */
import postgres, { type Sql } from 'postgres';
import { installOrDropPostgresBackend } from '../src/index.js';
import { asJson, asyncmq09, asyncmq09Job, type Asyncmq09Statement } from '../test/support/asyncmq09.js';
import { counter, step } from './progress.js';
import { interleave, summarize, type Summary } from './stats.js';

export const PROFILES_09 = ['seed', 'queue', 'by-status', 'asyncmq-0.9'] as const;
export type Profile09 = (typeof PROFILES_09)[number];

const QUEUES = 8;
/** Active jobs at every size: 50 per queue. */
const ACTIVE = 50 * QUEUES;
const quiet = { onnotice: () => {} } as const;

/** `by-status`: `asyncmq-0.9` without AsyncMQ's casts, as that profile was before it indexed them. */
export const BY_STATUS_INDEXES = [
  'drop index idx_asyncmq_jobs_by_priority',
  'drop index idx_asyncmq_jobs_by_delay',
  'create index idx_asyncmq_jobs_by_status on asyncmq_jobs (status, queue_name, created_at)',
];

export const schemaOf = (profile: Profile09) => `amq09_${profile.replace(/\W/g, '_')}`;

/** A 0.9 schema under a profile, in a namespace of its own. */
export async function installProfile(url: string, admin: Sql, profile: Profile09): Promise<string> {
  const schema = schemaOf(profile);
  await admin.unsafe(`drop schema if exists ${schema} cascade`);
  await installOrDropPostgresBackend({
    connectionString: url,
    env: {},
    settings: { postgresSchema: schema, postgresSchemaVersion: '0.9', postgresIndexes: profile === 'by-status' ? 'asyncmq-0.9' : profile },
  });
  if (profile === 'by-status') for (const statement of BY_STATUS_INDEXES) await admin.unsafe(`set search_path to ${schema}; ${statement}`);
  await admin.unsafe('reset search_path');
  return schema;
}

/** The queue of job number g: independent of its status, which follows g % 10. */
const queueSql = (g: string) => `'queue-' || ((${g} / 10) % ${QUEUES})`;
export const queueOfJob = (g: number) => `queue-${Math.floor(g / 10) % QUEUES}`;

/**
 * Jobs as AsyncMQ 0.9 stores them (`Job.to_dict()` in `data`) over 8 queues: half completed,
 * 30 % waiting, 10 % delayed (1 % of those due), 10 % failed; priorities 1 to 9, so the
 * dequeue's order is AsyncMQ's and not merely the age. At every size, 50 active jobs per
 * queue with a recent heartbeat (as many as its workers run at once, not a share of the
 * backlog), and 100 cancellation marks per queue (AsyncMQ keeps a mark after deleting the job
 * it cancels, and its dequeue probes each mark of the queue); 64 repeatables per queue, half of
 * them due, one in eight paused.
 */
export async function load09(admin: Sql, schema: string, jobs: number): Promise<void> {
  const base = JSON.stringify(asyncmq09Job('x'));
  await admin.unsafe(`
    insert into ${schema}.asyncmq_jobs (queue_name, job_id, data, status, created_at)
    select ${queueSql('g')}, 'job-' || g,
      '${base}'::jsonb || jsonb_build_object('id', 'job-' || g, 'args', jsonb_build_array(g), 'status', s, 'priority', 1 + (g / 10) % 9,
        'created_at', extract(epoch from now()) - (${jobs} - g),
        'delay_until', case when s = 'delayed' then extract(epoch from now()) + (g % 10000) - 100 end,
        'result', case when s = 'completed' then to_jsonb(g) end)
        || case when s = 'active' then jsonb_build_object('active_since', extract(epoch from now()) - 5, 'heartbeat', extract(epoch from now()) - 1) else '{}'::jsonb end,
      s, now() - make_interval(secs => ${jobs} - g)
    from generate_series(1, ${jobs}) g,
    lateral (select case when g % 2 = 0 then 'completed' when g % 10 = 1 then 'delayed' when g % 10 = 3 then 'failed'
                         when g % 10 = 5 and g < ${ACTIVE * 10} then 'active' else 'waiting' end as s) st`);
  await admin.unsafe(`insert into ${schema}.asyncmq_cancelled_jobs select 'queue-' || (g % ${QUEUES}), 'cancelled-' || g from generate_series(1, ${100 * QUEUES}) g`);
  await admin.unsafe(`
    insert into ${schema}.asyncmq_repeatables (queue_name, job_def, next_run, paused)
    select 'queue-' || (i % ${QUEUES}), jsonb_build_object('task_id', 'bench.repeat', 'args', jsonb_build_array(i), 'every', 60),
      now() + make_interval(mins => (i % 16) - 8), i % 8 = 0
    from generate_series(1, ${64 * QUEUES}) i`);
  for (const table of ['asyncmq_jobs', 'asyncmq_cancelled_jobs', 'asyncmq_repeatables']) await admin.unsafe(`vacuum analyze ${schema}.${table}`);
}

export const OPERATIONS_09 = {
  dequeue: 'dequeue (purge cancelled, claim)',
  dequeueGeneric: 'dequeue, generic plans (a pooler sharing statements)',
  complete: 'complete (lifecycle)',
  heartbeat: 'job heartbeat',
  enqueue: 'enqueue (upsert)',
  promote: 'promote due delayed jobs',
  promoteGeneric: 'promote due delayed jobs, generic plans',
  stalled: 'stalled check (all queues)',
  repeatables: 'due repeatables',
  stats: 'queue stats (3 counts)',
  resolveDependency: "the worker's resolve_dependency scan",
} as const;
export type Operation09 = keyof typeof OPERATIONS_09;

export interface Statements09Results {
  jobs: number;
  operations: Record<Operation09, Record<Profile09, Summary>>;
  /** The dequeue's claim compared with `queue`'s, per queue and plan kind: how many, and those that differ. */
  sameJob: { checks: number; differing: string[] };
}

/** Rolls back whatever the body did: the table stays as loaded. */
async function rolledBack(sql: Sql, body: (tx: postgres.TransactionSql) => Promise<unknown>): Promise<void> {
  const undo = new Error('roll back');
  await sql.begin(async (tx) => {
    await body(tx);
    throw undo;
  }).catch((error: unknown) => {
    if (error !== undo) throw error;
  });
}

export async function benchStatements09(url: string, admin: Sql, jobs: number, runs: { fast: number; slow: number }): Promise<Statements09Results> {
  for (const profile of PROFILES_09) {
    step(`AsyncMQ 0.9 statements, ${jobs} jobs: loading ${schemaOf(profile)}`);
    await load09(admin, await installProfile(url, admin, profile), jobs);
  }
  const clients = Object.fromEntries(
    PROFILES_09.map((p) => [p, postgres(url, { ...quiet, max: 2, connection: { search_path: schemaOf(p) } })]),
  ) as Record<Profile09, Sql>;
  const generic = Object.fromEntries(
    PROFILES_09.map((p) => [p, postgres(url, { ...quiet, max: 1, connection: { search_path: schemaOf(p), plan_cache_mode: 'force_generic_plan' } })]),
  ) as Record<Profile09, Sql>;
  const s = (name: Asyncmq09Statement) => asyncmq09(name);
  const queueOf = (i: number) => `queue-${i % QUEUES}`;
  // An active job (g % 10 = 5 below ACTIVE * 10) and its queue.
  const active = (i: number) => {
    const g = 5 + 10 * ((i * 7919) % ACTIVE);
    return { queue: queueOfJob(g), id: `job-${g}` };
  };
  const now = () => Date.now() / 1000;
  let sequence = 0;

  const dequeue = (sql: Sql, i: number) =>
    rolledBack(sql, async (tx) => {
      await tx.unsafe(s('dequeue-purge-cancelled'), [queueOf(i), 'waiting']);
      await tx.unsafe(s('dequeue-claim'), [queueOf(i), 'waiting', 'active', now()]);
    });
  const operations: Record<Operation09, { run: (sql: Sql, i: number, profile: Profile09) => Promise<unknown>; slow?: boolean; few?: boolean }> = {
    dequeue: { run: dequeue, slow: true },
    dequeueGeneric: { run: (_sql, i, profile) => dequeue(generic[profile], i), slow: true },
    complete: {
      run: (sql, i) =>
        rolledBack(sql, async (tx) => {
          const { queue, id } = active(i);
          await tx.unsafe(s('lifecycle-is-cancelled'), [queue, id]);
          await tx.unsafe(s('lifecycle-upsert'), [queue, id, asJson(asyncmq09Job(id, { status: 'completed', result: 1 })), 'completed', null]);
        }),
    },
    heartbeat: { run: (sql, i) => rolledBack(sql, (tx) => tx.unsafe(s('job-heartbeat'), [active(i).queue, active(i).id, now()])) },
    enqueue: {
      run: (sql, i) =>
        rolledBack(sql, (tx) => {
          const id = `new-${sequence++}`;
          return tx.unsafe(s('job-upsert'), [queueOf(i), id, asJson(asyncmq09Job(id)), 'waiting']);
        }),
    },
    promote: { run: (sql, i) => rolledBack(sql, (tx) => tx.unsafe(s('promote-due-delayed'), [queueOf(i), 'delayed', now(), 'waiting'])), slow: true },
    promoteGeneric: {
      run: (_sql, i, profile) => rolledBack(generic[profile], (tx) => tx.unsafe(s('promote-due-delayed'), [queueOf(i), 'delayed', now(), 'waiting'])),
      slow: true,
    },
    stalled: { run: (sql) => sql.unsafe(s('fetch-stalled'), [now() - 30, 'active']) },
    repeatables: { run: (sql, i) => sql.unsafe(s('due-repeatables'), [queueOf(i)]) },
    stats: {
      run: async (sql, i) => {
        for (const count of ['count-waiting', 'count-delayed', 'count-failed'] as const) await sql.unsafe(s(count), [queueOf(i)]);
      },
      slow: true,
    },
    resolveDependency: { run: (sql, i) => sql.unsafe(s('jobs-with-dependencies'), [queueOf(i)]), few: true },
  };

  const results = {} as Statements09Results['operations'];
  let sameJob: Statements09Results['sameJob'];
  try {
    sameJob = await sameJobs(clients, generic);
    step(`AsyncMQ 0.9 statements, ${jobs} jobs: the same job claimed under every profile in ${sameJob.checks - sameJob.differing.length} of ${sameJob.checks} checks`);
    for (const [name, op] of Object.entries(operations) as [Operation09, (typeof operations)[Operation09]][]) {
      const count = op.few ? Math.min(10, runs.slow) : op.slow ? runs.slow : runs.fast;
      step(`AsyncMQ 0.9 statements, ${jobs} jobs: ${OPERATIONS_09[name]}, ${count} runs per profile, interleaved`);
      const samples = await interleave(
        count,
        Object.fromEntries(PROFILES_09.map((p) => [p, (i: number) => op.run(clients[p], i, p)])) as Record<Profile09, (i: number) => Promise<unknown>>,
        counter(name, count),
      );
      results[name] = Object.fromEntries(PROFILES_09.map((p) => [p, summarize(samples[p])])) as Record<Profile09, Summary>;
    }
  } finally {
    for (const sql of [...Object.values(clients), ...Object.values(generic)]) await sql.end({ timeout: 5 });
    for (const profile of PROFILES_09) await admin.unsafe(`drop schema if exists ${schemaOf(profile)} cascade`);
  }
  return { jobs, operations: results, sameJob };
}

/**
 * Which job each profile's dequeue claims, queue by queue, with custom and with generic plans
 * (rolled back), against `queue`'s: an index of AsyncMQ's ORDER BY must hand over the job the
 * sort would. Ties are impossible here: created_at is unique within a queue.
 */
async function sameJobs(
  clients: Record<Profile09, Sql>,
  generic: Record<Profile09, Sql>,
): Promise<Statements09Results['sameJob']> {
  const differing: string[] = [];
  let checks = 0;
  for (const [plans, sessions] of [['custom', clients], ['generic', generic]] as const) {
    for (let q = 0; q < QUEUES; q++) {
      const claimed = {} as Record<Profile09, string>;
      for (const profile of PROFILES_09) {
        await rolledBack(sessions[profile], async (tx) => {
          const [row] = await tx.unsafe(asyncmq09('dequeue-claim'), [`queue-${q}`, 'waiting', 'active', Date.now() / 1000]);
          claimed[profile] = String((row?.data as { id?: string } | undefined)?.id);
        });
      }
      for (const profile of PROFILES_09) {
        checks++;
        if (claimed[profile] !== claimed.queue) differing.push(`queue-${q}, ${plans} plans: ${profile} claimed ${claimed[profile]}, queue ${claimed.queue}`);
      }
    }
  }
  return { checks, differing };
}
