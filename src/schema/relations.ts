/**
 * Drizzle relations between a job and its cancellation, for any set of tables the factory makes
 * (every schema version, namespace and name set), on both drizzle-orm lines:
 * - `asyncmqRelations(tables)`: drizzle-orm 0.x's `relations()`, for `drizzle({ schema })`;
 * - `asyncmqRelationsPart(tables)`: drizzle-orm 1.0's `defineRelationsPart()`, for
 *   `drizzle({ relations })`.
 *
 * The key is `(queue_name, job_id)` at every schema version. That is how AsyncMQ itself finds a
 * cancellation on every release from 0.1.0 to 0.9.1 (`is_job_cancelled`, and from 0.9 the
 * dequeue's `NOT EXISTS`, all match `queue_name = $1 AND job_id = $2`), and the cancelled-jobs
 * table's primary key; the jobs table's own unique key (`job_id` alone before 0.8) only makes
 * the pair unique there too. Both ends are optional: most jobs have no cancellation, and
 * AsyncMQ 0.9's `cancel_job` deletes a waiting or delayed job right after recording its
 * cancellation, so a cancellation outlives its job.
 *
 * Neither line's function is imported by name (each is missing from the other line, and a
 * missing named import fails the whole module): both are read from the namespace at call time,
 * and the wrong one for the installed line is refused in words. The declared types use only
 * what both lines' `drizzle-orm` exports (`One`), so the consumer's drizzle-orm computes the
 * query results.
 */
import * as orm from 'drizzle-orm';
import type { One } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { AsyncmqPostgresError } from '../errors.js';

/** The two tables the relations join: any `createAsyncmqSchema(...)` result has them. */
export interface AsyncmqRelationTables {
  jobs: PgTable;
  cancelledJobs: PgTable;
}

type NameOf<T> = T extends { _: { name: infer N extends string } } ? N : string;

/**
 * drizzle-orm 0.x's `Relations<table name, config>`, spelled by its members: that class is not in
 * 1.0's `drizzle-orm`, so naming it would break this file there; 0.x's schema reads a value of
 * this shape as the relations of `TTable`.
 */
export interface AsyncmqLegacyRelations<TTable, TConfig> {
  readonly table: TTable;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- 0.x passes its own helpers type here
  readonly config: (helpers: any) => TConfig;
  readonly $brand: 'Relations';
}

/** What `asyncmqRelations` returns: spread both into the schema given to `drizzle()`. */
export interface AsyncmqRelations<T extends AsyncmqRelationTables> {
  /** `cancellation`: the job's row in the cancelled-jobs table, or null. */
  jobsRelations: AsyncmqLegacyRelations<T['jobs'], { cancellation: One<NameOf<T['cancelledJobs']>, false> }>;
  /** `job`: the cancelled job's row, or null once AsyncMQ has deleted it. */
  cancelledJobsRelations: AsyncmqLegacyRelations<T['cancelledJobs'], { job: One<NameOf<T['jobs']>, false> }>;
}

/**
 * The keys the 1.0 part gives the two tables: `db.query.<key>`. Default `jobs` and
 * `cancelledJobs`; another pair where the app's own relations already use those keys.
 */
export interface AsyncmqRelationKeys<J extends string = 'jobs', C extends string = 'cancelledJobs'> {
  jobs?: J;
  cancelledJobs?: C;
}

/**
 * What `asyncmqRelationsPart` returns: drizzle-orm 1.0's relations part (its
 * `ExtractTablesWithRelationsParts`, spelled out), to spread into `drizzle({ relations })`.
 * In 1.0, `One<key, true>` is an optional one-relation to the table under that key.
 */
export type AsyncmqRelationsPart<T extends AsyncmqRelationTables, J extends string = 'jobs', C extends string = 'cancelledJobs'> = {
  [K in J]: { table: T['jobs']; name: K; relations: { cancellation: One<C, true> } };
} & {
  [K in C]: { table: T['cancelledJobs']; name: K; relations: { job: One<J, true> } };
};

type Api = {
  relations?: (table: PgTable, config: (helpers: { one: (table: PgTable, config?: object) => unknown }) => object) => unknown;
  defineRelationsPart?: (schema: object, config: (r: Record<string, Record<string, unknown>> & { one: Record<string, (config: object) => unknown> }) => object) => unknown;
};

function api(): Api {
  return orm as unknown as Api;
}

function check(tables: AsyncmqRelationTables, call: string): void {
  if (!orm.is(tables?.jobs, orm.Table) || !orm.is(tables?.cancelledJobs, orm.Table)) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_USAGE',
      `${call} takes the tables createAsyncmqSchema() returns (or the schema entry's asyncmq01 ... asyncmq09), with jobs and cancelledJobs`,
    );
  }
}

function wrongLine(call: string, other: string): AsyncmqPostgresError {
  return new AsyncmqPostgresError(
    'ASYNCMQ_USAGE',
    `${call} needs drizzle-orm's ${call === 'asyncmqRelations' ? '0.x relations() (drizzle-orm below 1.0)' : '1.0 defineRelationsPart() (drizzle-orm 1.0 or later)'}, ` +
      `which the installed drizzle-orm does not have; on this drizzle-orm use ${other}`,
  );
}

/**
 * drizzle-orm 0.x: the relations of a job and its cancellation, for `drizzle({ schema })`:
 * `schema: { ...tables, ...asyncmqRelations(tables) }`, then
 * `db.query.jobs.findMany({ with: { cancellation: true } })`.
 */
export function asyncmqRelations<T extends AsyncmqRelationTables>(tables: T): AsyncmqRelations<T> {
  check(tables, 'asyncmqRelations');
  const relations = api().relations;
  if (typeof relations !== 'function') throw wrongLine('asyncmqRelations', 'asyncmqRelationsPart');
  const { jobs, cancelledJobs } = tables as unknown as { jobs: PgTable & Record<string, unknown>; cancelledJobs: PgTable & Record<string, unknown> };
  // 0.x wants the columns on one side only; the other side finds them by the table. The
  // cancellation's side holds them: its key is the pair.
  return {
    jobsRelations: relations(jobs, ({ one }) => ({ cancellation: one(cancelledJobs) })),
    cancelledJobsRelations: relations(cancelledJobs, ({ one }) => ({
      job: one(jobs, { fields: [cancelledJobs.queueName, cancelledJobs.jobId], references: [jobs.queueName, jobs.jobId] }),
    })),
  } as unknown as AsyncmqRelations<T>;
}

/**
 * drizzle-orm 1.0: the relations of a job and its cancellation as a relations part, for
 * `drizzle({ relations: { ...appRelations, ...asyncmqRelationsPart(tables) } })`, then
 * `db.query.jobs.findMany({ with: { cancellation: true } })`. `keys` renames the two tables'
 * keys (`db.query.<key>`) where the app's relations already use `jobs` or `cancelledJobs`.
 */
export function asyncmqRelationsPart<T extends AsyncmqRelationTables, const J extends string = 'jobs', const C extends string = 'cancelledJobs'>(
  tables: T,
  keys: AsyncmqRelationKeys<J, C> = {},
): AsyncmqRelationsPart<T, J, C> {
  check(tables, 'asyncmqRelationsPart');
  const define = api().defineRelationsPart;
  if (typeof define !== 'function') throw wrongLine('asyncmqRelationsPart', 'asyncmqRelations');
  const J = keys.jobs ?? 'jobs';
  const C = keys.cancelledJobs ?? 'cancelledJobs';
  if (typeof J !== 'string' || typeof C !== 'string' || J === '' || C === '' || J === C) {
    throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `asyncmqRelationsPart's keys must be two different non-empty strings, got ${JSON.stringify(keys)}`);
  }
  return define({ [J]: tables.jobs, [C]: tables.cancelledJobs }, (r) => {
    const jobs = r[J]!;
    const cancelled = r[C]!;
    return {
      [J]: { cancellation: r.one[C]!({ from: [jobs.queueName, jobs.jobId], to: [cancelled.queueName, cancelled.jobId], optional: true }) },
      [C]: { job: r.one[J]!({ from: [cancelled.queueName, cancelled.jobId], to: [jobs.queueName, jobs.jobId], optional: true }) },
    };
  }) as AsyncmqRelationsPart<T, J, C>;
}
