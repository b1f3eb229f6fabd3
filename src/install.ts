/**
 * `installOrDropPostgresBackend`: creates what is missing, or drops the package's tables, at
 * application startup, on every replica, against a database that may be serving the queue.
 *
 * - The catalog is read first, outside any transaction. When everything is in place, that one
 *   query is all that runs: no DDL, no lock on the tables, so a restart never waits behind the
 *   queue's writers.
 * - Otherwise one transaction takes `pg_advisory_xact_lock` for the namespace on the DDL's own
 *   connection (so it also works behind PgBouncer in transaction mode), reads the catalog
 *   again, and creates only what is still missing. Concurrent `CREATE ... IF NOT EXISTS` is not
 *   safe in Postgres; serializing is.
 * - Every lock wait is bounded by `lock_timeout`, set for the transaction only.
 * - An existing table of another shape is never altered: install stops and lists the differences.
 * - An index missing from a table that already existed is not built inside the transaction (a
 *   plain CREATE INDEX would block the queue's writers while it builds). It is reported with the
 *   `CREATE INDEX CONCURRENTLY` statement to run, or built that way after the transaction when
 *   `concurrentIndexes` is set.
 */
import type { Sql, TransactionSql } from 'postgres';
import { compareCatalog, missingIndexes, readCatalog, type CatalogState, type MissingIndex, type TableStatus } from './catalog.js';
import { openPool, translateError, type Connection } from './connection.js';
import { planConcurrentIndex, planDrop, planInstall, qualifiedName, type TableShape } from './ddl.js';
import { AsyncmqPostgresError } from './errors.js';
import { lockKey, resolveBackend, resolveBackendConnection, type BackendOptions, type ResolvedBackend } from './resolve.js';

export interface InstallOrDropOptions extends BackendOptions {
  /** Drop the package's tables (and with them their indexes) instead of installing. */
  drop?: boolean;
  /**
   * Build indexes missing from tables that already exist with `CREATE INDEX CONCURRENTLY`, after
   * the transaction, instead of only reporting them in `pendingIndexes`. Default false.
   */
  concurrentIndexes?: boolean;
}

export interface PendingIndex {
  table: string;
  name: string;
  /** The statements that build it without blocking writers; run each outside a transaction. */
  sql: string[];
  /**
   * `not-requested`: install builds no index on an existing table unless `concurrentIndexes` is
   * set. `building-elsewhere`: it was, but another session is building indexes there now.
   */
  reason: 'not-requested' | 'building-elsewhere';
}

export interface PostgresBackendReport {
  action: 'install' | 'drop';
  /** The namespace the tables live in. */
  namespace: string;
  /** What this call created, in order: `schema x`, `table x.y`, `index x.z`. */
  created: string[];
  /** What this call dropped: `table x.y`. */
  dropped: string[];
  /** Indexes missing from existing tables, not built by this call. */
  pendingIndexes: PendingIndex[];
}

/** The TypeScript counterpart of AsyncMQ's `install_or_drop_postgres_backend`. */
export async function installOrDropPostgresBackend(options: InstallOrDropOptions = {}): Promise<PostgresBackendReport> {
  const backend = resolveBackend(options);
  const connection = resolveBackendConnection(options, backend.settings);
  return withPool(connection, backend, async (sql, run) =>
    options.drop ? drop(sql, backend, run) : install(sql, backend, run, options.concurrentIndexes === true),
  );
}

/** Runs a statement with a description of it, so a failure can say what was being done. */
export type Step = <T>(what: string, action: () => Promise<T>) => Promise<T>;

/** Opens a pool, runs `body`, closes every connection it opened, and translates any failure. */
export async function withPool<T>(
  connection: Connection,
  backend: ResolvedBackend,
  body: (sql: Sql, step: Step) => Promise<T>,
): Promise<T> {
  const sql = openPool(connection);
  let current = 'connecting';
  const step: Step = (what, action) => {
    current = what;
    return action();
  };
  try {
    return await body(sql, step);
  } catch (error) {
    throw translateError(error, connection, current, backend.lockTimeoutMs);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function existingOf(state: CatalogState) {
  return { namespace: state.namespace ?? undefined, namespaceExists: state.namespaceExists, tables: state.tables.map((t) => t.name) };
}

function namespaceOf(state: CatalogState): string {
  if (state.namespace === null) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_INVALID_SETTING',
      'no schema is selected: the search_path names no existing schema; set postgresSchema (ASYNCMQ_POSTGRES_SCHEMA) or fix the search_path',
      { setting: 'postgresSchema' },
    );
  }
  return state.namespace;
}

function refuseOtherShapes(statuses: TableStatus[], state: CatalogState): void {
  const different = statuses.filter((t) => t.status === 'different');
  if (different.length === 0) return;
  const lines = different.flatMap((t) =>
    t.items
      .filter((i) => i.kind !== 'index' && i.status !== 'present')
      .map((i) => `  ${state.namespace}.${t.name}: ${i.kind} ${i.name} ${i.status}` + (i.expected ? `, expected ${i.expected}` : '') + (i.actual ? `, found ${i.actual}` : '')),
  );
  throw new AsyncmqPostgresError(
    'ASYNCMQ_SCHEMA_MISMATCH',
    `existing tables differ from the asyncmq-postgres schema; install alters nothing, so fix or drop them first:\n${lines.join('\n')}`,
  );
}

async function beginLocked<T>(sql: Sql, backend: ResolvedBackend, run: Step, namespace: string, body: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return (await sql.begin(async (tx) => {
    await tx`select set_config('lock_timeout', ${`${backend.lockTimeoutMs}ms`}, true)`;
    await run(`waiting for the install lock of namespace ${namespace} (another install or drop is running)`, () =>
      tx`select pg_advisory_xact_lock(${lockKey(namespace)}::bigint)`,
    );
    return body(tx);
  })) as T;
}

async function install(sql: Sql, backend: ResolvedBackend, run: Step, concurrentIndexes: boolean): Promise<PostgresBackendReport> {
  const { shapes } = backend;
  const before = await run('reading the catalog', () => readCatalog(sql, shapes));
  const namespace = namespaceOf(before);
  const statuses = compareCatalog(shapes, before);
  refuseOtherShapes(statuses, before);

  const created: string[] = [];
  let state = before;
  if (statuses.some((t) => t.status === 'missing') || !before.namespaceExists) {
    state = await beginLocked(sql, backend, run, namespace, async (tx) => {
      // Another installer may have finished while we waited for the lock.
      const locked = await run('reading the catalog', () => readCatalog(tx, shapes));
      refuseOtherShapes(compareCatalog(shapes, locked), locked);
      // The schema only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the
      // database even when the schema exists, which a least-privileged role lacks.
      for (const statement of planInstall(shapes, existingOf(locked))) {
        await run(`creating ${statement.object}`, () => tx.unsafe(statement.sql));
        created.push(statement.object);
      }
      return locked;
    });
  }

  // Tables that existed before the transaction keep their rows; their missing indexes are built
  // concurrently or reported, never built under a lock that stops the queue's writers.
  let pending = missingIndexes(shapes, compareCatalog(shapes, state));
  let reason: PendingIndex['reason'] = 'not-requested';
  if (concurrentIndexes && pending.length > 0) {
    const outcome = await buildConcurrently(sql, run, shapes, namespace);
    created.push(...outcome.built.map((name) => `index ${namespace}.${name}`));
    pending = outcome.left;
    reason = 'building-elsewhere';
  }
  const pendingIndexes = pending.map(({ shape, index, invalidName }): PendingIndex => ({
    table: shape.name,
    name: index.name,
    sql: planConcurrentIndex(shape, index, invalidName),
    reason,
  }));
  return { action: 'install', namespace, created, dropped: [], pendingIndexes };
}

/**
 * Builds the missing indexes of existing tables with CREATE INDEX CONCURRENTLY, which cannot run
 * in a transaction. Two such builds on one table deadlock, so one session builds at a time: it
 * holds a session-level advisory lock for the namespace's index builds while it works, and a
 * session that cannot take it leaves the work to the one that has it. The catalog is read again
 * under that lock, so an index another session finished meanwhile is not dropped and rebuilt.
 * An INVALID index is the leftover of an interrupted build and is dropped first, unless some
 * session holds the table's SHARE UPDATE EXCLUSIVE lock (a build outside this package, or a
 * vacuum), in which case that table is left for later.
 */
async function buildConcurrently(
  sql: Sql,
  run: Step,
  shapes: readonly TableShape[],
  namespace: string,
): Promise<{ built: string[]; left: MissingIndex[] }> {
  const session = await sql.reserve();
  const key = lockKey(namespace, 'index-build');
  try {
    const [{ locked }] = (await session`select pg_try_advisory_lock(${key}::bigint) as locked`) as unknown as [{ locked: boolean }];
    const missing = missingIndexes(shapes, compareCatalog(shapes, await run('reading the catalog', () => readCatalog(session, shapes))));
    if (!locked) return { built: [], left: missing };
    try {
      const built: string[] = [];
      const left: MissingIndex[] = [];
      for (const item of missing) {
        const table = qualifiedName(item.shape.schema, item.shape.name);
        const [{ busy }] = (await session`
          select exists (select 1 from pg_locks
            where locktype = 'relation' and relation = ${table}::regclass and mode = 'ShareUpdateExclusiveLock'
              and granted and pid <> pg_backend_pid()) as busy`) as unknown as [{ busy: boolean }];
        if (busy) {
          left.push(item);
          continue;
        }
        for (const statement of planConcurrentIndex(item.shape, item.index, item.invalidName)) {
          await run(`running ${statement}`, () => session.unsafe(statement));
        }
        built.push(item.index.name);
      }
      return { built, left };
    } finally {
      await session`select pg_advisory_unlock(${key}::bigint)`;
    }
  } finally {
    session.release();
  }
}

async function drop(sql: Sql, backend: ResolvedBackend, run: Step): Promise<PostgresBackendReport> {
  const { shapes } = backend;
  const before = await run('reading the catalog', () => readCatalog(sql, shapes));
  const namespace = namespaceOf(before);
  const dropped: string[] = [];
  if (before.tables.length > 0) {
    await beginLocked(sql, backend, run, namespace, async (tx) => {
      const locked = await run('reading the catalog', () => readCatalog(tx, shapes));
      for (const statement of planDrop(shapes, existingOf(locked))) {
        await run(`dropping ${statement.object}`, () => tx.unsafe(statement.sql));
        dropped.push(statement.object);
      }
    });
  }
  return { action: 'drop', namespace, created: [], dropped, pendingIndexes: [] };
}

export interface RenderSqlOptions {
  /** The drop statements instead of the install ones. */
  drop?: boolean;
  settings?: BackendOptions['settings'];
  env?: BackendOptions['env'];
}

/**
 * The statements install runs on an empty database (or drop runs on an installed one), for the
 * configured names, from the same plan the installer executes. Needs no URL and connects to
 * nothing: what a DBA reviews or runs by hand, inside one transaction.
 */
export function renderPostgresBackendSql(options: RenderSqlOptions = {}): string[] {
  const { shapes, names } = resolveBackend(options);
  const namespace = names.postgresSchema;
  const plan = options.drop
    ? planDrop(shapes, { namespace, tables: shapes.map((s) => s.name) })
    : planInstall(shapes, { namespace, namespaceExists: namespace === undefined || namespace === 'public', tables: [] });
  return plan.map((statement) => statement.sql);
}
