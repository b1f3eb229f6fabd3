// An app whose drizzle-kit migrations own AsyncMQ's tables: at startup it only checks them
// (verifyPostgresBackend creates nothing, and fails with ASYNCMQ_SCHEMA_INCOMPLETE until the migrations ran).
import { and, asc, eq, sql } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { verifyPostgresBackend, type AsyncmqJobRecord } from 'asyncmq-postgres';
import { asyncmq, asyncmqCancelledJobs, asyncmqJobs, users } from './db/schema.js';

export async function startup(url: string): Promise<void> {
  await verifyPostgresBackend({ connectionString: url, schema: asyncmq });
}

/** The next waiting job of a queue, with the user it is for and its cancellation, if any. */
export function nextJob(db: PostgresJsDatabase, queue: string) {
  return db
    .select()
    .from(asyncmqJobs)
    .innerJoin(users, eq(users.id, sql<number>`(${asyncmqJobs.data}->'kwargs'->>'user_id')::int`))
    .leftJoin(asyncmqCancelledJobs, and(eq(asyncmqCancelledJobs.queueName, asyncmqJobs.queueName), eq(asyncmqCancelledJobs.jobId, asyncmqJobs.jobId)))
    .where(and(eq(asyncmqJobs.queueName, queue), eq(asyncmqJobs.status, 'waiting')))
    .orderBy(asc(asyncmqJobs.createdAt))
    .limit(1);
}

/** Enqueues a job for a new user, and reads it back through the join. */
export async function enqueueAndFetch(url: string) {
  // A client of its own: drizzle() changes the parsers of the client it is given.
  const client = postgres(url, { max: 1 });
  const db = drizzle({ client });
  try {
    const [user] = await db.insert(users).values({ email: 'ada@example.com' }).returning();
    const record: AsyncmqJobRecord = { id: `welcome-${user!.id}`, task: 'emails.welcome', kwargs: { user_id: user!.id }, status: 'waiting' };
    // AsyncMQ 0.8 on: job ids are unique per queue.
    await db
      .insert(asyncmqJobs)
      .values({ queueName: 'emails', jobId: record.id, data: record, status: 'waiting' })
      .onConflictDoUpdate({ target: [asyncmqJobs.queueName, asyncmqJobs.jobId], set: { data: record } });
    const [row] = await nextJob(db, 'emails');
    if (!row) throw new Error('the job should be waiting');
    return {
      email: row.users.email,
      jobId: row.asyncmq_jobs.jobId,
      task: row.asyncmq_jobs.data.task,
      createdAt: row.asyncmq_jobs.createdAt,
      cancelled: row.asyncmq_cancelled_jobs !== null,
    };
  } finally {
    await client.end();
  }
}

// `npm start`, with DATABASE_URL set.
if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env.DATABASE_URL!;
  await startup(url);
  console.log(JSON.stringify(await enqueueAndFetch(url)));
}
