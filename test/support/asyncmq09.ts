/**
 * AsyncMQ 0.9.1's own statements, verbatim from fixtures/asyncmq-0.9-statements.sql, by the
 * name each has there (`dequeue-claim`, `job-upsert`, ...), with the table-name placeholders
 * filled in: what the tests and the benchmark run to see what AsyncMQ's workers see.
 */
import { readFileSync } from 'node:fs';

export type Asyncmq09Statement =
  | 'job-upsert'
  | 'job-load'
  | 'dequeue-purge-cancelled'
  | 'dequeue-claim'
  | 'ack-delete'
  | 'lifecycle-is-cancelled'
  | 'lifecycle-delete-cancelled'
  | 'lifecycle-upsert'
  | 'job-heartbeat'
  | 'pop-due-delayed'
  | 'promote-due-delayed'
  | 'list-delayed'
  | 'remove-delayed'
  | 'fetch-stalled'
  | 'reenqueue-stalled'
  | 'due-repeatables'
  | 'list-repeatables'
  | 'upsert-repeatable'
  | 'advance-repeatable'
  | 'pause-repeatable'
  | 'resume-repeatable'
  | 'remove-repeatable'
  | 'count-waiting'
  | 'count-delayed'
  | 'count-failed'
  | 'list-jobs-by-status'
  | 'all-jobs-of-queue'
  | 'list-queues'
  | 'cancel-mark'
  | 'cancel-delete-pending'
  | 'cancel-flag-active'
  | 'cancel-active-job'
  | 'remove-job'
  | 'remove-job-cancel-mark'
  | 'lock-job-for-dependencies'
  | 'jobs-with-dependencies'
  | 'worker-register'
  | 'worker-deregister'
  | 'workers-alive'
  | 'paused-queues-ensure'
  | 'pause-queue'
  | 'resume-queue'
  | 'is-queue-paused';

export interface Asyncmq09Names {
  jobs?: string;
  repeatables?: string;
  cancelledJobs?: string;
  workersHeartbeat?: string;
}

const text = readFileSync(new URL('../fixtures/asyncmq-0.9-statements.sql', import.meta.url), 'utf8');

/** Each statement's text as the fixture holds it (comments dropped, its own semicolon too). */
const parsed: Map<string, string> = (() => {
  const out = new Map<string, string>();
  const blocks = text.split(/^-- name: /m).slice(1);
  for (const block of blocks) {
    const name = block.slice(0, block.search(/[\s(]/));
    const body = block
      .split('\n')
      .slice(1)
      .filter((line) => !line.startsWith('--'))
      .join('\n');
    const statement = body.slice(0, body.lastIndexOf(';')).trim();
    out.set(name, statement);
  }
  return out;
})();

/** One statement, verbatim, for the given table names (AsyncMQ writes them unqualified). */
export function asyncmq09(name: Asyncmq09Statement, names: Asyncmq09Names = {}): string {
  const statement = parsed.get(name);
  if (!statement) throw new Error(`no statement ${name} in the AsyncMQ 0.9 fixture`);
  return statement
    .replaceAll('{settings.postgres_jobs_table_name}', names.jobs ?? 'asyncmq_jobs')
    .replaceAll('{settings.postgres_repeatables_table_name}', names.repeatables ?? 'asyncmq_repeatables')
    .replaceAll('{settings.postgres_cancelled_jobs_table_name}', names.cancelledJobs ?? 'asyncmq_cancelled_jobs')
    .replaceAll('{settings.postgres_workers_heartbeat_table_name}', names.workersHeartbeat ?? 'asyncmq_workers_heartbeat');
}

/** Every statement name the fixture holds. */
export function asyncmq09Names(): string[] {
  return [...parsed.keys()];
}

/**
 * A job as AsyncMQ 0.9's `Job.to_dict()` writes it into `data`: every key present, `priority`
 * 5 and `depends_on` empty unless given.
 */
export function asyncmq09Job(id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    task: 'bench.task',
    args: [],
    kwargs: {},
    retries: 0,
    max_retries: 3,
    backoff: null,
    ttl: null,
    created_at: Date.now() / 1000,
    last_attempt: null,
    status: 'waiting',
    result: null,
    delay_until: null,
    priority: 5,
    depends_on: [],
    repeat_every: null,
    ...fields,
  };
}

/**
 * A job record as the parameter for `data`. postgres.js serializes a parameter by the type the
 * server infers for it, JSON.stringify for jsonb, so the record goes as an object; a string
 * would be stored as a JSON string. asyncpg, which AsyncMQ uses, sends the text as it is.
 */
export function asJson(record: Record<string, unknown>): string {
  return record as unknown as string;
}
