/**
 * The upgrade beside a live queue: a jobs table made by AsyncMQ 0.1's own SQL and holding many
 * jobs, upgraded in place to 0.9 while writers keep writing, each on its own connection.
 *
 * Each round makes the tables anew, lets the writers run a baseline phase as long as the last
 * upgrade took, then starts the upgrade beside them and stops them when it returns. A monitor
 * samples what every session is waiting for and, where the server runs on this machine, the
 * CPU each process used, so a slowdown can be told apart: CPU taken by the index build, or
 * writers waiting for a lock.
 *
 * The writers write what works on both sides of the 0.8 step's key swap. AsyncMQ up to 0.7
 * upserts with ON CONFLICT (job_id), which fails once the key is (queue_name, job_id); 0.8 and
 * later use ON CONFLICT (queue_name, job_id), which fails before. So a new job is a plain
 * INSERT of a fresh id, and a job saved again is an UPDATE by (queue_name, job_id).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres, { type Sql } from 'postgres';
import { installOrDropPostgresBackend } from '../src/index.js';
import { asyncmqInstallSql } from '../test/support/seed.js';
import { step } from './progress.js';

const NAMESPACE = 'upgrade_bench';
const JOBS_TABLE = `${NAMESPACE}.asyncmq_jobs`;
const QUEUES = 8;
const REPEATABLES = 1000;
const APP = { writer: 'asyncmq-bench-writer', upgrade: 'asyncmq-bench-upgrade', monitor: 'asyncmq-bench-monitor' } as const;
const SAMPLE_MS = 50;
const quiet = { onnotice: () => {} } as const;

/** CPU in cores, averaged over a phase, by who used it. */
export interface CpuCores {
  /** The machine's busy time, every process. */
  busy: number;
  /** The writers' server processes. */
  writers: number;
  /** The upgrade's server processes, parallel index-build workers included. */
  upgrade: number;
  /** This benchmark's own process (the writers' client side) and the monitor's server process. */
  bench: number;
  /** The rest: Postgres's background processes and everything else running on the machine. */
  other: number;
}

export interface PhaseFigures {
  seconds: number;
  writes: number;
  writesPerSecond: number;
  p99WriteMs: number;
  maxWriteMs: number;
  errors: number;
  /** Share of the writers' samples in which a writer waited for a heavyweight lock. */
  lockWaitShare: number;
  /** Share of the writers' samples by what the writer was doing ("on CPU", "idle (client)", "IO:WALSync", ...). */
  writerStates: Record<string, number>;
  /** Null where the server's processes cannot be read from this machine. */
  cpu: CpuCores | null;
  /** WAL the server wrote, all sessions: the writers' commits wait for it to be flushed. */
  walMBPerSecond: number;
}

export interface UpgradePhaseFigures extends PhaseFigures {
  /** The CREATE UNIQUE INDEX CONCURRENTLY of the 0.8 step, from the moment it was sent to its end. */
  build: PhaseFigures;
  /**
   * The most parallel workers of the upgrade's build seen at once (every 50 ms): 0 when the build
   * session holds max_parallel_maintenance_workers at 0, as it does to leave the cores to writers.
   */
  buildParallelWorkers: number;
  /** The writers' throughput through the rest of the upgrade: catalog reads, locks, the key swap, the new tables. */
  restWritesPerSecond: number;
  /** The longest single write: when it ended (seconds into the upgrade), which of the upgrade's statements ran meanwhile, what the writers waited for. */
  longestStall: { ms: number; endedAtSecond: number; during: string[]; writersWaitedFor: string[] };
  /**
   * The 0.8 step's transaction from its ALTER TABLE ... ADD CONSTRAINT ... USING INDEX to the end
   * of its commit: the only time the upgrade holds a lock that stops writers. The longest write
   * that overlapped it.
   */
  keySwap: { lockedMs: number; longestWriteMs: number };
  firstError?: string;
}

export interface UpgradeRound {
  baseline: PhaseFigures;
  upgrade: UpgradePhaseFigures;
}

export interface UpgradeResults {
  jobs: number;
  writers: number;
  cores: number;
  /** The server's max_parallel_maintenance_workers, what a build would use unless its session set another. */
  serverMaintenanceWorkers?: string;
  /** The same upgrade with nobody writing, as the first round's yardstick. */
  alone: { seconds: number; buildSeconds: number; upgradeCores: number | null; buildParallelWorkers?: number };
  rounds: UpgradeRound[];
}

// ---------------------------------------------------------------------------------------------
// The tables

/** AsyncMQ 0.1's tables by its own SQL, filled in a few statements: half finished, over 8 queues. */
async function load(admin: Sql, jobs: number): Promise<void> {
  await admin.unsafe(`drop schema if exists ${NAMESPACE} cascade`);
  await admin.unsafe(`create schema ${NAMESPACE}`);
  await admin.begin(async (tx) => {
    await tx.unsafe(`set local search_path to ${NAMESPACE}`);
    await tx.unsafe(asyncmqInstallSql('0.1'));
  });
  const chunk = Math.ceil(jobs / 4);
  for (let from = 1; from <= jobs; from += chunk) {
    const to = Math.min(jobs, from + chunk - 1);
    await admin.unsafe(`
      insert into ${JOBS_TABLE} (queue_name, job_id, data, status, delay_until, created_at)
      select 'queue-' || (g % ${QUEUES}), 'job-' || g,
        jsonb_build_object('id', 'job-' || g, 'task', 'bench.task', 'args', jsonb_build_array(g), 'kwargs', '{}'::jsonb,
          'status', s, 'delay_until', d, 'retries', 0, 'max_retries', 3),
        s, d, now() - make_interval(secs => ${jobs} - g)
      from generate_series(${from}, ${to}) g,
      lateral (select case when g % 2 = 0 then 'completed' when g % 10 = 1 then 'delayed' when g % 10 = 3 then 'failed' else 'waiting' end as s) st,
      lateral (select case when st.s = 'delayed' then extract(epoch from now()) + (g % 1000) - 500 end as d) dl`);
  }
  await admin.unsafe(`
    insert into ${NAMESPACE}.asyncmq_repeatables (queue_name, job_def, next_run, paused)
    select 'queue-' || (g % ${QUEUES}), jsonb_build_object('task_id', 'bench.repeat-' || g, 'every', 60 + g), now() + make_interval(secs => g), g % 10 = 0
    from generate_series(1, ${REPEATABLES}) g`);
  await admin.unsafe(`insert into ${NAMESPACE}.asyncmq_cancelled_jobs select 'queue-' || (g % ${QUEUES}), 'job-' || g from generate_series(1, ${jobs}, 100) g`);
  // A table that has been vacuumed, as a long-lived one has; and no checkpoint of the load's
  // writes left to land in the middle of a measured phase.
  for (const table of ['asyncmq_jobs', 'asyncmq_repeatables', 'asyncmq_cancelled_jobs']) await admin.unsafe(`vacuum analyze ${NAMESPACE}.${table}`);
  await admin.unsafe('checkpoint');
}

async function rowCounts(admin: Sql): Promise<Record<string, number>> {
  const [counts] = (await admin.unsafe(`select
      (select count(*) from ${JOBS_TABLE})::int as jobs,
      (select count(*) from ${NAMESPACE}.asyncmq_repeatables)::int as repeatables,
      (select count(*) from ${NAMESPACE}.asyncmq_cancelled_jobs)::int as cancelled`)) as unknown as [Record<string, number>];
  return counts;
}

// ---------------------------------------------------------------------------------------------
// CPU, read from /proc when the server runs on this machine

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Seconds of CPU a process has used, or undefined when it is not a Postgres process of this machine. */
function processCpu(pid: number): number | undefined {
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('postgres')) return undefined;
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Seconds of CPU the whole machine has been busy. */
function machineBusy(): number | undefined {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) / CLK_TCK;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The monitor

type Role = 'writer' | 'upgrade' | 'monitor';

interface SessionSample {
  pid: number;
  role: Role;
  state: string;
  wait: string | null;
  /** A parallel worker of another session (an index build's). */
  worker: boolean;
}

interface Sample {
  t: number;
  sessions: SessionSample[];
  /** CPU seconds by process, as of this sample. */
  cpu: Map<number, number>;
  busy: number | undefined;
  /** This process's own CPU seconds. */
  self: number;
  /** The server's WAL position, in bytes. */
  wal: number;
}

/** Samples every session of the benchmark every 50 ms, and on demand at a phase's edges. */
function startMonitor(url: string) {
  const sql = postgres(url, { ...quiet, max: 1, connection: { application_name: APP.monitor } });
  const samples: Sample[] = [];
  const roles = new Map<number, Role>();
  // Every process ever seen keeps its last reading once it has exited.
  const lastCpu = new Map<number, number>();
  let stopped = false;
  const sample = async () => {
    const rows = (await sql.unsafe(
      `select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 as wal, a.pid, a.state, a.wait_event_type, a.wait_event,
         coalesce(a.leader_pid <> a.pid, false) as worker,
         case when a.application_name = $1 then 'writer' when a.application_name = $2 or l.application_name = $2 then 'upgrade' else 'monitor' end as role
       from pg_stat_activity a left join pg_stat_activity l on l.pid = a.leader_pid and a.leader_pid <> a.pid
       where a.application_name in ($1, $2, $3) or l.application_name = $2`,
      [APP.writer, APP.upgrade, APP.monitor],
    )) as unknown as { wal: number; pid: number; state: string | null; wait_event_type: string | null; wait_event: string | null; worker: boolean; role: Role }[];
    const sessions = rows.map((r) => ({
      pid: r.pid,
      role: r.role,
      state: r.state ?? '',
      wait: r.wait_event_type ? `${r.wait_event_type}:${r.wait_event}` : null,
      worker: r.worker,
    }));
    for (const s of sessions) roles.set(s.pid, s.role);
    for (const pid of roles.keys()) {
      const seconds = processCpu(pid);
      if (seconds !== undefined) lastCpu.set(pid, seconds);
    }
    const usage = process.cpuUsage();
    samples.push({ t: performance.now(), sessions, cpu: new Map(lastCpu), busy: machineBusy(), self: (usage.user + usage.system) / 1e6, wal: rows[0]?.wal ?? 0 });
  };
  const loop = (async () => {
    while (!stopped) {
      await sample();
      await sleep(SAMPLE_MS);
    }
  })();
  return {
    samples,
    roles,
    sample,
    async stop() {
      stopped = true;
      await loop;
      await sql.end({ timeout: 5 });
    },
  };
}
type Monitor = ReturnType<typeof startMonitor>;

/** The samples that bracket [from, to]: the last one before it and the first one after it. */
function edges({ samples }: Monitor, from: number, to: number): [Sample, Sample] {
  return [[...samples].reverse().find((s) => s.t <= from) ?? samples[0]!, samples.find((s) => s.t >= to) ?? samples.at(-1)!];
}

function walBetween(monitor: Monitor, from: number, to: number): number {
  const [a, b] = edges(monitor, from, to);
  return b.t > a.t ? (b.wal - a.wal) / 2 ** 20 / ((b.t - a.t) / 1000) : 0;
}

/** CPU cores by role over [from, to]. */
function cpuBetween(monitor: Monitor, from: number, to: number): CpuCores | null {
  const [a, b] = edges(monitor, from, to);
  const seconds = (b.t - a.t) / 1000;
  if (seconds <= 0 || a.busy === undefined || b.busy === undefined) return null;
  const byRole = { writer: 0, upgrade: 0, monitor: 0 };
  let readable = false;
  for (const [pid, end] of b.cpu) {
    readable = true;
    // A process first seen after `from` started in the window: all its CPU counts.
    byRole[monitor.roles.get(pid)!] += end - (a.cpu.get(pid) ?? 0);
  }
  if (!readable) return null;
  const busy = (b.busy - a.busy) / seconds;
  const writers = byRole.writer / seconds;
  const upgrade = byRole.upgrade / seconds;
  const bench = (byRole.monitor + (b.self - a.self)) / seconds;
  return { busy, writers, upgrade, bench, other: Math.max(0, busy - writers - upgrade - bench) };
}

function writerStatesBetween(monitor: Monitor, from: number, to: number): { lockWaitShare: number; writerStates: Record<string, number> } {
  const counts: Record<string, number> = {};
  let total = 0;
  for (const s of monitor.samples) {
    if (s.t < from || s.t > to) continue;
    for (const session of s.sessions) {
      if (session.role !== 'writer') continue;
      const key = session.state === 'idle' ? 'idle (client)' : (session.wait ?? 'on CPU');
      counts[key] = (counts[key] ?? 0) + 1;
      total++;
    }
  }
  const shares = Object.fromEntries(Object.entries(counts).sort((x, y) => y[1] - x[1]).map(([k, n]) => [k, n / total]));
  const lockWaitShare = Object.entries(shares).filter(([k]) => k.startsWith('Lock:')).reduce((sum, [, v]) => sum + v, 0);
  return { lockWaitShare, writerStates: shares };
}

// ---------------------------------------------------------------------------------------------
// The writers

interface WriteLog {
  ends: number[];
  ms: number[];
  inserted: number;
  errors: { t: number; message: string }[];
}

/** `count` writers, each on its own connection, writing until stopped: a fresh job, then an existing one saved again, in turn. */
async function startWriters(url: string, count: number, jobs: number) {
  const log: WriteLog = { ends: [], ms: [], inserted: 0, errors: [] };
  let stopped = false;
  const clients = Array.from({ length: count }, () => postgres(url, { ...quiet, max: 1, connection: { application_name: APP.writer } }));
  for (const sql of clients) await sql`select 1`;
  const insert = `insert into ${JOBS_TABLE} (queue_name, job_id, data, status) values ($1, $2, $3::jsonb, 'waiting')`;
  const update = `update ${JOBS_TABLE} set data = $3::jsonb, status = $4, updated_at = now() where queue_name = $1 and job_id = $2`;
  const statuses = ['active', 'completed', 'failed'];
  const writer = async (sql: Sql, w: number) => {
    for (let i = 0; !stopped; i++) {
      const started = performance.now();
      try {
        if (i % 2 === 0) {
          const id = `bench-${w}-${i}`;
          await sql.unsafe(insert, [`queue-${i % QUEUES}`, id, JSON.stringify({ id, task: 'bench.task', status: 'waiting' })], { prepare: true });
          log.inserted++;
        } else {
          const g = 1 + ((i * 7919 + w * 104729) % jobs);
          const id = `job-${g}`;
          const status = statuses[i % statuses.length]!;
          const result = await sql.unsafe(update, [`queue-${g % QUEUES}`, id, JSON.stringify({ id, task: 'bench.task', status }), status], { prepare: true });
          if (result.count !== 1) throw new Error(`the update of ${id} matched ${result.count} rows`);
        }
        const ended = performance.now();
        log.ends.push(ended);
        log.ms.push(ended - started);
      } catch (error) {
        log.errors.push({ t: performance.now(), message: String((error as Error).message).split('\n')[0]! });
      }
    }
  };
  const running = Promise.all(clients.map((sql, w) => writer(sql, w)));
  return {
    log,
    async stop() {
      stopped = true;
      await running;
      await Promise.all(clients.map((sql) => sql.end({ timeout: 5 })));
    },
  };
}

function phaseFigures(log: WriteLog, monitor: Monitor, from: number, to: number): PhaseFigures {
  const latencies: number[] = [];
  for (let i = 0; i < log.ends.length; i++) if (log.ends[i]! >= from && log.ends[i]! < to) latencies.push(log.ms[i]!);
  latencies.sort((a, b) => a - b);
  const seconds = (to - from) / 1000;
  return {
    seconds,
    writes: latencies.length,
    writesPerSecond: latencies.length / seconds,
    p99WriteMs: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    maxWriteMs: latencies.at(-1) ?? 0,
    errors: log.errors.filter((e) => e.t >= from && e.t < to).length,
    ...writerStatesBetween(monitor, from, to),
    cpu: cpuBetween(monitor, from, to),
    walMBPerSecond: walBetween(monitor, from, to),
  };
}

const writesPerSecond = (log: WriteLog, windows: [number, number][]) => {
  const seconds = windows.reduce((s, [a, b]) => s + (b - a) / 1000, 0);
  const writes = log.ends.filter((t) => windows.some(([a, b]) => t >= a && t < b)).length;
  return seconds > 0 ? writes / seconds : 0;
};

// ---------------------------------------------------------------------------------------------
// The upgrade

interface Sent {
  t: number;
  connection: number;
  query: string;
  /** When the next statement on the same connection was sent, or the upgrade ended. */
  until: number;
}

/** The upgrade as `asyncmq-postgres upgrade` runs it, its statements timed as they are sent. */
async function upgrade(url: string): Promise<{ from: number; to: number; sent: Sent[] }> {
  const sent: Sent[] = [];
  const from = performance.now();
  const report = await installOrDropPostgresBackend({
    connectionString: url,
    env: {},
    upgrade: true,
    settings: { postgresSchema: NAMESPACE, postgresSchemaVersion: '0.9' },
    pool: {
      connection: { application_name: APP.upgrade },
      debug: (connection: number, query: string) => void sent.push({ t: performance.now(), connection, query: query.replace(/\s+/g, ' ').trim(), until: 0 }),
    },
  });
  const to = performance.now();
  if (report.upgradedFrom !== '0.1') throw new Error(`the upgrade reported upgradedFrom ${String(report.upgradedFrom)}, not 0.1`);
  for (const [i, s] of sent.entries()) s.until = sent.slice(i + 1).find((n) => n.connection === s.connection)?.t ?? to;
  return { from, to, sent };
}

const isBuild = (s: Sent) => /^CREATE UNIQUE INDEX CONCURRENTLY/i.test(s.query);

function buildWindow(sent: Sent[]): [number, number] {
  const build = sent.find(isBuild);
  if (!build) throw new Error('the upgrade built no index concurrently');
  return [build.t, build.until];
}

/** How a statement reads in the results: its words, without the namespace. */
const label = (query: string) => {
  const text = query.replaceAll(`"${NAMESPACE}".`, '').replaceAll(`${NAMESPACE}.`, '').replaceAll('"', '');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

function keySwap(log: WriteLog, sent: Sent[]): UpgradePhaseFigures['keySwap'] {
  const attach = sent.find((s) => /ADD CONSTRAINT .* USING INDEX/i.test(s.query));
  const commit = attach && sent.find((s) => s.t > attach.t && s.connection === attach.connection && /^commit$/i.test(s.query));
  if (!attach || !commit) throw new Error('the upgrade swapped no key in a transaction');
  const [from, to] = [attach.t, commit.until];
  let longestWriteMs = 0;
  for (let i = 0; i < log.ends.length; i++) {
    if (log.ends[i]! > from && log.ends[i]! - log.ms[i]! < to) longestWriteMs = Math.max(longestWriteMs, log.ms[i]!);
  }
  return { lockedMs: to - from, longestWriteMs };
}

function parallelWorkers({ samples }: Monitor, from: number, to: number): number {
  return Math.max(0, ...samples.filter((s) => s.t >= from && s.t <= to).map((s) => s.sessions.filter((x) => x.role === 'upgrade' && x.worker).length));
}

function longestStall(log: WriteLog, monitor: Monitor, from: number, to: number, sent: Sent[]): UpgradePhaseFigures['longestStall'] {
  let worst = -1;
  for (let i = 0; i < log.ends.length; i++) {
    if (log.ends[i]! >= from && log.ends[i]! < to && (worst < 0 || log.ms[i]! > log.ms[worst]!)) worst = i;
  }
  if (worst < 0) return { ms: 0, endedAtSecond: 0, during: [], writersWaitedFor: [] };
  const end = log.ends[worst]!;
  const start = end - log.ms[worst]!;
  // The upgrade's statements in flight meanwhile, longest overlap first.
  const during = sent
    .map((s) => ({ s, overlap: Math.min(s.until, end) - Math.max(s.t, start) }))
    .filter(({ overlap }) => overlap > 0)
    .sort((a, b) => b.overlap - a.overlap)
    .slice(0, 3)
    .map(({ s }) => label(s.query));
  const waited = new Set<string>();
  for (const s of monitor.samples) {
    if (s.t < start || s.t > end) continue;
    for (const session of s.sessions) if (session.role === 'writer' && session.state !== 'idle' && session.wait) waited.add(session.wait);
  }
  return { ms: log.ms[worst]!, endedAtSecond: (end - from) / 1000, during, writersWaitedFor: [...waited] };
}

// ---------------------------------------------------------------------------------------------
// The rounds

export async function benchUpgrade(url: string, admin: Sql, jobs: number, options: { writers: number; rounds: number }): Promise<UpgradeResults> {
  const prepare = async (what: string) => {
    step(`upgrade: ${what}: making AsyncMQ 0.1's tables with ${jobs} jobs`);
    await load(admin, jobs);
    return rowCounts(admin);
  };

  // The upgrade alone: its own cost, and how long the first round's baseline runs.
  const before = await prepare('alone');
  let monitor = startMonitor(url);
  await monitor.sample();
  const solo = await upgrade(url);
  await monitor.sample();
  await monitor.stop();
  const [soloBuildFrom, soloBuildTo] = buildWindow(solo.sent);
  const alone = {
    seconds: (solo.to - solo.from) / 1000,
    buildSeconds: (soloBuildTo - soloBuildFrom) / 1000,
    upgradeCores: cpuBetween(monitor, solo.from, solo.to)?.upgrade ?? null,
    buildParallelWorkers: parallelWorkers(monitor, soloBuildFrom, soloBuildTo),
  };
  const after = await rowCounts(admin);
  if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`rows changed in the upgrade: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
  step(`upgrade alone: ${alone.seconds.toFixed(1)} s, of which the index build ${alone.buildSeconds.toFixed(1)} s`);

  const rounds: UpgradeRound[] = [];
  let baselineSeconds = alone.seconds;
  for (let round = 1; round <= options.rounds; round++) {
    const counts = await prepare(`round ${round}/${options.rounds}`);
    monitor = startMonitor(url);
    const writers = await startWriters(url, options.writers, jobs);
    // A moment for the writers' statements to be prepared and the caches warm.
    await sleep(1000);
    step(`upgrade round ${round}: ${options.writers} writers, baseline for ${baselineSeconds.toFixed(1)} s, then the upgrade beside them`);
    await monitor.sample();
    const baselineFrom = performance.now();
    await sleep(baselineSeconds * 1000);
    await monitor.sample();
    const run = await upgrade(url).finally(async () => {
      await monitor.sample();
      await writers.stop();
      await monitor.stop();
    });
    const { log } = writers;
    const { from, to, sent } = run;
    const build = buildWindow(sent);
    const baseline = phaseFigures(log, monitor, baselineFrom, from);
    const during = phaseFigures(log, monitor, from, to);
    const firstError = log.errors[0]?.message;
    rounds.push({
      baseline,
      upgrade: {
        ...during,
        build: phaseFigures(log, monitor, build[0], build[1]),
        buildParallelWorkers: parallelWorkers(monitor, build[0], build[1]),
        restWritesPerSecond: writesPerSecond(log, [[from, build[0]], [build[1], to]]),
        longestStall: longestStall(log, monitor, from, to, sent),
        keySwap: keySwap(log, sent),
        ...(firstError ? { firstError } : {}),
      },
    });
    // Nothing lost: every job there before is there, and every job a writer inserted.
    const final = await rowCounts(admin);
    const expected = { ...counts, jobs: counts.jobs! + log.inserted };
    if (JSON.stringify(final) !== JSON.stringify(expected)) throw new Error(`rows after the upgrade: ${JSON.stringify(final)}, expected ${JSON.stringify(expected)}`);
    step(
      `upgrade round ${round}: ${during.seconds.toFixed(1)} s; writes/s ${baseline.writesPerSecond.toFixed(0)} → ${during.writesPerSecond.toFixed(0)} ` +
        `(${(during.writesPerSecond / baseline.writesPerSecond).toFixed(2)}×), max write ${during.maxWriteMs.toFixed(0)} ms, ${log.errors.length} errors`,
    );
    baselineSeconds = during.seconds;
  }
  await admin.unsafe(`drop schema ${NAMESPACE} cascade`);
  const [{ setting }] = (await admin`select current_setting('max_parallel_maintenance_workers') as setting`) as unknown as [{ setting: string }];
  return { jobs, writers: options.writers, cores: cpus().length, serverMaintenanceWorkers: setting, alone, rounds };
}
