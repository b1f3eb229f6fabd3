/**
 * What AsyncMQ keeps inside its JSON columns, as types: the job record in `data`, a repeatable's
 * definition in `job_def`, and the statuses. Types and one constant only, shared by the tables
 * and the producer.
 */

/** The statuses AsyncMQ writes. The columns are plain text, so other strings still type-check. */
export const ASYNCMQ_JOB_STATUSES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'expired', 'queued'] as const;
export type AsyncmqJobStatus = (typeof ASYNCMQ_JOB_STATUSES)[number];
/** A status column: AsyncMQ's own, or any other text a newer release may write. */
export type OpenStatus = AsyncmqJobStatus | (string & {});

/** The job record AsyncMQ stores in `data` (its `Job.to_dict()`); other keys may appear. */
export interface AsyncmqJobRecord {
  id: string;
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  retries?: number;
  max_retries?: number;
  backoff?: unknown;
  ttl?: number | null;
  created_at?: number;
  last_attempt?: number | null;
  status?: OpenStatus;
  result?: unknown;
  delay_until?: number | null;
  priority?: number;
  depends_on?: string[];
  repeat_every?: number | null;
  [key: string]: unknown;
}

/** A repeatable job definition as AsyncMQ stores it in `job_def`. */
export interface AsyncmqRepeatableDefinition {
  task_id?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  every?: number | null;
  cron?: string | null;
  [key: string]: unknown;
}

