/**
 * AsyncMQ's own statements against its three tables, as its Postgres backend and job store
 * write them (0.1's `ON CONFLICT (job_id)` upsert; the repeatables insert that leaves `paused`
 * to its default): the reference for what "breaks AsyncMQ" means. Throws where AsyncMQ would
 * fail or read wrong data.
 */
import type { Sql } from 'postgres';

export async function runAsyncmqStatements(sql: Pick<Sql, 'unsafe'>, namespace?: string): Promise<void> {
  const t = (name: string) => (namespace ? `${namespace}.${name}` : name);
  const upsert = (jobId: string, status: string | null) =>
    sql.unsafe(
      `INSERT INTO ${t('asyncmq_jobs')} (queue_name, job_id, data, status) VALUES ($1, $2, $3, $4)
       ON CONFLICT (job_id) DO UPDATE SET data = EXCLUDED.data, status = EXCLUDED.status, updated_at = now()`,
      ['q', jobId, JSON.stringify({ id: jobId, task: 't' }), status],
    );
  // Enqueue; a job whose record has no status (AsyncMQ writes data.get("status")); save again;
  // a job whose id differs from another's only in case, which is another job.
  await upsert('j1', 'waiting');
  await upsert('j2', null);
  await upsert('j3', 'waiting');
  await upsert('j1', 'waiting');
  await upsert('J1', 'waiting');
  // Every job enqueued is a row of its own: nothing skipped it or merged it into another.
  const stored = new Set(((await sql.unsafe(`SELECT job_id FROM ${t('asyncmq_jobs')} WHERE queue_name = $1`, ['q'])) as unknown as { job_id: string }[]).map((r) => r.job_id));
  const lost = ['j1', 'j2', 'j3', 'J1'].filter((id) => !stored.has(id));
  if (lost.length > 0) throw new Error(`enqueued job(s) ${lost.join(', ')} not stored as rows of their own`);
  const dequeued = await sql.unsafe(
    `UPDATE ${t('asyncmq_jobs')} SET status = $3, updated_at = now()
     WHERE id = (SELECT id FROM ${t('asyncmq_jobs')} WHERE queue_name = $1 AND status = $2
                 ORDER BY created_at ASC LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING id, data`,
    ['q', 'waiting', 'active'],
  );
  if (dequeued.length !== 1) throw new Error('the dequeue found no waiting job');
  // The claimed job reads as active, so no other worker claims it again.
  const [claimed] = (await sql.unsafe(`SELECT status FROM ${t('asyncmq_jobs')} WHERE id = $1`, [dequeued[0]!.id])) as unknown as { status: string | null }[];
  if (claimed?.status !== 'active') throw new Error(`the claimed job reads as ${claimed ? String(claimed.status) : 'gone'}, not active`);
  // The queue's order and the purge by age read created_at: it must hold the insert's time.
  const [{ stale }] = (await sql.unsafe(
    `SELECT count(*)::int AS stale FROM ${t('asyncmq_jobs')}
     WHERE created_at IS NULL OR updated_at IS NULL OR abs(extract(epoch FROM created_at - localtimestamp)) > 86400`,
  )) as unknown as [{ stale: number }];
  if (stale > 0) throw new Error(`${stale} job(s) without the time of their insert in created_at`);

  await sql.unsafe(
    `INSERT INTO ${t('asyncmq_repeatables')} (queue_name, job_def, next_run) VALUES ($1, $2, now())
     ON CONFLICT (queue_name, job_def) DO UPDATE SET next_run = EXCLUDED.next_run`,
    ['q', JSON.stringify({ task_id: 't', every: 60 })],
  );
  const due = await sql.unsafe(`SELECT job_def, next_run, paused FROM ${t('asyncmq_repeatables')} WHERE queue_name = $1 AND paused = FALSE AND next_run <= now()`, ['q']);
  if (due.length !== 1) throw new Error('the new repeatable is not due');
  await sql.unsafe(`UPDATE ${t('asyncmq_repeatables')} SET paused = TRUE WHERE queue_name = $1`, ['q']);

  await sql.unsafe(`INSERT INTO ${t('asyncmq_cancelled_jobs')} (queue_name, job_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, ['q', 'j2']);
  const cancelled = await sql.unsafe(`SELECT 1 FROM ${t('asyncmq_cancelled_jobs')} WHERE queue_name = $1 AND job_id = $2`, ['q', 'j2']);
  if (cancelled.length !== 1) throw new Error('the cancellation was not recorded');
  // Ack and clean-up: the acked job is gone.
  await sql.unsafe(`DELETE FROM ${t('asyncmq_jobs')} WHERE queue_name = $1 AND job_id = $2`, ['q', 'j1']);
  const acked = await sql.unsafe(`SELECT 1 FROM ${t('asyncmq_jobs')} WHERE queue_name = $1 AND job_id = $2`, ['q', 'j1']);
  if (acked.length !== 0) throw new Error('the acked job is still there');
  await sql.unsafe(`DELETE FROM ${t('asyncmq_cancelled_jobs')} WHERE queue_name = $1 AND job_id = $2`, ['q', 'j2']);
  await sql.unsafe(`DELETE FROM ${t('asyncmq_repeatables')} WHERE queue_name = $1`, ['q']);
}
