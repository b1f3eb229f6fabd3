/**
 * A typed producer for apps that share the database with AsyncMQ's Python workers: enqueue a
 * job, enqueue a delayed one, cancel one, through the app's own Drizzle database or inside its
 * transaction (pg-boss's `fromDrizzle(tx)` is the model), writing exactly the row and job dict
 * AsyncMQ writes at the tables' schema version (job.ts says what that is, and where it was read).
 *
 * The statements, as AsyncMQ's job store and backend send them, with every operator and function
 * pg_catalog's by name (the package's rule for all SQL it sends):
 * - enqueue: `INSERT (queue_name, job_id, data, status)`, `ON CONFLICT` the version's key
 *   (`job_id` before 0.8, `queue_name, job_id` from 0.8), `DO UPDATE SET data, status,
 *   updated_at = now()` for `replace` (AsyncMQ's `backend.enqueue`), `DO NOTHING` for `skip`
 *   (the default: `Queue.add` with a `job_id` returns the job already there and writes nothing);
 * - cancel, up to 0.8: the cancellation `INSERT ... ON CONFLICT DO NOTHING`; from 0.9 also, in
 *   one transaction, the waiting or delayed row deleted and an active one marked `cancelled`
 *   with `cancelled_at`, as AsyncMQ 0.9's `cancel_job` does.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { AsyncmqPostgresError } from '../errors.js';
import { resolveBackend, type AsyncmqSchemaTables } from '../schema/backend.js';
import { compareVersions, type SchemaVersion } from '../config/versions.js';
import { buildJob, checkJobId, delayUntilOf, type AsyncmqDelay, type AsyncmqJobDict, type AsyncmqJobInput } from './job.js';

/** The schema version of a table set, at the type level: the tables it has tell (0.2 and 0.8 have the same ones). */
export type SchemaVersionOfTables<T> = 'pausedQueues' extends keyof T
  ? T['pausedQueues' & keyof T] extends PgTable
    ? '0.9'
    : SchemaVersion
  : 'workersHeartbeat' extends keyof T
    ? T['workersHeartbeat' & keyof T] extends PgTable
      ? '0.2' | '0.8'
      : SchemaVersion
    : '0.1';

/**
 * The app's Drizzle database or transaction (drizzle-orm 0.45 or 1.0, any Postgres driver):
 * what the producer calls on it. Both lines' `PgDatabase` and `PgTransaction` have these.
 */
export interface DrizzleWriter {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each line types its builders its own way
  insert(table: any): any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  update(table: any): any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  delete(table: any): any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  transaction(run: (tx: any) => Promise<any>): Promise<any>;
}

export interface EnqueueOptions {
  /**
   * With a `jobId` already in the queue (before 0.8: anywhere, as its key is the id alone):
   * `skip` writes nothing and reports it (`Queue.add`'s behaviour), `replace` overwrites the
   * job's record and status (AsyncMQ's `backend.enqueue`). Default `skip`.
   */
  onConflict?: 'skip' | 'replace';
  /**
   * The payload limit as AsyncMQ measures it (Python's JSON, UTF-8 bytes); null for none.
   * Default AsyncMQ's own: 1 MiB from 0.9, none before.
   */
  maxPayloadBytes?: number | null;
}

export interface Enqueued<V extends SchemaVersion> {
  jobId: string;
  /** False when `skip` found the job already there: nothing was written. */
  enqueued: boolean;
  /** The job dict as written into `data` (or as it would have been, when skipped). */
  job: AsyncmqJobDict<V>;
}

export type Cancelled<V extends SchemaVersion> = {
  /** False when the job was already recorded as cancelled. */
  recorded: boolean;
} & (V extends '0.9' ? { /** Waiting or delayed rows deleted. */ removed: number; /** Active rows marked cancelled. */ flagged: number } : {});

export interface AsyncmqProducer<V extends SchemaVersion> {
  /** The schema version the producer writes for (read from the tables). */
  readonly version: V;
  /** Enqueues a job to run now, as `Queue.add` without a delay does. */
  enqueue(db: DrizzleWriter, job: AsyncmqJobInput, options?: EnqueueOptions): Promise<Enqueued<V>>;
  /** Enqueues a job to run later, as `Queue.add(delay=...)` does. */
  enqueueDelayed(db: DrizzleWriter, job: AsyncmqJobInput & AsyncmqDelay, options?: EnqueueOptions): Promise<Enqueued<V>>;
  /** Cancels a job, as AsyncMQ's `cancel_job` of the version does. */
  cancel(db: DrizzleWriter, target: { queue: string; jobId: string }): Promise<Cancelled<V>>;
}

function checkDb(db: unknown, call: string): asserts db is DrizzleWriter {
  const d = db as Partial<DrizzleWriter> | null;
  if (!d || typeof d.insert !== 'function' || typeof d.update !== 'function' || typeof d.delete !== 'function' || typeof d.transaction !== 'function') {
    throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `${call} takes the app's Drizzle database or transaction (drizzle-orm's PgDatabase or PgTransaction) as its first argument`);
  }
}

const is = (column: unknown, value: unknown): SQL => sql`${column} OPERATOR(pg_catalog.=) ${value}`;

/**
 * The producer for a table set from `createAsyncmqSchema()` (or the schema entry's `asyncmq01`
 * ... `asyncmq09`): its names, namespace and schema version decide what is written.
 */
export function createAsyncmqProducer<T extends AsyncmqSchemaTables>(tables: T): AsyncmqProducer<SchemaVersionOfTables<T>> {
  type V = SchemaVersionOfTables<T>;
  const version = resolveBackend({ schema: tables, env: {} }).version as unknown as V;
  const jobs = tables.jobs as PgTable & Record<string, unknown>;
  const cancelled = tables.cancelledJobs as PgTable & Record<string, unknown>;
  const key = compareVersions(version, '0.8') < 0 ? [jobs.jobId] : [jobs.queueName, jobs.jobId];

  async function write(db: DrizzleWriter, job: ReturnType<typeof buildJob<V>>, options: EnqueueOptions): Promise<Enqueued<V>> {
    const onConflict = options.onConflict ?? 'skip';
    if (onConflict !== 'skip' && onConflict !== 'replace') throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `onConflict must be 'skip' or 'replace', got ${JSON.stringify(onConflict)}`);
    const insert = db.insert(jobs).values({ queueName: job.queue, jobId: job.jobId, data: job.dict, status: job.status });
    const statement =
      onConflict === 'skip'
        ? insert.onConflictDoNothing({ target: key })
        : insert.onConflictDoUpdate({ target: key, set: { data: sql`excluded.data`, status: sql`excluded.status`, updatedAt: sql`pg_catalog.now()` } });
    const rows: unknown[] = await statement.returning({ id: jobs.id });
    return { jobId: job.jobId, enqueued: rows.length > 0, job: job.dict };
  }

  return {
    version,
    async enqueue(db, input, options = {}) {
      checkDb(db, 'enqueue');
      if (input && typeof input === 'object' && ('delay' in input || 'runAt' in input)) {
        throw new AsyncmqPostgresError('ASYNCMQ_USAGE', 'enqueue runs a job now; for delay or runAt use enqueueDelayed');
      }
      return write(db, buildJob<V>(input, version, { ...(options.maxPayloadBytes !== undefined ? { maxPayloadBytes: options.maxPayloadBytes } : {}) }), options);
    },
    async enqueueDelayed(db, input, options = {}) {
      checkDb(db, 'enqueueDelayed');
      const now = Date.now() / 1000;
      const delayUntil = delayUntilOf(input as AsyncmqDelay, now);
      return write(
        db,
        buildJob<V>(input, version, { delayUntil, now, ...(options.maxPayloadBytes !== undefined ? { maxPayloadBytes: options.maxPayloadBytes } : {}) }),
        options,
      );
    },
    async cancel(db, target) {
      checkDb(db, 'cancel');
      if (target === null || typeof target !== 'object') throw new AsyncmqPostgresError('ASYNCMQ_USAGE', 'cancel takes { queue, jobId }');
      const queue = target.queue;
      if (typeof queue !== 'string' || queue === '') throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `queue must be a non-empty string, got ${JSON.stringify(queue)}`);
      // Any id a job can have; AsyncMQ's rules for new ids do not apply to cancelling one.
      const jobId = checkJobId(target.jobId, '0.1');
      const record = async (tx: DrizzleWriter) =>
        ((await tx.insert(cancelled).values({ queueName: queue, jobId }).onConflictDoNothing().returning({ jobId: cancelled.jobId })) as unknown[]).length > 0;
      if (compareVersions(version, '0.9') < 0) return { recorded: await record(db) } as Cancelled<V>;
      return (await db.transaction(async (tx: DrizzleWriter) => {
        const recorded = await record(tx);
        const removed = (await tx
          .delete(jobs)
          .where(sql`${is(jobs.queueName, queue)} AND ${is(jobs.jobId, jobId)} AND ${jobs.status} OPERATOR(pg_catalog.=) ANY (${sql`ARRAY['waiting', 'delayed']::pg_catalog.text[]`})`)
          .returning({ id: jobs.id })) as unknown[];
        const flagged = (await tx
          .update(jobs)
          .set({
            status: 'cancelled',
            data: sql`${jobs.data} OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('status', 'cancelled'::pg_catalog.text, 'cancelled_at', EXTRACT(EPOCH FROM pg_catalog.now())::double precision)`,
            delayUntil: null,
            updatedAt: sql`pg_catalog.now()`,
          })
          .where(sql`${is(jobs.queueName, queue)} AND ${is(jobs.jobId, jobId)} AND ${is(jobs.status, 'active')}`)
          .returning({ id: jobs.id })) as unknown[];
        return { recorded, removed: removed.length, flagged: flagged.length };
      })) as Cancelled<V>;
    },
  };
}
