/**
 * Startup cost and safety, this package against the seed's approach (a pool, a transaction,
 * AsyncMQ's six CREATE ... IF NOT EXISTS statements) through the same driver.
 */
import postgres, { type Sql } from 'postgres';
import { installOrDropPostgresBackend, type PoolOptions } from '../src/index.js';
import { seedInstallSql } from '../test/support/seed.js';
import { counter, step } from './progress.js';
import { interleave, summarize, type Summary } from './stats.js';

const quiet = { onnotice: () => {} } as const;

/**
 * AsyncMQ's install_or_drop_postgres_backend, as it runs: one transaction, its SQL as one
 * script. With the driver options this package uses (`fetch_types: false`, as asyncpg, which
 * fetches no types up front, effectively does too): postgres.js's default would add a round
 * trip and a scan of pg_type to this side only.
 */
export async function seedInstall(url: string, options: postgres.Options<Record<string, never>> = {}): Promise<void> {
  const sql = postgres(url, { ...quiet, fetch_types: false, ...options });
  try {
    await sql.begin((tx) => tx.unsafe(seedInstallSql()));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** `pool`: postgres.js options for the installer's own connection, as for seedInstall. */
export function oursInstall(url: string, pool: Record<string, unknown> = {}) {
  return installOrDropPostgresBackend({ connectionString: url, env: {}, pool: pool as PoolOptions });
}

/** The least any startup check can do: connect, ask the catalog once, disconnect. */
async function floor(url: string): Promise<void> {
  const sql = postgres(url, { ...quiet, max: 1, fetch_types: false });
  try {
    await sql`select count(*) from pg_class where relname = any(string_to_array(${'asyncmq_jobs,asyncmq_repeatables,asyncmq_cancelled_jobs'}, ','))`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export interface StartupResults {
  noop: { ours: Summary; seed: Summary; floor: Summary };
  fresh: { ours: Summary; seed: Summary };
  contention: { installers: number; rounds: number; ours: { failures: number; example?: string }; seed: { failures: number; example?: string } };
  liveQueue: LiveQueueResults;
}

export async function benchNoop(url: string, runs: number): Promise<StartupResults['noop']> {
  step(`no-op install on an installed database, ${runs} runs each, interleaved`);
  await oursInstall(url);
  const samples = await interleave(runs, { ours: () => oursInstall(url), seed: () => seedInstall(url), floor: () => floor(url) }, counter('no-op', runs));
  return { ours: summarize(samples.ours), seed: summarize(samples.seed), floor: summarize(samples.floor) };
}

export async function benchFresh(url: string, admin: Sql, runs: number): Promise<StartupResults['fresh']> {
  step(`fresh install, ${runs} runs each, interleaved, each in a new namespace`);
  const schemas: string[] = [];
  const fresh = async (prefix: string, i: number) => {
    const name = `fresh_${prefix}_${i}`;
    await admin.unsafe(`create schema ${name}`);
    schemas.push(name);
    return { connection: { search_path: name } };
  };
  // Namespaces are made before each timed run, outside the timing.
  const ours: number[] = [];
  const seed: number[] = [];
  const tick = counter('fresh', runs);
  for (let i = 0; i < runs; i++) {
    const a = await fresh('ours', i);
    const b = await fresh('seed', i);
    const samples = await interleave(1, { ours: () => oursInstall(url, a), seed: () => seedInstall(url, b) });
    ours.push(...samples.ours);
    seed.push(...samples.seed);
    tick(i + 1);
  }
  for (const name of schemas) await admin.unsafe(`drop schema ${name} cascade`);
  return { ours: summarize(ours), seed: summarize(seed) };
}

export async function benchContention(url: string, admin: Sql, installers: number, rounds: number): Promise<StartupResults['contention']> {
  step(`contention: ${installers} installers at once on a fresh namespace, ${rounds} rounds each`);
  const result = { installers, rounds, ours: { failures: 0 } as { failures: number; example?: string }, seed: { failures: 0 } as { failures: number; example?: string } };
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of [
      ['ours', (o: Record<string, unknown>) => oursInstall(url, { ...o, max: 1 })],
      ['seed', (o: Record<string, unknown>) => seedInstall(url, { ...o, max: 1 })],
    ] as const) {
      const schema = `contention_${name}_${round}`;
      await admin.unsafe(`create schema ${schema}`);
      const outcomes = await Promise.allSettled(Array.from({ length: installers }, () => run({ connection: { search_path: schema } })));
      const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      result[name].failures += failed.length;
      result[name].example ??= failed[0] ? String((failed[0].reason as Error).message).split('\n')[0] : undefined;
      await admin.unsafe(`drop schema ${schema} cascade`);
    }
    step(`contention round ${round + 1}/${rounds}: ours ${result.ours.failures} failures so far, seed ${result.seed.failures}`);
  }
  return result;
}

export interface LiveQueuePhase {
  writesPerSecond: number;
  p99WriteMs: number;
  maxWriteMs: number;
  installs: number;
}

export interface LiveQueueResults {
  seconds: number;
  writers: number;
  baseline: LiveQueuePhase;
  ours: LiveQueuePhase;
  seed: LiveQueuePhase;
}

/**
 * A live queue: a few writers enqueue as fast as they can (each upsert its own transaction) and
 * one worker holds each job's transaction open for 100 ms, as a job runner does; beside them an
 * installer starts every 100 ms, as restarts do. Throughput and write latency per phase.
 */
export async function benchLiveQueue(url: string, seconds: number, writers: number, rounds: number): Promise<LiveQueueResults> {
  step(`live queue: ${writers} writers and a worker for ${seconds}s per phase, ${rounds} rounds of baseline/ours/seed`);
  await oursInstall(url);
  const totals = { baseline: [] as LiveQueuePhase[], ours: [] as LiveQueuePhase[], seed: [] as LiveQueuePhase[] };
  let sequence = 0;
  for (let round = 0; round < rounds; round++) {
    for (const phase of ['baseline', 'ours', 'seed'] as const) {
      const pool = postgres(url, { ...quiet, max: writers + 1 });
      const deadline = Date.now() + seconds * 1000;
      const latencies: number[] = [];
      const writer = async () => {
        while (Date.now() < deadline) {
          const start = performance.now();
          const id = `live-${sequence++}`;
          await pool`insert into asyncmq_jobs (queue_name, job_id, data, status) values ('live', ${id}, ${pool.json({ id, task: 't' })}, 'waiting')
                     on conflict (job_id) do update set data = excluded.data, status = excluded.status, updated_at = now()`;
          latencies.push(performance.now() - start);
        }
      };
      const worker = async () => {
        while (Date.now() < deadline) {
          await pool.begin(async (tx) => {
            await tx`update asyncmq_jobs set status = 'active', updated_at = now() where id = (
                       select id from asyncmq_jobs where queue_name = 'live' and status = 'waiting'
                       order by created_at limit 1 for update skip locked)`;
            await tx`select pg_sleep(0.1)`;
          });
        }
      };
      let installs = 0;
      // A start every 100 ms: a busy rolling deploy, paced so that the installer's own CPU use
      // (each start connects and authenticates anew) does not crowd out the writers on a small machine.
      const installer = async () => {
        while (Date.now() < deadline) {
          const started = Date.now();
          if (phase === 'ours') await oursInstall(url, { max: 1 });
          else await seedInstall(url, { max: 1 });
          installs++;
          await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
        }
      };
      await Promise.all([...Array.from({ length: writers }, writer), worker(), ...(phase === 'baseline' ? [] : [installer()])]);
      await pool.end({ timeout: 5 });
      const sorted = latencies.sort((a, b) => a - b);
      totals[phase].push({
        writesPerSecond: latencies.length / seconds,
        p99WriteMs: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
        maxWriteMs: sorted[sorted.length - 1] ?? 0,
        installs,
      });
      step(`live queue round ${round + 1}/${rounds}, ${phase}: ${Math.round(latencies.length / seconds)} writes/s, ${installs} installs`);
    }
  }
  const merge = (phases: LiveQueuePhase[]): LiveQueuePhase => ({
    writesPerSecond: phases.reduce((s, p) => s + p.writesPerSecond, 0) / phases.length,
    p99WriteMs: Math.max(...phases.map((p) => p.p99WriteMs)),
    maxWriteMs: Math.max(...phases.map((p) => p.maxWriteMs)),
    installs: phases.reduce((s, p) => s + p.installs, 0),
  });
  return { seconds: seconds * rounds, writers, baseline: merge(totals.baseline), ours: merge(totals.ours), seed: merge(totals.seed) };
}
