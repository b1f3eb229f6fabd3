/**
 * What each index profile costs AsyncMQ 0.9's writers: enqueues per second, job updates per
 * second through a worker's statements, and how many of those updates were HOT (heap-only:
 * no index touched, because no indexed column changed and the page had room). Every statement
 * is AsyncMQ 0.9's own, verbatim; each profile's table starts from the same rows.
 */
import postgres, { type Sql } from 'postgres';
import { asJson, asyncmq09, asyncmq09Job } from '../test/support/asyncmq09.js';
import { installProfile, load09, PROFILES_09, queueOfJob, schemaOf, type Profile09 } from './asyncmq09.js';
import { step } from './progress.js';

const quiet = { onnotice: () => {} } as const;

export interface WriteCost {
  /** New jobs per second (job-upsert), 4 writers. */
  enqueuesPerSecond: number;
  /** Updates per second of the jobs a worker runs (four a job), 4 workers. */
  updatesPerSecond: number;
  /** HOT updates among all updates of the jobs table during the workers' phase. */
  hotShare: number;
  /** The same among heartbeats alone (updates of `data`). */
  heartbeatHotShare: number;
}

export interface WriteCostResults {
  jobs: number;
  seconds: number;
  profiles: Record<Profile09, WriteCost>;
}

async function updateCounts(admin: Sql, schema: string): Promise<{ updates: number; hot: number }> {
  // Before Postgres 15 the counts come through the statistics collector, a moment later.
  const [{ old }] = (await admin`select current_setting('server_version_num')::int < 150000 as old`) as unknown as [{ old: boolean }];
  if (old) await new Promise((r) => setTimeout(r, 1500));
  const [row] = (await admin.unsafe(
    `select n_tup_upd::int as updates, n_tup_hot_upd::int as hot from pg_stat_user_tables where schemaname = $1 and relname = 'asyncmq_jobs'`,
    [schema],
  )) as unknown as [{ updates: number; hot: number }];
  return row;
}

/**
 * Runs `writers` loops of `body` for `seconds`, each on a connection of its own; returns how
 * many times they ran. A session's counts reach pg_stat_user_tables when a transaction of it
 * ends, at most once a second: each writer makes its session report them before it stops
 * (pg_stat_force_next_flush, Postgres 15 and later), and otherwise the end of the session does.
 */
async function during(url: string, schema: string, writers: number, seconds: number, body: (sql: Sql, writer: number, n: number) => Promise<void>, next: { n: number }): Promise<number> {
  const sql = postgres(url, { ...quiet, max: writers, connection: { search_path: schema } });
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  const first = next.n;
  try {
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const session = await sql.reserve();
        try {
          for (let n = first; Date.now() < deadline; n++) {
            await body(session as unknown as Sql, writer, n);
            done++;
            next.n = Math.max(next.n, n + 1);
          }
          const [{ flush }] = (await session`select current_setting('server_version_num')::int >= 150000 as flush`) as unknown as [{ flush: boolean }];
          if (flush) {
            await session`select pg_stat_force_next_flush()`;
            await session`select 1`;
          }
        } finally {
          session.release();
        }
      }),
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
  return done;
}

export async function benchWriteCost(url: string, admin: Sql, jobs: number, seconds: number, rounds = 3): Promise<WriteCostResults> {
  const writers = 4;
  const now = () => Date.now() / 1000;
  // Each worker takes waiting jobs of its own, so nothing waits on another's row lock: the
  // lives go through the first of each worker's slots (again from the start when they run
  // out), the heartbeats alone through the last 500.
  const slots = Math.floor(jobs / (10 * writers));
  const waiting = (w: number, slot: number) => {
    const g = 10 * (writers * slot + w) + 7; // g % 10 = 7: a waiting job
    return { queue: queueOfJob(g), id: `job-${g}` };
  };
  const lifeSlot = (n: number) => n % (slots - 500);
  const beatSlot = (n: number) => slots - 1 - (n % 500);
  // A worker's life of a job it runs, by key: set active (update_job_state: load, then save),
  // two heartbeats, complete (the lifecycle's check and upsert): four updates.
  const life = async (sql: Sql, w: number, n: number) => {
    const { queue, id } = waiting(w, lifeSlot(n));
    const [row] = await sql.unsafe(asyncmq09('job-load'), [queue, id]);
    const job = { ...(row?.data as object), status: 'active' };
    await sql.unsafe(asyncmq09('job-upsert'), [queue, id, asJson(job), 'active']);
    await sql.unsafe(asyncmq09('job-heartbeat'), [queue, id, now()]);
    await sql.unsafe(asyncmq09('job-heartbeat'), [queue, id, now()]);
    await sql.unsafe('begin');
    await sql.unsafe(asyncmq09('lifecycle-is-cancelled'), [queue, id]);
    await sql.unsafe(asyncmq09('lifecycle-upsert'), [queue, id, asJson({ ...job, status: 'completed', result: 1 }), 'completed', null]);
    await sql.unsafe('commit');
  };

  const totals = Object.fromEntries(
    PROFILES_09.map((p) => [p, { enqueues: 0, lives: 0, updates: 0, hot: 0, beats: 0, beatsHot: 0, next: { n: 0 }, beat: { n: 0 }, added: { n: 0 } }]),
  ) as Record<Profile09, { enqueues: number; lives: number; updates: number; hot: number; beats: number; beatsHot: number; next: { n: number }; beat: { n: number }; added: { n: number } }>;
  for (const profile of PROFILES_09) {
    const schema = await installProfile(url, admin, profile);
    step(`write cost, ${profile}: loading ${jobs} jobs`);
    await load09(admin, schema, jobs);
  }
  const slice = seconds / rounds;
  try {
    for (let round = 0; round < rounds; round++) {
      // Interleaved by round, so a noisy stretch of the machine lands on every profile.
      for (const profile of round % 2 === 0 ? PROFILES_09 : [...PROFILES_09].reverse()) {
        const schema = schemaOf(profile);
        const t = totals[profile];
        t.enqueues += await during(url, schema, writers, slice, async (sql, w, n) => {
          const id = `w${w}-${n}`;
          await sql.unsafe(asyncmq09('job-upsert'), ['queue-0', id, asJson(asyncmq09Job(id)), 'waiting']);
        }, t.added);
        const before = await updateCounts(admin, schema);
        t.lives += await during(url, schema, writers, slice, life, t.next);
        const after = await updateCounts(admin, schema);
        t.updates += after.updates - before.updates;
        t.hot += after.hot - before.hot;
        // Heartbeats alone, on jobs of their own (past those the lives take).
        await during(url, schema, writers, slice, async (sql, w, n) => {
          const { queue, id } = waiting(w, beatSlot(n));
          await sql.unsafe(asyncmq09('job-heartbeat'), [queue, id, now()]);
        }, t.beat);
        const beaten = await updateCounts(admin, schema);
        t.beats += beaten.updates - after.updates;
        t.beatsHot += beaten.hot - after.hot;
        step(`write cost, round ${round + 1}/${rounds}, ${profile}: ${t.enqueues} enqueues, ${t.lives} jobs run, HOT ${t.hot}/${t.updates}, heartbeats HOT ${t.beatsHot}/${t.beats}`);
      }
    }
  } finally {
    for (const profile of PROFILES_09) await admin.unsafe(`drop schema if exists ${schemaOf(profile)} cascade`);
  }
  const profiles = Object.fromEntries(
    PROFILES_09.map((p) => {
      const t = totals[p];
      return [
        p,
        {
          enqueuesPerSecond: t.enqueues / seconds,
          updatesPerSecond: (t.lives * 4) / seconds,
          hotShare: t.updates ? t.hot / t.updates : 0,
          heartbeatHotShare: t.beats ? t.beatsHot / t.beats : 0,
        },
      ];
    }),
  ) as Record<Profile09, WriteCost>;
  return { jobs, seconds, profiles };
}
