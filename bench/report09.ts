/** The RESULTS.md sections on the startup check's cost, AsyncMQ 0.9 under each index profile, and the goals. */
import type { AppStartResults } from './app-start.js';
import { OPERATIONS_09, PROFILES_09, type Profile09, type Statements09Results } from './asyncmq09.js';
import type { DrainResults } from './drain.js';
import type { StartupResults } from './startup.js';
import { ms, ratio, type Summary } from './stats.js';
import type { WriteCostResults } from './writes.js';

export interface ProfileResults {
  appStart: AppStartResults;
  statements: Statements09Results[];
  drain: DrainResults;
  writes: WriteCostResults;
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const percent = (share: number) => `${Math.round(share * 100)} %`;
const PROFILE_NOTE =
  "`by-status` is not a profile: it is what `asyncmq-0.9` was before it indexed AsyncMQ's casts, one index " +
  '`(status, queue_name, created_at)`; `asyncmq-0.9` holds `(status, queue_name, (COALESCE((data ->> \'priority\')::int, 5)), created_at)` ' +
  "and `(status, queue_name, ((data ->> 'delay_until')::float))` instead. The two columns side by side are what AsyncMQ's casts " +
  'indexed give its reads and cost its writes.';

/** A p50 where this profile was measured (an older results.json may lack one). */
const p50 = (o: Partial<Record<Profile09, Summary>>, profile: Profile09) => o[profile]?.p50 ?? NaN;
const cell = (value: number, format: (v: number) => string) => (Number.isFinite(value) ? format(value) : 'n/a');
const times = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? ratio(a, b) : 'n/a');

export function renderProfileSections(startup: StartupResults, p: ProfileResults): string[] {
  const a = p.appStart;
  const marginal = (s: Summary) => s.p50 - a.app.p50;
  const lines = [
    '## The startup check in an application',
    '',
    "Each run starts an app (a postgres.js pool and its first query), runs the check, and stops. The check on the app's connection " +
      'is the catalog read alone; the others open a connection of their own. "seed" is AsyncMQ\'s own approach with the same driver options.',
    '',
    row(['app start', 'p50', 'p95', 'added to the app alone (p50)']),
    row(['---', '---:', '---:', '---:']),
    row(['the app alone', ms(a.app.p50), ms(a.app.p95), '']),
    row(["with the check on the app's connection", ms(a.oursOnAppConnection.p50), ms(a.oursOnAppConnection.p95), ms(marginal(a.oursOnAppConnection))]),
    row(['with the install on its own connection', ms(a.oursOwnConnection.p50), ms(a.oursOwnConnection.p95), ms(marginal(a.oursOwnConnection))]),
    row(['with the seed on its own connection', ms(a.seedOwnConnection.p50), ms(a.seedOwnConnection.p95), ms(marginal(a.seedOwnConnection))]),
    '',
    '## AsyncMQ 0.9 under each index profile',
    '',
    "AsyncMQ 0.9.1's own statements, verbatim, on a 0.9 schema: jobs as its `Job.to_dict()` writes them over 8 queues (half completed, " +
      '30 % waiting, 10 % delayed of which 1 % due, 10 % failed), and at every size 50 active jobs, 100 cancellation marks and 64 repeatables per queue; ' +
      'reached through `search_path` with prepared statements, as asyncpg runs them; writes rolled back so each run meets the same table. ' +
      'Milliseconds at p50 (p95 in results.json), profiles interleaved. ' +
      PROFILE_NOTE,
    '',
    row(['jobs', 'statement', ...PROFILES_09, 'queue / asyncmq-0.9', 'by-status / asyncmq-0.9']),
    row(['---:', '---', ...PROFILES_09.map(() => '---:'), '---:', '---:']),
  ];
  for (const w of p.statements) {
    for (const [key, label] of Object.entries(OPERATIONS_09) as [keyof typeof OPERATIONS_09, string][]) {
      const o = w.operations[key];
      if (!o) continue;
      lines.push(
        row([
          w.jobs,
          label,
          ...PROFILES_09.map((profile) => cell(p50(o, profile), ms)),
          times(p50(o, 'queue'), p50(o, 'asyncmq-0.9')),
          times(p50(o, 'by-status'), p50(o, 'asyncmq-0.9')),
        ]),
      );
    }
  }
  lines.push('');
  for (const w of p.statements) {
    if (!w.sameJob) continue;
    const { checks, differing } = w.sameJob;
    lines.push(
      differing.length === 0
        ? `At ${w.jobs} jobs, every profile's dequeue claimed the job \`queue\`'s claimed, in all ${checks} checks (each queue, custom and generic plans).`
        : `At ${w.jobs} jobs, **${differing.length} of ${checks} claims differed** from \`queue\`'s: ${differing.slice(0, 5).join('; ')}.`,
    );
  }
  lines.push(
    '',
    '"resolve_dependency" is what AsyncMQ 0.9\'s worker runs after every job it completes: it reads every job of the queue whose ' +
      '`data` has a `depends_on` key, and `Job.to_dict()` always writes one, so it returns the whole queue under any index.',
    '',
    `### A drain of ${p.drain.jobs} waiting jobs`,
    '',
    `Workers run AsyncMQ 0.9's dequeue and complete (its backend's \`dequeue()\` and \`complete_active_job()\`, verbatim) one job at a time, ` +
      `beside pg-boss's \`fetch()\` and \`complete()\` on a queue of as many jobs, in the same run; each drain for at most ${p.drain.window} s.`,
    '',
    row(['workers', ...PROFILES_09, 'pg-boss', ...PROFILES_09.map((x) => `${x} / pg-boss`)]),
    row(['---:', ...PROFILES_09.map(() => '---:'), '---:', ...PROFILES_09.map(() => '---:')]),
  );
  const boss = Array.isArray(p.drain.pgBoss) ? p.drain.pgBoss : undefined;
  for (const [i, run] of (p.drain.profiles.seed ?? []).entries()) {
    const rate = (profile: Profile09) => p.drain.profiles[profile]?.[i]?.jobsPerSecond ?? NaN;
    const bossRate = boss?.[i]?.jobsPerSecond;
    lines.push(
      row([
        run.workers,
        ...PROFILES_09.map((x) => cell(rate(x), (v) => v.toFixed(1))),
        bossRate === undefined ? `failed: ${(p.drain.pgBoss as { error: string }).error}` : bossRate.toFixed(1),
        ...PROFILES_09.map((x) => (bossRate === undefined ? 'n/a' : times(rate(x), bossRate))),
      ]),
    );
  }
  lines.push(
    '',
    '### What each profile costs writers',
    '',
    `AsyncMQ 0.9's own writes on a table of ${p.writes.jobs} jobs, 4 sessions for ${p.writes.seconds} s per phase, profiles interleaved: enqueues ` +
      '(job-upsert of a new job), and a worker\'s updates of the jobs it runs (update_job_state, two heartbeats, complete; four updates a job). ' +
      'HOT is the share of those updates that touched no index (no indexed column changed and the page had room); heartbeats change ' +
      '`data` alone, so any index on `data` makes every one of them write every index.',
    '',
    row(['profile', 'enqueues/s', 'vs seed', 'updates/s', 'vs seed', 'HOT updates', 'HOT heartbeats']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:']),
  );
  const seedCost = p.writes.profiles.seed;
  for (const profile of PROFILES_09) {
    const c = p.writes.profiles[profile];
    if (!c) continue;
    lines.push(
      row([
        profile,
        c.enqueuesPerSecond.toFixed(0),
        ratio(c.enqueuesPerSecond, seedCost.enqueuesPerSecond),
        c.updatesPerSecond.toFixed(0),
        ratio(c.updatesPerSecond, seedCost.updatesPerSecond),
        percent(c.hotShare),
        percent(c.heartbeatHotShare),
      ]),
    );
  }
  const indexed = p.writes.profiles['asyncmq-0.9'];
  const without = p.writes.profiles['by-status'];
  if (indexed && without) {
    lines.push(
      '',
      `What AsyncMQ's casts indexed cost writers, \`asyncmq-0.9\` against \`by-status\` in the same run: enqueues ${ratio(indexed.enqueuesPerSecond, without.enqueuesPerSecond)}, ` +
        `job updates ${ratio(indexed.updatesPerSecond, without.updatesPerSecond)}; HOT heartbeats ${percent(without.heartbeatHotShare)} → ${percent(indexed.heartbeatHotShare)} ` +
        '(a heartbeat changes `data`, so under an index of an expression of `data` it writes every index of the table).',
    );
  }
  lines.push('', ...renderGoals(startup, p), '');
  return lines;
}

/** The issue's goals, each with its figure from this run and whether it was reached. */
function renderGoals(startup: StartupResults, p: ProfileResults): string[] {
  const biggest = p.statements.at(-1);
  const smallest = p.statements[0];
  const dequeue = (w: Statements09Results | undefined, profile: Profile09) => w?.operations.dequeue[profile]?.p50 ?? NaN;
  const fourWorkers = (profile: Profile09) => p.drain.profiles[profile]?.find((r) => r.workers === 4)?.jobsPerSecond ?? NaN;
  const bossFour = Array.isArray(p.drain.pgBoss) ? (p.drain.pgBoss.find((r) => r.workers === 4)?.jobsPerSecond ?? NaN) : NaN;
  const noop = startup.noop.ours.p50 / startup.noop.seed.p50;
  const appMarginal = p.appStart.oursOnAppConnection.p50 - p.appStart.app.p50;
  const seedMarginal = p.appStart.seedOwnConnection.p50 - p.appStart.app.p50;
  const yes = (ok: boolean) => (ok ? 'reached' : '**not reached**');
  const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v >= 10 ? 0 : 2)}×` : 'n/a');
  const speedup = dequeue(biggest, 'queue') / dequeue(biggest, 'asyncmq-0.9');
  const sizes = p.statements.length > 1;
  const flat = sizes ? dequeue(biggest, 'asyncmq-0.9') / dequeue(smallest, 'asyncmq-0.9') : NaN;
  const of = (profile: Profile09) => (sizes ? `, ${x(dequeue(biggest, profile) / dequeue(smallest, profile))} of its time at ${smallest?.jobs}` : ' (one size measured)');
  const differing = p.statements.reduce((n, w) => n + (w.sameJob?.differing.length ?? NaN), 0);
  const drain = fourWorkers('asyncmq-0.9') / bossFour;
  return [
    '## Goals',
    '',
    row(['goal', 'this run', '']),
    row(['---', '---', '---']),
    row([
      `0.9 dequeue at ${biggest?.jobs ?? '?'} jobs at least 40× faster than \`queue\`, flat from ${smallest?.jobs ?? '?'}, claiming the job \`queue\` claims`,
      `asyncmq-0.9: ${x(speedup)} faster${of('asyncmq-0.9')}; ${Number.isFinite(differing) ? `${differing} claim(s) differed` : 'claims not compared'}`,
      yes(speedup >= 40 && sizes && flat <= 2 && differing === 0),
    ]),
    row(['a drain by 4 workers beside pg-boss', `asyncmq-0.9: ${x(drain)} of pg-boss's jobs/s; by-status: ${x(fourWorkers('by-status') / bossFour)}`, 'a figure, not a goal']),
    row(['the no-op check on its own connection at most 1.4× the fair seed-style install', x(noop), yes(noop <= 1.4)]),
    row([
      "on the app's connection, below the seed-style install",
      `${ms(appMarginal)} ms added to the app's start, against ${ms(seedMarginal)} ms`,
      yes(appMarginal < seedMarginal),
    ]),
    '',
    "What bounds the drain: AsyncMQ's dequeue and complete are two transactions of two statements each, eight round trips a job, " +
      "where pg-boss's fetch() and complete() are two; and AsyncMQ's worker runs `resolve_dependency` after each job it completes, " +
      'which reads every job of the queue (`data` always holds `depends_on`), whatever the indexes.',
    '',
    `What the third depends on: the check reads the four catalogs that describe the tables (tables, columns, constraints, indexes), ` +
      'and on a new connection Postgres plans and loads each of them for the first time, where the seed\'s `CREATE ... IF NOT EXISTS` ' +
      `only look names up: in this run the check added ${ms(startup.noop.ours.p50 - startup.noop.floor.p50)} ms to a bare connection's ` +
      `${ms(startup.noop.floor.p50)} ms, the seed ${ms(startup.noop.seed.p50 - startup.noop.floor.p50)} ms. So the ratio moves with what ` +
      'connecting costs and with the load of the machine, and is highest where connecting is cheapest. A check of the names alone ' +
      "would cost what the seed does and miss most differences. On the app's connection, which the app opens anyway, the check costs " +
      "less than the seed's install on a connection of its own.",
  ];
}
