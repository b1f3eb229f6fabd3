/**
 * `npm run demo`: the whole life of the schema on a throwaway embedded Postgres, no setup:
 * install and status through the CLI, a job written and read through Drizzle with the
 * package's tables, then drop. It runs this checkout's sources; an app imports the same things
 * from `asyncmq-postgres` and `asyncmq-postgres/schema` (see examples/drizzle-kit-owns and
 * examples/installer-owns).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { and, asc, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { asyncmqJobs, type AsyncmqJobRecord } from '../src/schema.js';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.js';

const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

console.log('Starting an embedded Postgres for the demo...');
const server = await startEmbeddedPostgres();
try {
  const env = { ...process.env, ASYNCMQ_POSTGRES_BACKEND_URL: server.url };
  const cli = (...args: string[]) => {
    console.log(`\n$ npx --no-install asyncmq-postgres ${args.join(' ')}`);
    const result = spawnSync(process.execPath, ['--import', 'tsx', bin, ...args], { env, stdio: 'inherit' });
    console.log(`(exit ${result.status})`);
  };

  cli('status');
  cli('install');
  cli('install');
  cli('status');

  console.log('\nWriting a job and reading it back through Drizzle:');
  const client = postgres(server.url, { max: 1, onnotice: () => {} });
  const db = drizzle({ client });
  const record: AsyncmqJobRecord = { id: 'demo-1', task: 'emails.send', args: ['ada@example.com'], kwargs: {}, retries: 0, max_retries: 3, status: 'waiting' };
  await db.insert(asyncmqJobs).values({ queueName: 'emails', jobId: record.id, data: record, status: 'waiting' });
  const [job] = await db
    .select()
    .from(asyncmqJobs)
    .where(and(eq(asyncmqJobs.queueName, 'emails'), eq(asyncmqJobs.status, 'waiting')))
    .orderBy(asc(asyncmqJobs.createdAt))
    .limit(1);
  console.log(job);
  await client.end();

  cli('drop');
  cli('drop', '--yes');
} finally {
  await server.stop();
}
