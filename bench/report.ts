/**
 * bench/RESULTS.md and bench/results.json. Each section carries the run that measured it, so a
 * run of some sections (ASYNCMQ_BENCH_ONLY) replaces those and keeps the others' figures.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { renderProfileSections, type ProfileResults } from './report09.js';
import type { StartupResults } from './startup.js';
import { ms, ratio, type Summary } from './stats.js';
import type { CpuCores, PhaseFigures, UpgradeResults } from './upgrade.js';
import type { WorkloadResults } from './workload.js';

/** Which run measured a section. */
export interface Measured {
  /** How the run was started: the command, its settings, which server. */
  run: string;
  date: string;
  postgres: string;
  machine: string;
  node: string;
}

export interface BenchResults {
  startup?: StartupResults & { measured: Measured };
  workload?: { measured: Measured; sizes: WorkloadResults[] };
  /** One entry per Postgres major version: a run replaces its own version's and keeps the others. */
  upgrade?: (UpgradeResults & { measured: Measured })[];
  /** AsyncMQ 0.9 under each index profile: its statements, a drain, the write cost; the app's-start no-op. */
  profiles?: ProfileResults & { measured: Measured };
}

const majorOf = (postgres: string) => Number(/PostgreSQL (\d+)/.exec(postgres)?.[1] ?? 0);

/** The previous results with this run's sections put in. */
export function mergeResults(previous: BenchResults, run: BenchResults): BenchResults {
  const upgrade = run.upgrade
    ? [...(previous.upgrade ?? []).filter((u) => !run.upgrade!.some((n) => majorOf(n.measured.postgres) === majorOf(u.measured.postgres))), ...run.upgrade]
    : previous.upgrade;
  upgrade?.sort((a, b) => majorOf(b.measured.postgres) - majorOf(a.measured.postgres));
  return {
    ...((run.startup ?? previous.startup) ? { startup: run.startup ?? previous.startup } : {}),
    ...((run.workload ?? previous.workload) ? { workload: run.workload ?? previous.workload } : {}),
    ...(upgrade ? { upgrade } : {}),
    ...((run.profiles ?? previous.profiles) ? { profiles: run.profiles ?? previous.profiles } : {}),
  };
}

export async function readResults(dir: URL): Promise<BenchResults> {
  try {
    return JSON.parse(await readFile(new URL('results.json', dir), 'utf8')) as BenchResults;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const dist = (s: Summary) => [ms(s.p50), ms(s.p95)];
const measuredLine = (m: Measured) => `Measured ${m.date} by ${m.run}, on ${m.postgres}; ${m.machine}; Node ${m.node}.`;
const seconds = (value: number) => value.toFixed(1);
const cores = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(2));
const percent = (share: number) => `${(share * 100).toFixed(share > 0 && share < 0.01 ? 1 : 0)} %`;

function renderStartup(startup: NonNullable<BenchResults['startup']>): string[] {
  const { noop, fresh, contention, liveQueue: live } = startup;
  return [
    '## Startup',
    '',
    measuredLine(startup.measured),
    '"seed" is AsyncMQ\'s own approach: a pool, a transaction, its six `CREATE ... IF NOT EXISTS` statements, through the same driver (postgres.js) with the same options (`fetch_types: false`).',
    '',
    row(['install', 'runs', 'ours p50', 'ours p95', 'seed p50', 'seed p95', 'ours / seed (p50)']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:']),
    row(['no-op (installed database)', noop.ours.runs, ...dist(noop.ours), ...dist(noop.seed), ratio(noop.ours.p50, noop.seed.p50)]),
    row(['fresh (empty namespace)', fresh.ours.runs, ...dist(fresh.ours), ...dist(fresh.seed), ratio(fresh.ours.p50, fresh.seed.p50)]),
    '',
    `The floor for a no-op install, one connection and one catalog query, measured in the same run: p50 ${ms(noop.floor.p50)}, p95 ${ms(noop.floor.p95)}; ` +
      `the no-op install takes ${ratio(noop.ours.p50, noop.floor.p50)} of it at p50.`,
    '',
    `**Contention**: ${contention.installers} installers started at once on a fresh namespace, ${contention.rounds} rounds each: ` +
      `ours failed ${contention.ours.failures} of ${contention.installers * contention.rounds}; ` +
      `the seed's approach failed ${contention.seed.failures} of ${contention.installers * contention.rounds}` +
      (contention.seed.example ? ` (\`${contention.seed.example}\`).` : '.'),
    '',
    `**Live queue**: ${live.writers} writers upserting jobs, and a worker that holds each dequeued job's transaction open for 100 ms, ` +
      `for ${live.seconds} s per phase, while an installer starts every 100 ms beside them.`,
    '',
    row(['phase', 'installs', 'writes/s', 'vs no installer', 'p99 write', 'max write']),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
    ...(['baseline', 'ours', 'seed'] as const).map((phase) =>
      row([
        phase === 'baseline' ? 'no installer' : phase,
        live[phase].installs,
        live[phase].writesPerSecond.toFixed(0),
        ratio(live[phase].writesPerSecond, live.baseline.writesPerSecond),
        ms(live[phase].p99WriteMs),
        ms(live[phase].maxWriteMs),
      ]),
    ),
    '',
  ];
}

function renderWorkload(workload: NonNullable<BenchResults['workload']>): string[] {
  const lines = [
    '## The queue workload',
    '',
    measuredLine(workload.measured),
    "AsyncMQ's own statements, as its Postgres backend runs them, on a jobs table half finished, over 8 queues, " +
      'under the default `seed` indexes and the `queue` profile (`postgresIndexes`), side by side. ' +
      "pg-boss's `fetch()` of one job, with the same number of jobs in its queue (half completed), is an outside reference.",
    '',
    row(['jobs', 'operation', 'seed p50', 'seed p95', 'queue p50', 'queue p95', 'seed / queue (p50)']),
    row(['---:', '---', '---:', '---:', '---:', '---:', '---:']),
  ];
  const names = {
    upsert: 'upsert on job_id',
    dequeue: 'dequeue, FOR UPDATE SKIP LOCKED',
    dueDelayed: 'scan of due delayed jobs',
    cancelled: 'cancellation lookup',
  } as const;
  for (const w of workload.sizes) {
    for (const [key, label] of Object.entries(names) as [keyof typeof names, string][]) {
      const o = w.operations[key];
      lines.push(row([w.jobs, label, ...dist(o.seed), ...dist(o.queue), ratio(o.seed.p50, o.queue.p50)]));
    }
    const boss = w.pgBossFetch;
    lines.push(row([w.jobs, 'pg-boss fetch (reference)', ...('error' in boss ? [`failed: ${boss.error}`, '', '', '', ''] : [...dist(boss), '', '', ''])]));
  }
  lines.push(
    '',
    'The scan of due delayed jobs filters on `data ->> \'delay_until\'`, inside the JSON, as AsyncMQ 0.1 writes it, ' +
      'so no index on the `delay_until` column serves it under either profile.',
    '',
  );
  return lines;
}

/** Figures over all rounds: throughput from the summed writes and seconds, latencies the worst round's. */
function overall(phases: PhaseFigures[]) {
  const writes = phases.reduce((s, p) => s + p.writes, 0);
  const time = phases.reduce((s, p) => s + p.seconds, 0);
  return { writesPerSecond: writes / time, p99: Math.max(...phases.map((p) => p.p99WriteMs)), max: Math.max(...phases.map((p) => p.maxWriteMs)) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Mean cores by role over the rounds, or undefined where a round could not read them. */
function meanCpu(phases: PhaseFigures[]): CpuCores | undefined {
  if (phases.some((p) => p.cpu === null)) return undefined;
  const keys = ['busy', 'writers', 'upgrade', 'bench', 'other'] as const;
  return Object.fromEntries(keys.map((k) => [k, phases.reduce((s, p) => s + p.cpu![k], 0) / phases.length])) as unknown as CpuCores;
}

function renderUpgradeRun(u: NonNullable<BenchResults['upgrade']>[number]): string[] {
  const baselines = u.rounds.map((r) => r.baseline);
  const upgrades = u.rounds.map((r) => r.upgrade);
  const builds = upgrades.map((r) => r.build);
  const base = overall(baselines);
  const during = overall(upgrades);
  const build = overall(builds);
  const restRatio = median(u.rounds.map((r) => r.upgrade.restWritesPerSecond / r.baseline.writesPerSecond));
  const kept = during.writesPerSecond / base.writesPerSecond;
  const worst = u.rounds.map((r, i) => ({ ...r.upgrade.longestStall, round: i + 1 })).sort((a, b) => b.ms - a.ms)[0]!;
  const errors = upgrades.reduce((s, p) => s + p.errors, 0);
  const firstError = upgrades.find((p) => p.firstError)?.firstError;
  const lines = [
    `### ${u.measured.postgres.replace(/ \(.*\)$/, '')}`,
    '',
    measuredLine(u.measured),
    '',
    row(['round', 'upgrade s', 'index build s', 'baseline writes/s', 'during upgrade', 'ratio', 'during the build', 'ratio', 'p99 write, baseline', 'p99 write, upgrade', 'max write, baseline', 'longest stall', 'everything else, cores']),
    row(['---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...u.rounds.map((r, i) =>
      row([
        i + 1,
        seconds(r.upgrade.seconds),
        seconds(r.upgrade.build.seconds),
        r.baseline.writesPerSecond.toFixed(0),
        r.upgrade.writesPerSecond.toFixed(0),
        ratio(r.upgrade.writesPerSecond, r.baseline.writesPerSecond),
        r.upgrade.build.writesPerSecond.toFixed(0),
        ratio(r.upgrade.build.writesPerSecond, r.baseline.writesPerSecond),
        ms(r.baseline.p99WriteMs),
        ms(r.upgrade.p99WriteMs),
        ms(r.baseline.maxWriteMs),
        ms(r.upgrade.maxWriteMs),
        r.baseline.cpu && r.upgrade.cpu ? `${cores(r.baseline.cpu.other)} → ${cores(r.upgrade.cpu.other)}` : 'n/a',
      ]),
    ),
    row([
      '**all**',
      seconds(median(upgrades.map((p) => p.seconds))) + ' (median)',
      seconds(median(builds.map((p) => p.seconds))) + ' (median)',
      base.writesPerSecond.toFixed(0),
      during.writesPerSecond.toFixed(0),
      `**${ratio(during.writesPerSecond, base.writesPerSecond)}**`,
      build.writesPerSecond.toFixed(0),
      ratio(build.writesPerSecond, base.writesPerSecond),
      ms(base.p99),
      ms(during.p99),
      ms(base.max),
      ms(during.max),
      '',
    ]),
    '',
    '"everything else" is the CPU the rest of the machine used (other processes, Postgres\'s background processes) in the baseline → during the upgrade; ' +
      'the writers\' throughput moves with it.',
    '',
    `The writers kept **${ratio(during.writesPerSecond, base.writesPerSecond)}** of their throughput through the upgrades ` +
      `(${kept >= 0.8 ? 'at or above' : 'below'} the goal of 0.80×): ${ratio(build.writesPerSecond, base.writesPerSecond)} during the index build, ` +
      `${restRatio.toFixed(2)}× (median of the rounds) through the rest of the upgrade. ` +
      `The upgrade alone, nobody writing, took ${seconds(u.alone.seconds)} s, of which the index build ${seconds(u.alone.buildSeconds)} s` +
      (u.alone.upgradeCores === null ? '.' : `, using ${cores(u.alone.upgradeCores)} cores of ${u.cores} on average.`) +
      (u.serverMaintenanceWorkers === undefined
        ? ''
        : ` The build session set max_parallel_maintenance_workers to 0 (the server's: ${u.serverMaintenanceWorkers}), leaving the other cores to the writers: ` +
          `at most ${Math.max(u.alone.buildParallelWorkers ?? 0, ...upgrades.map((p) => p.buildParallelWorkers ?? 0))} parallel worker(s) of the build were seen at once.`),
    '',
    `Longest stall: ${ms(worst.ms)} ms (round ${worst.round}, ending ${seconds(worst.endedAtSecond)} s into the upgrade), while the upgrade ran ` +
      (worst.during.length ? worst.during.map((q) => `\`${q}\``).join(', ') : 'none of its statements yet') +
      `; the writers meanwhile were seen waiting for ${worst.writersWaitedFor.length ? worst.writersWaitedFor.map((w) => `\`${w}\``).join(', ') : 'nothing (on CPU or between statements)'}. ` +
      `The key swap (\`ALTER TABLE ... ADD CONSTRAINT ... USING INDEX\`, \`DROP CONSTRAINT\`, commit), the only moment the upgrade takes a lock that stops writers, ` +
      `took ${ms(median(upgrades.map((p) => p.keySwap.lockedMs)))} ms at the median and ${ms(Math.max(...upgrades.map((p) => p.keySwap.lockedMs)))} ms at most, from its \`ALTER TABLE\` to the end of its commit; ` +
      `the longest write that overlapped it took ${ms(Math.max(...upgrades.map((p) => p.keySwap.longestWriteMs)))} ms. ` +
      `Write errors during the upgrades: ${errors}${firstError ? ` (first: \`${firstError}\`)` : ''}; no row was lost in any round.`,
    '',
  ];
  const cpu = { baseline: meanCpu(baselines), upgrade: meanCpu(upgrades), build: meanCpu(builds) };
  lines.push(
    `Where the time went, averaged over the rounds (CPU in cores of ${u.cores}; "writers waiting on a lock" is the share of the monitor's samples, every 50 ms, in which a writer's session waited for a heavyweight lock):`,
    '',
    row(['phase', 'machine busy', "writers' server processes", "upgrade's server processes", 'bench process', 'everything else', 'WAL MB/s', 'writers waiting on a lock', "writers' top wait"]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---']),
    ...([
      ['baseline', baselines, cpu.baseline],
      ['upgrade', upgrades, cpu.upgrade],
      ['index build', builds, cpu.build],
    ] as const).map(([name, phases, c]) => {
      const lock = phases.reduce((s, p) => s + p.lockWaitShare, 0) / phases.length;
      return row([
        name,
        cores(c?.busy),
        cores(c?.writers),
        cores(c?.upgrade),
        cores(c?.bench),
        cores(c?.other),
        (phases.reduce((s, p) => s + p.walMBPerSecond, 0) / phases.length).toFixed(1),
        percent(lock),
        topWait(phases),
      ]);
    }),
    '',
  );
  return lines;
}

/** The writers' most frequent state other than running or idle, over the rounds. */
function topWait(phases: readonly PhaseFigures[]): string {
  const totals: Record<string, number> = {};
  for (const p of phases) for (const [k, v] of Object.entries(p.writerStates)) totals[k] = (totals[k] ?? 0) + v / phases.length;
  const [top] = Object.entries(totals).filter(([k]) => k !== 'on CPU' && k !== 'idle (client)').sort((a, b) => b[1] - a[1]);
  return top ? `${top[0]} (${percent(top[1])})` : 'none';
}

function renderUpgrade(runs: NonNullable<BenchResults['upgrade']>): string[] {
  const [first] = runs;
  if (!first) return [];
  return [
    '## Upgrade in place, 0.1 → 0.9, beside live writers',
    '',
    `A jobs table of ${first.jobs} jobs made by AsyncMQ 0.1's own SQL (half finished, over 8 queues, beside 1000 repeatables and a cancellation for every hundredth job), ` +
      "upgraded to 0.9 by `installOrDropPostgresBackend({ upgrade: true, settings: { postgresSchemaVersion: '0.9' } })`, what `asyncmq-postgres upgrade` runs, " +
      `while ${first.writers} writers, each on its own connection, write as fast as they can, every write its own transaction.`,
    '',
    'What the writers run, in turn: `INSERT INTO asyncmq_jobs (queue_name, job_id, data, status) VALUES ($1, $2, $3, \'waiting\')` of a fresh job id, ' +
      'and `UPDATE asyncmq_jobs SET data = $3, status = $4, updated_at = now() WHERE queue_name = $1 AND job_id = $2` of an existing job. ' +
      "Not AsyncMQ's `INSERT ... ON CONFLICT`: the upgrade swaps the jobs table's unique key from `(job_id)` to `(queue_name, job_id)`, " +
      "and AsyncMQ 0.1 to 0.7's `ON CONFLICT (job_id)` fails after the swap while 0.8's `ON CONFLICT (queue_name, job_id)` fails before it. " +
      'These two statements work on both sides, as the writers of a rolling deploy need.',
    '',
    'Each round makes the tables anew, lets the writers run a baseline phase as long as the previous upgrade took (the first round: as long as the upgrade alone), ' +
      'then starts the upgrade beside them and stops them when it returns. Throughput counts the writes that ended within a phase; ' +
      "a stall is one write's latency (ms). After each round, the jobs table holds every job it held before and every job the writers inserted.",
    '',
    ...runs.flatMap(renderUpgradeRun),
  ];
}

export function renderMarkdown(r: BenchResults): string {
  const lines = [
    '# Benchmark results',
    '',
    'Measured by `npm run bench`; each section says which run measured it, on which Postgres and machine.',
    'Every comparison ran side by side in one run, on one database, interleaved; compare the ratios, not the absolute times.',
    'Times are milliseconds unless marked s.',
    '',
    ...(r.startup ? renderStartup(r.startup) : []),
    ...(r.workload ? renderWorkload(r.workload) : []),
    ...(r.upgrade ? renderUpgrade(r.upgrade) : []),
    ...(r.profiles && r.startup ? [...renderProfileSections(r.startup, r.profiles), ''] : []),
    'Reproduce: `npm run bench` (an embedded Postgres, no setup; `ASYNCMQ_BENCH_DATABASE_URL` aims it at another server, ' +
      '`ASYNCMQ_BENCH_JOBS=100000,1000000` sets the sizes, the upgrade uses the largest; `ASYNCMQ_BENCH_ONLY=upgrade` runs some sections ' +
      '(`startup`, `workload`, `upgrade`, `profiles`) and keeps the others\' figures).',
    '',
  ];
  return lines.join('\n');
}

export async function writeResults(results: BenchResults, dir: URL): Promise<void> {
  await writeFile(new URL('results.json', dir), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(new URL('RESULTS.md', dir), renderMarkdown(results));
}
