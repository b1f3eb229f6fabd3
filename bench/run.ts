/**
 * `npm run bench`: every figure side by side in one run, on one database, as ratios. Uses an
 * embedded Postgres unless ASYNCMQ_BENCH_DATABASE_URL names a server (a superuser URL; the
 * bench makes and drops a database of its own there). Progress goes to stderr; the figures to
 * bench/RESULTS.md and bench/results.json.
 */
import { cpus, totalmem } from 'node:os';
import postgres from 'postgres';
import { startEmbeddedPostgres, type RunningServer } from '../scripts/embedded-postgres.js';
import { step } from './progress.js';
import { writeResults } from './report.js';
import { benchContention, benchFresh, benchLiveQueue, benchNoop } from './startup.js';
import { benchWorkload, pgBossNodeWarning } from './workload.js';

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
    const startup = {
      noop: await benchNoop(url.toString(), 60),
      fresh: await benchFresh(url.toString(), admin, 40),
      contention: await benchContention(url.toString(), admin, 32, 5),
      liveQueue: await benchLiveQueue(url.toString(), 3, 4, 2),
    };
    const workload = [];
    for (const jobs of sizes) {
      workload.push(await benchWorkload(url.toString(), admin, jobs, { fast: 200, slow: jobs >= 1_000_000 ? 30 : 60 }));
    }
    const results = {
      date: new Date().toISOString().slice(0, 10),
      postgres: version.split(' on ')[0]!,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
      node: process.versions.node,
      startup,
      workload,
    };
    await writeResults(results, new URL('.', import.meta.url));
    step('wrote bench/RESULTS.md and bench/results.json');
  } finally {
    await admin.end({ timeout: 5 });
  }
} finally {
  await root.unsafe(`drop database if exists ${database} with (force)`).catch(() => {});
  await root.end({ timeout: 5 });
  await stop();
}
