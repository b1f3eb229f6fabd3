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
import { API_REMEDIES, detectVersion, readBackendCatalog, refuseOtherVersion, verdictFor, type Remedies } from '../catalog/detect.js';
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
import { describeKnown, type SchemaVersion } from '../config/versions.js';
import { ENV_VARS } from '../config/settings.js';

/** What one mode's run reports, before the call adds the version it worked with. */
type Outcome = Omit<PostgresBackendReport, 'schemaVersion' | 'schemaVersionIsDefault'>;

/** Builds the indexes missing from tables that already exist (install and upgrade). */
interface IndexBuilds {
  /**
   * Build indexes missing from tables that already exist with `CREATE INDEX CONCURRENTLY`, after
   * the transaction, instead of only reporting them in `pendingIndexes`. Default false.
   */
  concurrentIndexes?: boolean;
}

/** `installPostgresBackend`: create what is missing. */
export interface InstallOptions extends BackendOptions, IndexBuilds {}

/**
 * `upgradePostgresBackend`: move a database that holds an older AsyncMQ schema to the configured
 * one, in place, keeping every row, then install. The version to move to must be chosen
 * (`postgresSchemaVersion`, its variable, or the tables passed as `schema`): the default, 0.1,
 * is no target.
 */
export interface UpgradeOptions extends BackendOptions, IndexBuilds {}

/** `verifyPostgresBackend`: check, create or change nothing. */
export interface VerifyOptions extends BackendOptions {}

/** `dropPostgresBackend`: drop the package's tables. */
export interface DropOptions extends BackendOptions {}

/**
 * `installOrDropPostgresBackend` installing or dropping, as the seed's entry point always did:
 * `drop` may be any boolean here, and then nothing that creates or builds goes with it.
 */
export interface InstallOrDropModeOptions extends BackendOptions {
  /** Drop the package's tables (and with them their indexes) instead of installing. */
  drop?: boolean;
  upgrade?: false;
  concurrentIndexes?: false;
  verifyOnly?: false;
}

/** `installOrDropPostgresBackend` creating, or upgrading first: never with `drop`. */
export interface InstallModeOptions extends BackendOptions, IndexBuilds {
  drop?: false;
  /**
   * Move a database that holds an older AsyncMQ schema to the configured one, in place, keeping
   * every row (see the README: upgrade together with deploying the AsyncMQ that needs it).
   * Without it, install refuses such a database with `ASYNCMQ_UPGRADE_REQUIRED`. Default false.
   */
  upgrade?: boolean;
  verifyOnly?: false;
}

/** `installOrDropPostgresBackend` checking only: with nothing that changes the database. */
export interface VerifyModeOptions extends BackendOptions {
  /**
   * Check, and create or change nothing: for an app whose drizzle-kit migrations own the tables.
   * Fails with `ASYNCMQ_SCHEMA_INCOMPLETE` when something the tables declare is missing (the
   * migrations have not run), and with the install's own errors when a table breaks AsyncMQ or
   * holds another schema version, and with `ASYNCMQ_READ_ONLY` on a database that takes no
   * writes, as install does (AsyncMQ cannot run there). Differences AsyncMQ works with pass.
   * Takes no lock: one catalog read. Default false.
   */
  verifyOnly: true;
  drop?: false;
  upgrade?: false;
  concurrentIndexes?: false;
}

/**
 * The seed's entry point: one function for every mode, told apart by `drop`, `upgrade` and
 * `verifyOnly`. The type admits no destructive mix (`drop` with `upgrade` or
 * `concurrentIndexes`, `verifyOnly` with anything that changes the database); the run-time check
 * refuses them too, for JavaScript callers. Prefer the verbs, one per mode.
 */
export type InstallOrDropOptions = InstallOrDropModeOptions | InstallModeOptions | VerifyModeOptions;

export interface PostgresBackendReport {
  action: 'install' | 'drop' | 'verify';
  /** The namespace the tables live in. */
  namespace: string;
  /** The AsyncMQ schema version the call worked with. */
  schemaVersion: SchemaVersion;
  /**
   * True when nothing chose that version, so it is the default, 0.1 (the seed's): AsyncMQ 0.8 and
   * later fail on its tables. Set `postgresSchemaVersion` to your AsyncMQ's.
   */
  schemaVersionIsDefault: boolean;
  /** What this call created, in order: `schema x`, `table x.y`, `index x.z`. */
  created: string[];
  /** What this call dropped: `table x.y` (and, in an upgrade, `constraint x.y`). */
  dropped: string[];
  /**
   * Drop only: the name set's tables left in place, each with the reason, because another jobs
   * table remains in the namespace and its AsyncMQ may use them
   * (`table x.asyncmq_paused_queues (still used by x.other_jobs: AsyncMQ fixes its name)`).
   */
  kept?: string[];
  /** The schema version this call upgraded the database from, if this call did (some of) the upgrade's work. */
  upgradedFrom?: SchemaVersion;
  /**
   * The schema version the database held when this call began, when another session's upgrade
   * did all the work while this call waited for it (concurrent upgraders, one per replica): this
   * call changed nothing of it, and the database is upgraded.
   */
  foundUpgradedFrom?: SchemaVersion;
  /** Indexes missing from existing tables, not built by this call. */
  pendingIndexes: PendingIndex[];
}

export type Mode = 'install' | 'upgrade' | 'verify' | 'drop';

/** The keys of InstallOrDropOptions beyond BackendOptions', for the run-time check. */
const INSTALL_OR_DROP_KEYS: Record<Exclude<keyof InstallOrDropModeOptions | keyof InstallModeOptions | keyof VerifyModeOptions, keyof BackendOptions>, true> = {
  drop: true,
  concurrentIndexes: true,
  upgrade: true,
  verifyOnly: true,
};

/** The TypeScript counterpart of AsyncMQ's `install_or_drop_postgres_backend`. */
export async function installOrDropPostgresBackend(options: InstallOrDropOptions = {}): Promise<PostgresBackendReport> {
  refuseUnknownOptions(options, INSTALL_OR_DROP_KEYS);
  // Read as JavaScript would pass them: the type already refuses the mixes checked here.
  const { drop, upgrade, verifyOnly, concurrentIndexes, ...rest } = options as BackendOptions & Record<'drop' | 'upgrade' | 'verifyOnly' | 'concurrentIndexes', unknown>;
  if (verifyOnly && (drop || upgrade || concurrentIndexes)) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_INVALID_SETTING',
      'verifyOnly changes nothing, so it cannot go with drop, upgrade or concurrentIndexes',
      { setting: 'verifyOnly' },
    );
  }
  if (drop && (upgrade || concurrentIndexes)) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_INVALID_SETTING',
      `drop removes the tables, so it cannot go with ${upgrade ? 'upgrade' : 'concurrentIndexes'}: make one call for each ` +
        '(dropPostgresBackend(), installPostgresBackend(), upgradePostgresBackend())',
      { setting: 'drop' },
    );
  }
  const mode: Mode = verifyOnly ? 'verify' : drop ? 'drop' : upgrade ? 'upgrade' : 'install';
  return runBackend(mode, { ...rest, concurrentIndexes: concurrentIndexes === true }, { requireVersion: false });
}

const INDEX_BUILD_KEYS: Record<keyof IndexBuilds, true> = { concurrentIndexes: true };

/** Creates what is missing: safe at every start, one catalog read when all is in place. */
export async function installPostgresBackend(options: InstallOptions = {}): Promise<PostgresBackendReport> {
  checkVerbOptions('installPostgresBackend', options, INDEX_BUILD_KEYS);
  return runBackend('install', options);
}

/** Moves the tables to the configured AsyncMQ schema version, keeping every row, then installs. */
export async function upgradePostgresBackend(options: UpgradeOptions = {}): Promise<PostgresBackendReport> {
  checkVerbOptions('upgradePostgresBackend', options, INDEX_BUILD_KEYS);
  return runBackend('upgrade', options);
}

/** Checks the tables, creating and locking nothing: for tables the app's migrations own. */
export async function verifyPostgresBackend(options: VerifyOptions = {}): Promise<PostgresBackendReport> {
  checkVerbOptions('verifyPostgresBackend', options, {});
  return runBackend('verify', options);
}

/** Drops the package's tables, with their rows and indexes. */
export async function dropPostgresBackend(options: DropOptions = {}): Promise<PostgresBackendReport> {
  checkVerbOptions('dropPostgresBackend', options, {});
  return runBackend('drop', options);
}

/** The seed's mode keys, each pointing to its verb when given to another verb. */
const MODE_VERBS: Record<string, string> = {
  drop: 'dropPostgresBackend()',
  upgrade: 'upgradePostgresBackend()',
  verifyOnly: 'verifyPostgresBackend()',
};

function checkVerbOptions(verb: string, options: object, own: Record<string, true>): void {
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(MODE_VERBS, key) && !Object.hasOwn(own, key)) {
      throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `option ${key} is not ${verb}'s: call ${MODE_VERBS[key]} instead`, { setting: key });
    }
  }
  refuseUnknownOptions(options, own);
}

/**
 * Every mode's run, for the verbs, the seed's entry point and the command. `remedies` words the
 * advice for another schema version in the caller's terms; `requireVersion` refuses an upgrade
 * whose target nobody chose (the seed's entry point keeps accepting it, as it always has).
 */
export async function runBackend(
  mode: Mode,
  options: BackendOptions & IndexBuilds,
  { remedies = API_REMEDIES, requireVersion = true }: { remedies?: Remedies; requireVersion?: boolean } = {},
): Promise<PostgresBackendReport> {
  const backend = resolveBackend(options);
  if (mode === 'upgrade' && requireVersion && backend.versionIsDefault) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_USAGE',
      `an upgrade needs the AsyncMQ schema version to move to, and none was chosen: set postgresSchemaVersion (in settings, ` +
        `${ENV_VARS.postgresSchemaVersion}, or the tables passed as schema) to your AsyncMQ's: ${describeKnown()}`,
      { setting: 'postgresSchemaVersion' },
    );
  }
  const version = { schemaVersion: backend.version, schemaVersionIsDefault: backend.versionIsDefault };
  const report = await withPool(await resolveDatabase(options, backend.settings), backend, async (sql, run) => {
    if (mode === 'verify') return verify(sql, backend, run, remedies);
    if (mode !== 'drop') {
      return install(sql, backend, run, { concurrentIndexes: options.concurrentIndexes === true, upgrade: mode === 'upgrade', remedies });
    }
    const { namespace, dropped, kept } = await drop(sql, backend, run);
    return { action: 'drop' as const, namespace, created: [], dropped, pendingIndexes: [], ...(kept.length ? { kept } : {}) };
  });
  const { action, namespace, ...rest } = report;
  return { action, namespace, ...version, ...rest };
}

/**
 * The check-only mode: what install would refuse is refused the same way, and anything it would
 * create is reported as missing instead, since whoever owns the tables (the app's migrations)
 * must create it.
 */
async function verify(sql: Link, backend: ResolvedBackend, run: Step, remedies: Remedies): Promise<Outcome> {
  const { shapes } = backend;
  const state = await run('reading the catalog', () => readBackendCatalog(sql, backend, { relations: true }));
  refuseReadOnly(state);
  const namespace = namespaceOf(state);
  const statuses = compareCatalog(shapes, state);
  if (statuses.some((t) => t.status === 'different')) {
    const match = detectVersion(backend, state);
    refuseOtherVersion(verdictFor(backend.version, statuses, match), backend.version, match, state.namespace, remedies);
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
  options: { concurrentIndexes: boolean; upgrade: boolean; remedies?: Remedies },
): Promise<Outcome> {
  const { shapes } = backend;
  // The restart's case: the tables exactly in shape, told by one read of the configured tables.
  const check = await run('reading the catalog', () => readCatalog(sql, shapes, { detail: 'check' }));
  // Before anything, even the no-op: an app pointed at a standby learns it at startup, not at its
  // first enqueue. The check does not read where a setting comes from; the refusal says, so it reads again.
  if (check.readOnly) refuseReadOnly(await run('reading the catalog', () => readBackendCatalog(sql, backend)));
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
  let foundUpgradedFrom: SchemaVersion | undefined;
  if (statuses.some((t) => t.status === 'different')) {
    // Another shape: first tell whether it is another AsyncMQ version, to say so, or upgrade it.
    const match = detectVersion(backend, before);
    const verdict = verdictFor(backend.version, statuses, match);
    if (verdict.kind === 'upgrade' && options.upgrade) {
      const outcome = await upgradeInPlace(sql, backend, run, namespace, verdict.from);
      created.push(...outcome.created);
      dropped.push(...outcome.dropped);
      // Only the call that made changes says it upgraded; one that found the work done changed nothing.
      if (outcome.created.length + outcome.dropped.length > 0) upgradedFrom = verdict.from;
      else foundUpgradedFrom = verdict.from;
      before = await read(false);
      statuses = compareCatalog(shapes, before);
    } else refuseOtherVersion(verdict, backend.version, match, before.namespace, options.remedies);
  }
  if (somethingToCreate(statuses) && (!first || upgradedFrom || foundUpgradedFrom)) {
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
    const outcome = await buildConcurrently(sql, run, shapes, namespace, backend.lockTimeoutMs);
    created.push(...outcome.built.map((name) => `index ${namespace}.${name}`));
    pendingIndexes = outcome.left;
  }
  return {
    action: 'install',
    namespace,
    created,
    dropped,
    pendingIndexes,
    ...(upgradedFrom ? { upgradedFrom } : {}),
    ...(foundUpgradedFrom ? { foundUpgradedFrom } : {}),
  };
}
