/**
 * `npm run bench`: every figure side by side in one run, on one database, as ratios. Uses an
 * embedded Postgres unless ASYNCMQ_BENCH_DATABASE_URL names a server (a superuser URL; the
 * bench makes and drops a database of its own there). ASYNCMQ_BENCH_ONLY=upgrade (a comma list
 * of sections) runs some sections and keeps the other sections' figures from results.json.
 * Progress goes to stderr; the figures to bench/RESULTS.md and bench/results.json.
 */
import { cpus, totalmem } from 'node:os';
import postgres from 'postgres';
import { startEmbeddedPostgres, type RunningServer } from '../scripts/embedded-postgres.js';
import { step } from './progress.js';
import { mergeResults, readResults, writeResults, type BenchResults, type Measured } from './report.js';
import { benchContention, benchFresh, benchLiveQueue, benchNoop } from './startup.js';
import { benchUpgrade } from './upgrade.js';
import { benchWorkload, pgBossNodeWarning } from './workload.js';
import { benchAppStart } from './app-start.js';
import { benchStatements09 } from './asyncmq09.js';
import { benchDrain } from './drain.js';
import { benchWriteCost } from './writes.js';

const SECTIONS = ['startup', 'workload', 'upgrade', 'profiles'] as const;
type Section = (typeof SECTIONS)[number];

const only = process.env.ASYNCMQ_BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s)) ?? [];
if (unknown.length > 0 || only?.length === 0) {
  process.stderr.write(`ASYNCMQ_BENCH_ONLY is ${JSON.stringify(process.env.ASYNCMQ_BENCH_ONLY)}; known sections: ${SECTIONS.join(', ')}\n`);
  process.exit(2);
}
const runs = (section: Section) => !only || only.includes(section);

const sizes = (process.env.ASYNCMQ_BENCH_JOBS ?? '100000,1000000').split(',').map(Number);
const warning = pgBossNodeWarning();
if (warning) step(`note: ${warning}`);
let server: RunningServer | undefined;
let serverUrl = process.env.ASYNCMQ_BENCH_DATABASE_URL;
if (!serverUrl) {
  step('starting an embedded Postgres');
  server = await startEmbeddedPostgres();
  serverUrl = server.url;
}
const stop = async () => {
  await server?.stop();
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));

const root = postgres(serverUrl, { onnotice: () => {}, max: 1 });
const database = `asyncmq_bench_${process.pid}`;
try {
  await root.unsafe(`create database ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const admin = postgres(url.toString(), { onnotice: () => {}, max: 2 });
  try {
    const [{ version }] = (await admin`select version()`) as unknown as [{ version: string }];
    const settings = (['ASYNCMQ_BENCH_ONLY', 'ASYNCMQ_BENCH_JOBS'] as const).filter((name) => process.env[name]).map((name) => `${name}=${process.env[name]}`);
    const measured: Measured = {
      run: `\`${[...settings, 'npm run bench'].join(' ')}\` against ${server ? 'the embedded server' : 'the server of ASYNCMQ_BENCH_DATABASE_URL'}`,
      date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      postgres: version.split(' on ')[0]!,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
      node: process.versions.node,
    };
    const results: BenchResults = {};
    if (runs('startup')) {
      results.startup = {
        measured,
        noop: await benchNoop(url.toString(), 60),
        fresh: await benchFresh(url.toString(), admin, 40),
        contention: await benchContention(url.toString(), admin, 32, 5),
        liveQueue: await benchLiveQueue(url.toString(), 3, 4, 2),
      };
    }
    if (runs('workload')) {
      const workload = [];
      for (const jobs of sizes) {
        workload.push(await benchWorkload(url.toString(), admin, jobs, { fast: 200, slow: jobs >= 1_000_000 ? 30 : 60 }));
      }
      results.workload = { measured, sizes: workload };
    }
    if (runs('profiles')) {
      // AsyncMQ 0.9 under each index profile. The drain and the write cost run on at most
      // 100000 jobs; a quick pass (ASYNCMQ_BENCH_JOBS=100000) drains for 10 s instead of 30.
      const statements = [];
      for (const jobs of sizes) statements.push(await benchStatements09(url.toString(), admin, jobs, { fast: 100, slow: jobs >= 1_000_000 ? 20 : 40 }));
      const small = Math.min(100_000, ...sizes);
      const quick = Math.max(...sizes) <= 100_000;
      results.profiles = {
        measured,
        appStart: await benchAppStart(url.toString(), 60),
        statements,
        drain: await benchDrain(url.toString(), admin, small, [4, 16], quick ? 10 : 30),
        writes: await benchWriteCost(url.toString(), admin, small, quick ? 6 : 15, quick ? 3 : 5),
      };
    }
    if (runs('upgrade')) {
      results.upgrade = [{ measured, ...(await benchUpgrade(url.toString(), admin, Math.max(...sizes), { writers: 4, rounds: 5 })) }];
    }
    const dir = new URL('.', import.meta.url);
    await writeResults(mergeResults(await readResults(dir), results), dir);
    step('wrote bench/RESULTS.md and bench/results.json');
  } finally {
    await admin.end({ timeout: 5 });
  }
} finally {
  await root.unsafe(`drop database if exists ${database} with (force)`).catch(() => {});
  await root.end({ timeout: 5 });
  await stop();
}
