// Typed queries on AsyncMQ's tables through the app's own Drizzle client.
import { and, asc, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { installOrDropPostgresBackend, type AsyncmqJobRecord } from 'asyncmq-postgres';
import { asyncmqCancelledJobs, asyncmqJobs, type NewAsyncmqJob } from './schema.js';

export async function enqueueAndFetch(url: string): Promise<{ jobId: string; status: string | null; task: string }> {
  await installOrDropPostgresBackend({ connectionString: url });
  // A client of its own: drizzle() changes the parsers of the client it is given.
  const client = postgres(url, { max: 1 });
  const db = drizzle(client);
  try {
    const record: AsyncmqJobRecord = { id: 'job-1', task: 'emails.send', args: ['ada@example.com'], kwargs: {}, status: 'waiting' };
    const job: NewAsyncmqJob = { queueName: 'emails', jobId: record.id, data: record, status: 'waiting' };
    await db.insert(asyncmqJobs).values(job).onConflictDoUpdate({ target: asyncmqJobs.jobId, set: { data: record } });
    const [next] = await db
      .select({ jobId: asyncmqJobs.jobId, status: asyncmqJobs.status, data: asyncmqJobs.data })
      .from(asyncmqJobs)
      .where(and(eq(asyncmqJobs.queueName, 'emails'), eq(asyncmqJobs.status, 'waiting')))
      .orderBy(asc(asyncmqJobs.createdAt))
      .limit(1);
    const cancelled = await db.select().from(asyncmqCancelledJobs).where(eq(asyncmqCancelledJobs.jobId, 'job-1'));
    if (!next || cancelled.length > 0) throw new Error('the job should be waiting and not cancelled');
    const task: string = next.data.task;
    return { jobId: next.jobId, status: next.status, task };
  } finally {
    await client.end();
  }
}
