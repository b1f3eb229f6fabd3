/** bench/RESULTS.md and bench/results.json from one run's figures. */
import { writeFile } from 'node:fs/promises';
import { renderProfileSections, type ProfileResults } from './report09.js';
import type { StartupResults } from './startup.js';
import { ms, ratio, type Summary } from './stats.js';
import type { WorkloadResults } from './workload.js';

export interface BenchResults {
  date: string;
  postgres: string;
  machine: string;
  node: string;
  startup: StartupResults;
  workload: WorkloadResults[];
  profiles?: ProfileResults;
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const dist = (s: Summary) => [ms(s.p50), ms(s.p95)];

export function renderMarkdown(r: BenchResults): string {
  const { noop, fresh, contention, liveQueue: live } = r.startup;
  const lines = [
    '# Benchmark results',
    '',
    `Measured ${r.date} by \`npm run bench\` on ${r.postgres}; ${r.machine}; Node ${r.node}.`,
    'Every comparison ran side by side in one run, on one database, interleaved; compare the ratios, not the absolute times.',
    'Times are milliseconds. "seed" is AsyncMQ\'s own approach: a pool, a transaction, its six `CREATE ... IF NOT EXISTS` statements, through the same driver (postgres.js) with the same options (`fetch_types: false`).',
    '',
    '## Startup',
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
    '## The queue workload',
    '',
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
  for (const w of r.workload) {
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
    ...(r.profiles ? ['', ...renderProfileSections(r.startup, r.profiles)] : []),
    'Reproduce: `npm run bench` (an embedded Postgres, no setup; `ASYNCMQ_BENCH_DATABASE_URL` aims it at another server, ' +
      '`ASYNCMQ_BENCH_JOBS=100000,1000000` sets the sizes).',
    '',
  );
  return lines.join('\n');
}

export async function writeResults(results: BenchResults, dir: URL): Promise<void> {
  await writeFile(new URL('results.json', dir), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(new URL('RESULTS.md', dir), renderMarkdown(results));
}
