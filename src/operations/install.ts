/**
 * `installOrDropPostgresBackend`: creates what is missing (or, with `drop`, hands over to
 * drop.ts) at application startup, on every replica, against a database that may be serving the queue.
 *
 * - The catalog is read first, outside any transaction. When everything is in place, that one
 *   round trip is all that runs: no DDL, no lock on the tables, so a restart never waits behind
 *   the queue's writers. An exact match returns at once (src/noop-check.ts); anything else goes
 *   on to the full comparison.
 * - Otherwise one transaction takes `pg_advisory_xact_lock` for the namespace on the DDL's own
 *   connection (so it also works behind PgBouncer in transaction mode), reads the catalog
 *   again, and creates only what is still missing. Concurrent `CREATE ... IF NOT EXISTS` is not
 *   safe in Postgres; serializing is.
 * - Every lock wait is bounded by `lock_timeout`, set for the transaction only.
 * - An existing table of another shape is never altered: install stops and lists the differences.
 *   So does a name the tables need that another object holds, before anything is created.
 * - A database that takes no writes (a hot standby, `default_transaction_read_only`) is refused
 *   with ASYNCMQ_READ_ONLY after the first read, a no-op included: AsyncMQ cannot run there.
 * - An index missing from a table that already existed is not built inside the transaction (a
 *   plain CREATE INDEX would block the queue's writers while it builds). It is reported with the
 *   `CREATE INDEX CONCURRENTLY` statement to run, or built that way after the transaction when
 *   `concurrentIndexes` is set.
 */
import { compareCatalog, missingIndexes, readCatalog, somethingToCreate } from '../catalog/compare.js';
import { AsyncmqPostgresError, printable } from '../errors.js';
import { inNamespace, planInstall } from '../schema/ddl.js';
import { detectVersion, readBackendCatalog, refuseOtherVersion, verdictFor } from '../catalog/detect.js';
import { drop } from './drop.js';
import type { Link } from '../connection/drivers/index.js';
import { buildConcurrently, pendingIndex, type PendingIndex } from './index-builds.js';
import { beginLocked } from './locking.js';
import { exactlyInShape } from '../catalog/noop-check.js';
import { withPool, type Step } from '../connection/call.js';
import { existingOf, namespaceOf, refuseReadOnly, refuseUnusable } from './refusals.js';
import { resolveBackend, type ResolvedBackend } from '../schema/backend.js';
import { refuseUnknownOptions, resolveDatabase, type BackendOptions } from './options.js';
import { upgradeInPlace } from './upgrade/run.js';
import type { SchemaVersion } from '../config/versions.js';

export interface InstallOrDropOptions extends BackendOptions {
  /** Drop the package's tables (and with them their indexes) instead of installing. */
  drop?: boolean;
  /**
   * Build indexes missing from tables that already exist with `CREATE INDEX CONCURRENTLY`, after
   * the transaction, instead of only reporting them in `pendingIndexes`. Default false.
   */
  concurrentIndexes?: boolean;
  /**
   * Move a database that holds an older AsyncMQ schema to the configured one, in place, keeping
   * every row (see the README: upgrade together with deploying the AsyncMQ that needs it).
   * Without it, install refuses such a database with `ASYNCMQ_UPGRADE_REQUIRED`. Default false.
   */
  upgrade?: boolean;
  /**
   * Check, and create or change nothing: for an app whose drizzle-kit migrations own the tables.
   * Fails with `ASYNCMQ_SCHEMA_INCOMPLETE` when something the tables declare is missing (the
   * migrations have not run), and with the install's own errors when a table breaks AsyncMQ or
   * holds another schema version, and with `ASYNCMQ_READ_ONLY` on a database that takes no
   * writes, as install does (AsyncMQ cannot run there). Differences AsyncMQ works with pass.
   * Takes no lock: one catalog read. Default false.
   */
  verifyOnly?: boolean;
}

export interface PostgresBackendReport {
  action: 'install' | 'drop' | 'verify';
  /** The namespace the tables live in. */
  namespace: string;
  /** What this call created, in order: `schema x`, `table x.y`, `index x.z`. */
  created: string[];
  /** What this call dropped: `table x.y` (and, in an upgrade, `constraint x.y`). */
  dropped: string[];
  /** Drop only: tables left in place because they are shared (`table x.asyncmq_paused_queues`). */
  kept?: string[];
  /** The schema version this call upgraded the database from, if it did. */
  upgradedFrom?: SchemaVersion;
  /** Indexes missing from existing tables, not built by this call. */
  pendingIndexes: PendingIndex[];
}

/** The keys of InstallOrDropOptions beyond BackendOptions', for the run-time check. */
const INSTALL_KEYS: Record<Exclude<keyof InstallOrDropOptions, keyof BackendOptions>, true> = { drop: true, concurrentIndexes: true, upgrade: true, verifyOnly: true };

/** The TypeScript counterpart of AsyncMQ's `install_or_drop_postgres_backend`. */
export async function installOrDropPostgresBackend(options: InstallOrDropOptions = {}): Promise<PostgresBackendReport> {
  refuseUnknownOptions(options, INSTALL_KEYS);
  const backend = resolveBackend(options);
  if (options.verifyOnly && (options.drop || options.upgrade || options.concurrentIndexes)) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_INVALID_SETTING',
      'verifyOnly changes nothing, so it cannot go with drop, upgrade or concurrentIndexes',
      { setting: 'verifyOnly' },
    );
  }
  return withPool(await resolveDatabase(options, backend.settings), backend, async (sql, run) => {
    if (options.verifyOnly) return verify(sql, backend, run);
    if (!options.drop) return install(sql, backend, run, { concurrentIndexes: options.concurrentIndexes === true, upgrade: options.upgrade === true });
    const { namespace, dropped, kept } = await drop(sql, backend, run);
    return { action: 'drop', namespace, created: [], dropped, pendingIndexes: [], ...(kept.length ? { kept } : {}) };
  });
}

/**
 * The check-only mode: what install would refuse is refused the same way, and anything it would
 * create is reported as missing instead, since whoever owns the tables (the app's migrations)
 * must create it.
 */
async function verify(sql: Link, backend: ResolvedBackend, run: Step): Promise<PostgresBackendReport> {
  const { shapes } = backend;
  const state = await run('reading the catalog', () => readBackendCatalog(sql, backend, { relations: true }));
  refuseReadOnly(state);
  const namespace = namespaceOf(state);
  const statuses = compareCatalog(shapes, state);
  if (statuses.some((t) => t.status === 'different')) {
    const match = detectVersion(backend, state);
    refuseOtherVersion(verdictFor(backend.version, statuses, match), backend.version, match, state.namespace);
  }
  refuseUnusable(statuses.filter((t) => t.status === 'different'), state, 'install');
  const missing = [
    ...(state.namespaceExists ? [] : [`schema ${namespace}`]),
    ...statuses.flatMap((t) =>
      t.status === 'missing'
        ? [`table ${namespace}.${t.name}`]
        : t.items.filter((i) => i.status === 'missing' || i.status === 'invalid' || i.status === 'conflict').map((i) => `${i.kind} ${namespace}.${i.name}${i.status === 'missing' ? '' : ` (${i.status})`}`),
    ),
  ];
  if (missing.length > 0) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_SCHEMA_INCOMPLETE',
      `the database lacks what the AsyncMQ tables declare: ${printable(missing.join(', '))}. verifyOnly creates nothing: apply the migrations ` +
        'that hold these tables (drizzle-kit migrate), or let the installer own them (without verifyOnly)',
    );
  }
  return { action: 'verify', namespace, created: [], dropped: [], pendingIndexes: [] };
}

/** Install on a connection already open (the API opens its own; the benchmark also measures the app's). */
export async function install(
  sql: Link,
  backend: ResolvedBackend,
  run: Step,
  options: { concurrentIndexes: boolean; upgrade: boolean },
): Promise<PostgresBackendReport> {
  const { shapes } = backend;
  // The restart's case: the tables exactly in shape, told by one read of the configured tables.
  const check = await run('reading the catalog', () => readCatalog(sql, shapes, { detail: 'check' }));
  // Before anything, even the no-op: an app pointed at a standby learns it at startup, not at its first enqueue.
  refuseReadOnly(check);
  if (exactlyInShape(shapes, check)) return { action: 'install', namespace: check.namespace!, created: [], dropped: [], pendingIndexes: [] };

  const read = (relations: boolean) => run('reading the catalog', () => readBackendCatalog(sql, backend, { relations }));
  // None of the tables there (a first start): what creating them needs is read at once.
  const first = check.tables.length === 0;
  let before = await read(first);
  const namespace = namespaceOf(before);
  let statuses = compareCatalog(shapes, before);
  const created: string[] = [];
  const dropped: string[] = [];
  let upgradedFrom: SchemaVersion | undefined;
  if (statuses.some((t) => t.status === 'different')) {
    // Another shape: first tell whether it is another AsyncMQ version, to say so, or upgrade it.
    const match = detectVersion(backend, before);
    const verdict = verdictFor(backend.version, statuses, match);
    if (verdict.kind === 'upgrade' && options.upgrade) {
      const outcome = await upgradeInPlace(sql, backend, run, namespace, verdict.from);
      created.push(...outcome.created);
      dropped.push(...outcome.dropped);
      upgradedFrom = verdict.from;
      before = await read(false);
      statuses = compareCatalog(shapes, before);
    } else refuseOtherVersion(verdict, backend.version, match, before.namespace);
  }
  if (somethingToCreate(statuses) && (!first || upgradedFrom)) {
    before = await read(true);
    statuses = compareCatalog(shapes, before);
  }
  refuseUnusable(statuses, before, 'install');

  let state = before;
  if (statuses.some((t) => t.status === 'missing') || !before.namespaceExists) {
    state = await beginLocked(sql, backend.lockTimeoutMs, run, namespace, async (tx) => {
      // Another installer may have finished while we waited for the lock.
      const locked = await run('reading the catalog', () => readBackendCatalog(tx, backend, { relations: true }));
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
  let pendingIndexes = missingIndexes(inNamespace(shapes, namespace), compareCatalog(shapes, state)).map((m) => pendingIndex(m, 'not-requested'));
  if (options.concurrentIndexes && pendingIndexes.length > 0) {
    const outcome = await buildConcurrently(sql, run, shapes, namespace);
    created.push(...outcome.built.map((name) => `index ${namespace}.${name}`));
    pendingIndexes = outcome.left;
  }
  return { action: 'install', namespace, created, dropped, pendingIndexes, ...(upgradedFrom ? { upgradedFrom } : {}) };
}
