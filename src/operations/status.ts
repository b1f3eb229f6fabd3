/**
 * `inspectPostgresBackend`: what the on-call engineer needs to know. Connects, reads the
 * catalog (no locks, no DDL) and reports every table, column, constraint and index as present,
 * missing or different, each difference judged as breaking AsyncMQ or harmless to it (the
 * judgement install refuses on), and the privileges AsyncMQ's role has and lacks.
 */
import { compareCatalog, isBreaking, isWarning, missingIndexes, type ItemStatus, type ReadOnlyTarget, type TableStatus } from '../catalog/compare.js';
import { inNamespace, planConcurrentIndex } from '../schema/ddl.js';
import { API_REMEDIES, detectVersion, readBackendCatalog, verdictFor, type Remedies, type Verdict, type VersionMatch } from '../catalog/detect.js';
import type { Impact } from '../catalog/drift.js';
import { withPool } from '../connection/call.js';
import { checkRoleName, readPrivileges, type PrivilegeCheck, type PrivilegeReport } from '../catalog/privileges.js';
import { resolveBackend } from '../schema/backend.js';
import { refuseUnknownOptions, resolveDatabase, type BackendOptions } from './options.js';
import { describeReadOnly } from './refusals.js';
import type { IndexProfile } from '../config/settings.js';
import type { SchemaVersion } from '../config/versions.js';
import { inspectPoisonJobs, type PoisonCheck } from '../catalog/poison.js';

export interface SchemaVersionStatus extends VersionMatch {
  /** The configured version (`postgresSchemaVersion`). */
  configured: SchemaVersion;
  /**
   * True when nothing chose the configured version, so it is the default, 0.1 (the seed's):
   * AsyncMQ 0.8 and later fail on its tables. Set `postgresSchemaVersion` to your AsyncMQ's.
   */
  isDefault: boolean;
  /**
   * For the configured version: `compatible` (install completes it, nothing in the way); `upgrade-required` (`from` the version held, fixed by
   * the upgrade); `newer` (the database holds a newer version, with no downgrade);
   * `mixed`; or `other-shape` (tables of no known version stand in the way).
   */
  verdict: 'compatible' | 'upgrade-required' | 'newer' | 'mixed' | 'other-shape';
  from?: SchemaVersion;
}

export interface InspectOptions extends BackendOptions {
  /**
   * The role whose privileges to check: the one AsyncMQ will run as, when status connects as
   * another (an owner or admin role). Default: the connecting role. The name is exact, as
   * Postgres stores it.
   */
  role?: string;
}

export interface PostgresBackendStatus {
  /** True when everything is present and in shape, the role has every privilege AsyncMQ needs, and the database takes writes. */
  ok: boolean;
  /**
   * What needs doing before AsyncMQ runs as it should: items missing, INVALID, whose name is
   * taken, or that break AsyncMQ, privileges the role lacks, and a database that takes no
   * writes (the CLI exits 1).
   */
  problems: number;
  /**
   * Null when the database takes writes. Otherwise why AsyncMQ cannot write there: `recovery`
   * (a hot standby), `default` (`default_transaction_read_only` is on; `source` says where it
   * was set, as pg_settings does), or `transaction` (an app's connection inside a read-only
   * transaction); `advice` says it in words. The privileges below are then what the role would
   * have on a database that takes writes.
   */
  readOnly: (ReadOnlyTarget & { advice: string }) | null;
  /** Differences AsyncMQ works with, which install accepts (the CLI exits 4 when there are no problems). */
  warnings: number;
  /** The namespace the names resolve to (`postgresSchema`, or the session's `current_schema()`). */
  namespace: string | null;
  namespaceExists: boolean;
  /** The index profile compared against. */
  indexes: IndexProfile;
  /** Which AsyncMQ schema version the tables are, against the configured one. */
  schemaVersion: SchemaVersionStatus;
  tables: (TableStatus & {
    /** For each missing or INVALID index of an existing table: the statement that builds it without blocking writers. */
    fixes: string[];
  })[];
  /** What the role may do with the objects that exist, and the GRANTs for what it lacks. */
  privileges: PrivilegeReport;
  /**
   * Jobs whose priority or delay_until AsyncMQ's statements cannot cast, per queue (each queue
   * one problem: they stall it), with the statements that fix or remove them. A check that could
   * not run (`state: 'not-checked'`, with the reason) counts as neither problem nor warning.
   * Null where there is no jobs table to read.
   */
  poisonJobs: PoisonCheck | null;
}

export type { Impact, ItemStatus, PoisonCheck, PrivilegeCheck, PrivilegeReport, TableStatus };

/** An item that needs doing something about: missing, INVALID, name taken, or breaking AsyncMQ. */
const isProblem = (item: ItemStatus) => item.status === 'missing' || item.status === 'invalid' || item.status === 'conflict' || isBreaking(item);

/** The keys of InspectOptions beyond BackendOptions', for the run-time check. */
const STATUS_KEYS: Record<Exclude<keyof InspectOptions, keyof BackendOptions>, true> = { role: true };

export function inspectPostgresBackend(options: InspectOptions = {}): Promise<PostgresBackendStatus> {
  return inspect(options);
}

/** The status, its advice for another schema version worded by `remedies` (the command's, or the API's). */
export async function inspect(options: InspectOptions, remedies: Remedies = API_REMEDIES): Promise<PostgresBackendStatus> {
  refuseUnknownOptions(options, STATUS_KEYS);
  const { role, ...rest } = options;
  const checked = role === undefined ? undefined : checkRoleName(role);
  const backend = resolveBackend(rest);
  const { state, privileges, poisonJobs } = await withPool(await resolveDatabase(rest, backend.settings), backend, async (sql, run) => {
    // Row-level security is judged for the role AsyncMQ runs as.
    const state = await run('reading the catalog', () => readBackendCatalog(sql, backend, { relations: true, ...(checked === undefined ? {} : { role: checked }) }));
    const privileges = await run('reading privileges', () => readPrivileges(sql, backend.shapes, state, checked));
    // A read of the jobs table itself (see catalog/poison.ts for its cost and lock), after the catalog's.
    const poisonJobs = await inspectPoisonJobs(sql, run, backend, state);
    return { state, privileges, poisonJobs };
  });
  const statuses = compareCatalog(backend.shapes, state);
  const match = detectVersion(backend, state);
  const verdict = verdictFor(backend.version, statuses, match);
  const fixes = missingIndexes(inNamespace(backend.shapes, state.namespace ?? undefined), statuses);
  // A table of another AsyncMQ version is moved by the upgrade (or not at all), not by hand.
  const versionAdvice = adviceFor(verdict, backend.version, remedies);
  const tables = statuses.map((status) => ({
    ...status,
    items: versionAdvice && status.status === 'different' ? status.items.map((i) => (isBreaking(i) ? { ...i, advice: versionAdvice } : i)) : status.items,
    fixes: fixes.filter((f) => f.shape.name === status.name).flatMap(planConcurrentIndex),
  }));
  const items = tables.flatMap((t) => t.items);
  const problems =
    items.filter(isProblem).length + privileges.objects.reduce((n, o) => n + o.missing.length, 0) + (state.readOnly ? 1 : 0) + (poisonJobs?.queueCount ?? 0);
  // A poison check that could not run (see poisonJobs.reason) is neither: what it did not read, it cannot judge.
  const warnings = items.filter(isWarning).length;
  return {
    ok: problems === 0 && warnings === 0,
    problems,
    warnings,
    readOnly: state.readOnly && { ...state.readOnly, advice: describeReadOnly(state.readOnly) },
    namespace: state.namespace,
    namespaceExists: state.namespaceExists,
    indexes: backend.names.postgresIndexes,
    schemaVersion: {
      configured: backend.version,
      isDefault: backend.versionIsDefault,
      ...match,
      verdict: VERDICTS[verdict.kind],
      ...(verdict.kind === 'upgrade' ? { from: verdict.from } : {}),
    },
    tables,
    privileges,
    poisonJobs,
  };
}

const VERDICTS = { ok: 'compatible', upgrade: 'upgrade-required', newer: 'newer', mixed: 'mixed', unknown: 'other-shape' } as const;

function adviceFor(verdict: Verdict, version: SchemaVersion, remedies: Remedies): string | undefined {
  if (verdict.kind === 'upgrade') return `this is AsyncMQ ${verdict.from}'s shape; ${remedies.upgrade(version)} moves it to ${version}'s, keeping every row`;
  if (verdict.kind === 'newer') {
    return `this is AsyncMQ ${verdict.held}'s shape, newer than the configured ${version}; configure ${verdict.held} (${remedies.configure(verdict.held)}; there is no downgrade)`;
  }
  return undefined;
}

/**
 * Which AsyncMQ schema the database holds, told from one catalog read (no lock, no privileges
 * read): for the command that must name it before it refuses, an upgrade with no target.
 */
export async function readHeldVersion(options: BackendOptions): Promise<{ namespace: string | null; match: VersionMatch }> {
  const backend = resolveBackend(options);
  const state = await withPool(await resolveDatabase(options, backend.settings), backend, (sql, run) =>
    run('reading the catalog', () => readBackendCatalog(sql, backend)),
  );
  return { namespace: state.namespace, match: detectVersion(backend, state) };
}
