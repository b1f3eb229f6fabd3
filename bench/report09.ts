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
  '`unguarded` is not a profile: it is `asyncmq-0.9` plus AsyncMQ\'s own expressions indexed as its SQL writes them ' +
  "(`(queue_name, (COALESCE((data ->> 'priority')::int, 5)), created_at) WHERE status = 'waiting'` and " +
  "`(queue_name, ((data ->> 'delay_until')::float)) WHERE status = 'delayed'`), measured as the bound: those casts make " +
  'Postgres reject every job whose priority or delay is not a well-formed number, so no profile has them.';

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
    row(['jobs', 'statement', ...PROFILES_09, 'queue / asyncmq-0.9', 'queue / unguarded']),
    row(['---:', '---', ...PROFILES_09.map(() => '---:'), '---:', '---:']),
  ];
  for (const w of p.statements) {
    for (const [key, label] of Object.entries(OPERATIONS_09) as [keyof typeof OPERATIONS_09, string][]) {
      const o = w.operations[key];
      if (!o) continue;
      lines.push(row([w.jobs, label, ...PROFILES_09.map((profile) => ms(o[profile].p50)), ratio(o.queue.p50, o['asyncmq-0.9'].p50), ratio(o.queue.p50, o.unguarded.p50)]));
    }
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
    const rate = (profile: Profile09) => p.drain.profiles[profile]![i]!.jobsPerSecond;
    const bossRate = boss?.[i]?.jobsPerSecond;
    lines.push(
      row([
        run.workers,
        ...PROFILES_09.map((x) => rate(x).toFixed(1)),
        bossRate === undefined ? `failed: ${(p.drain.pgBoss as { error: string }).error}` : bossRate.toFixed(1),
        ...PROFILES_09.map((x) => (bossRate === undefined ? 'n/a' : ratio(rate(x), bossRate))),
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
  lines.push('', ...renderGoals(startup, p), '');
  return lines;
}

/** The goals, each with its figure from this run and whether it was reached. */
function renderGoals(startup: StartupResults, p: ProfileResults): string[] {
  const biggest = p.statements.at(-1);
  const smallest = p.statements[0];
  const dequeue = (w: Statements09Results | undefined, profile: Profile09) => w?.operations.dequeue[profile].p50 ?? NaN;
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
  const drain = fourWorkers('asyncmq-0.9') / bossFour;
  return [
    '## Goals',
    '',
    row(['goal', 'this run', '']),
    row(['---', '---', '---']),
    row([
      `0.9 dequeue at ${biggest?.jobs ?? '?'} jobs at least 40× faster than \`queue\`, and flat from ${smallest?.jobs ?? '?'}`,
      `asyncmq-0.9: ${x(speedup)} faster${of('asyncmq-0.9')}; unguarded: ${x(dequeue(biggest, 'queue') / dequeue(biggest, 'unguarded'))} faster${of('unguarded')}`,
      yes(speedup >= 40 && sizes && flat <= 2),
    ]),
    row(['a drain by 4 workers at least 0.8× pg-boss', `asyncmq-0.9: ${x(drain)}; unguarded: ${x(fourWorkers('unguarded') / bossFour)}`, yes(drain >= 0.8)]),
    row(['the no-op check on its own connection at most 1.4× the fair seed-style install', x(noop), yes(noop <= 1.4)]),
    row([
      "on the app's connection, below the seed-style install",
      `${ms(appMarginal)} ms added to the app's start, against ${ms(seedMarginal)} ms`,
      yes(appMarginal < seedMarginal),
    ]),
    '',
    'What bounds the first two: AsyncMQ 0.9 orders its dequeue by `COALESCE((data ->> \'priority\')::int, 5)`, and Postgres serves an ORDER BY ' +
      'from an index only when the index holds that very expression. Indexed, the cast runs on every write of a waiting job and rejects ' +
      'one whose priority is not an integer (`"high"`, `2.5`), which AsyncMQ stores without the index; a guarded cast stores every job but ' +
      'is another expression, which the planner does not match (test/profiles.test.ts shows both). So the shipped profile keeps every ' +
      'write AsyncMQ makes, and its dequeue still sorts the waiting jobs of the queue; the `unguarded` column is what the index would ' +
      'give. Lifting the bound takes AsyncMQ ordering by an expression that cannot fail, which an index could then hold. ' +
      "Even then the drain has a second bound: AsyncMQ's dequeue and complete are two transactions of two statements each, eight " +
      "round trips a job, where pg-boss's fetch() and complete() are two.",
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
