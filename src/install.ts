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
 *   So does a name the tables need that another object holds, before anything is created.
 * - An index missing from a table that already existed is not built inside the transaction (a
 *   plain CREATE INDEX would block the queue's writers while it builds). It is reported with the
 *   `CREATE INDEX CONCURRENTLY` statement to run, or built that way after the transaction when
 *   `concurrentIndexes` is set.
 */
import type { Sql, TransactionSql } from 'postgres';
import { compareCatalog, missingIndexes, readCatalog, somethingToCreate, type CatalogState, type ItemStatus, type MissingIndex, type TableStatus } from './catalog.js';
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
   * `table-busy`: an INVALID leftover is in the way, and another session holds the table's
   * SHARE UPDATE EXCLUSIVE lock, so the leftover may be someone's build in progress.
   */
  reason: 'not-requested' | 'building-elsewhere' | 'table-busy';
}

function pendingIndex(missing: MissingIndex, reason: PendingIndex['reason']): PendingIndex {
  return { table: missing.shape.name, name: missing.index.name, sql: planConcurrentIndex(missing), reason };
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

function itemLines(statuses: TableStatus[], state: CatalogState, keep: (item: ItemStatus) => boolean): string[] {
  return statuses.flatMap((t) =>
    t.items
      .filter(keep)
      .map((i) => `  ${state.namespace}.${t.name}: ${i.kind} ${i.name} ${i.status}` + (i.expected ? `, expected ${i.expected}` : '') + (i.actual ? `, found ${i.actual}` : '')),
  );
}

/**
 * Stops before anything is done when an existing table has another shape (install alters
 * nothing; drop takes only the package's own tables) or when a name the tables need is taken
 * by another object (Postgres would fail, or quietly give a serial sequence another name that
 * the next check would not recognise).
 */
function refuseUnusable(statuses: TableStatus[], state: CatalogState, action: 'install' | 'drop'): void {
  const different = itemLines(
    statuses.filter((t) => t.status === 'different'),
    state,
    (i) => i.kind !== 'index' && i.status !== 'present',
  );
  if (different.length > 0) {
    const why =
      action === 'install'
        ? 'install alters nothing, so fix or drop them first'
        : 'drop removes only tables of the package\'s shape; drop these yourself if they are yours';
    throw new AsyncmqPostgresError('ASYNCMQ_SCHEMA_MISMATCH', `existing tables differ from the asyncmq-postgres schema; ${why}:\n${different.join('\n')}`);
  }
  const taken = itemLines(statuses, state, (i) => i.status === 'conflict');
  if (action === 'install' && taken.length > 0) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_NAME_CONFLICT',
      `names the asyncmq-postgres tables need are taken by other objects; rename or drop those, or configure other table names:\n${taken.join('\n')}`,
    );
  }
}

/**
 * What opens every install or drop transaction: a lock_timeout for this transaction only, then
 * the namespace's advisory lock. Rendered (both values are our own numbers) so that the `sql`
 * command prints exactly what runs.
 */
export function renderLockStatements(namespace: string, lockTimeoutMs: number): [timeout: string, lock: string] {
  return [`SELECT set_config('lock_timeout', '${lockTimeoutMs}ms', true)`, `SELECT pg_advisory_xact_lock(${lockKey(namespace)})`];
}

async function beginLocked<T>(sql: Sql, backend: ResolvedBackend, run: Step, namespace: string, body: (tx: TransactionSql) => Promise<T>): Promise<T> {
  const [timeout, lock] = renderLockStatements(namespace, backend.lockTimeoutMs);
  return (await sql.begin(async (tx) => {
    await tx.unsafe(timeout);
    await run(`waiting for the install lock of namespace ${namespace} (another install or drop is running)`, () => tx.unsafe(lock));
    return body(tx);
  })) as T;
}

async function install(sql: Sql, backend: ResolvedBackend, run: Step, concurrentIndexes: boolean): Promise<PostgresBackendReport> {
  const { shapes } = backend;
  let before = await run('reading the catalog', () => readCatalog(sql, shapes));
  const namespace = namespaceOf(before);
  let statuses = compareCatalog(shapes, before);
  if (somethingToCreate(statuses)) {
    before = await run('reading the catalog', () => readCatalog(sql, shapes, { relations: true }));
    statuses = compareCatalog(shapes, before);
  }
  refuseUnusable(statuses, before, 'install');

  const created: string[] = [];
  let state = before;
  if (statuses.some((t) => t.status === 'missing') || !before.namespaceExists) {
    state = await beginLocked(sql, backend, run, namespace, async (tx) => {
      // Another installer may have finished while we waited for the lock.
      const locked = await run('reading the catalog', () => readCatalog(tx, shapes, { relations: true }));
      refuseUnusable(compareCatalog(shapes, locked), locked, 'install');
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
  let pendingIndexes = missingIndexes(shapes, compareCatalog(shapes, state)).map((m) => pendingIndex(m, 'not-requested'));
  if (concurrentIndexes && pendingIndexes.length > 0) {
    const outcome = await buildConcurrently(sql, run, shapes, namespace);
    created.push(...outcome.built.map((name) => `index ${namespace}.${name}`));
    pendingIndexes = outcome.left;
  }
  return { action: 'install', namespace, created, dropped: [], pendingIndexes };
}

/**
 * Builds the missing indexes of existing tables with CREATE INDEX CONCURRENTLY, which cannot run
 * in a transaction. Two such builds on one table deadlock, so one session builds at a time: it
 * holds a session-level advisory lock for the namespace's index builds while it works, and a
 * session that cannot take it leaves the work to the one that has it. The catalog is read again
 * under that lock, so an index another session finished meanwhile is not dropped and rebuilt,
 * and once more at the end, so that only what is really there is reported as built.
 * An INVALID index is the leftover of an interrupted build and is dropped first, unless some
 * session holds the table's SHARE UPDATE EXCLUSIVE lock (a build outside this package, or a
 * vacuum), in which case it is left for later.
 */
async function buildConcurrently(
  sql: Sql,
  run: Step,
  shapes: readonly TableShape[],
  namespace: string,
): Promise<{ built: string[]; left: PendingIndex[] }> {
  const session = await sql.reserve();
  const missingNow = async () =>
    missingIndexes(shapes, compareCatalog(shapes, await run('reading the catalog', () => readCatalog(session, shapes, { relations: true }))));
  try {
    const key = lockKey(namespace, 'index-build');
    const [{ locked }] = (await session`select pg_try_advisory_lock(${key}::bigint) as locked`) as unknown as [{ locked: boolean }];
    if (!locked) return { built: [], left: (await missingNow()).map((m) => pendingIndex(m, 'building-elsewhere')) };
    try {
      const attempted: string[] = [];
      const busy: string[] = [];
      for (const item of await missingNow()) {
        if (item.invalidName && (await tableBusy(session, item.shape))) {
          busy.push(item.index.name);
          continue;
        }
        for (const statement of planConcurrentIndex(item)) {
          await run(`running ${statement}`, () => session.unsafe(statement));
        }
        attempted.push(item.index.name);
      }
      // Only what this session built and is there now counts as built.
      const after = await missingNow();
      const stillMissing = (name: string) => after.some((m) => m.index.name === name);
      return {
        built: attempted.filter((name) => !stillMissing(name)),
        left: after.map((m) => pendingIndex(m, busy.includes(m.index.name) ? 'table-busy' : 'building-elsewhere')),
      };
    } finally {
      await session`select pg_advisory_unlock(${key}::bigint)`;
    }
  } finally {
    session.release();
  }
}

async function tableBusy(sql: Sql, shape: TableShape): Promise<boolean> {
  const [{ busy }] = (await sql`
    select exists (select 1 from pg_locks
      where locktype = 'relation' and relation = ${qualifiedName(shape.schema, shape.name)}::regclass
        and mode = 'ShareUpdateExclusiveLock' and granted and pid <> pg_backend_pid()) as busy`) as unknown as [{ busy: boolean }];
  return busy;
}

async function drop(sql: Sql, backend: ResolvedBackend, run: Step): Promise<PostgresBackendReport> {
  const { shapes } = backend;
  const before = await run('reading the catalog', () => readCatalog(sql, shapes));
  const namespace = namespaceOf(before);
  const dropped: string[] = [];
  if (before.tables.length > 0) {
    await beginLocked(sql, backend, run, namespace, async (tx) => {
      const locked = await run('reading the catalog', () => readCatalog(tx, shapes));
      refuseUnusable(compareCatalog(shapes, locked), locked, 'drop');
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
