/**
 * Which AsyncMQ schema version a database holds, told from the one catalog read: AsyncMQ keeps
 * no marker, so each version's Drizzle tables are compared with what is there, and the verdict
 * for the configured version (in shape, needs an upgrade, newer, a mix) is decided here, pure.
 */
import { compareCatalog, readCatalog, type CatalogState, type TableStatus } from './compare.js';
import type { Queryable } from '../connection/drivers/index.js';
import { AsyncmqPostgresError, printable } from '../errors.js';
import { shapesByVersion, type ResolvedBackend } from '../schema/backend.js';
import { compareVersions, describeReleases, SCHEMA_VERSIONS, type SchemaVersion } from '../config/versions.js';

/** The catalog for the configured tables and every other version's tables of the same names. */
export function readBackendCatalog(
  sql: Queryable,
  backend: Pick<ResolvedBackend, 'shapes' | 'catalogTables'>,
  options: { relations?: boolean; role?: string } = {},
): Promise<CatalogState> {
  return readCatalog(sql, backend.shapes, { ...options, tables: backend.catalogTables });
}

export interface VersionMatch {
  /**
   * `matches`: every table of `held` is there in its shape. `empty`: none of the tables exists.
   * `partial`: the tables there are one version's, but some of its tables are missing. `mixed`:
   * the tables there are of different versions. `none`: a table is no version's shape.
   */
  state: 'matches' | 'empty' | 'partial' | 'mixed' | 'none';
  /** The newest version whose every table is present and in its shape; null when there is none. */
  held: SchemaVersion | null;
  /** For each table that exists: the versions whose shape it has (none: another shape). */
  tables: { name: string; versions: SchemaVersion[] }[];
}

/** What the database holds, version by version. Pure. */
export function detectVersion(backend: ResolvedBackend, state: CatalogState): VersionMatch {
  const byVersion = shapesByVersion(backend).map(([version, shapes]) => [version, compareCatalog(shapes, state)] as const);
  const existing = state.tables.map((t) => t.name);
  const tables = existing.map((name) => ({
    name,
    versions: byVersion.filter(([, statuses]) => statuses.some((s) => s.name === name && s.status === 'present')).map(([v]) => v),
  }));
  const held = [...byVersion].reverse().find(([, statuses]) => statuses.every((s) => s.status === 'present'))?.[0] ?? null;
  const common = SCHEMA_VERSIONS.filter((v) => tables.every((t) => t.versions.includes(v)));
  const state_: VersionMatch['state'] =
    existing.length === 0
      ? 'empty'
      : tables.some((t) => t.versions.length === 0)
        ? 'none'
        : held !== null && common.includes(held)
          ? 'matches'
          : common.length > 0
            ? 'partial'
            : 'mixed';
  return { state: state_, held, tables };
}

/** How the match reads in a message: "AsyncMQ 0.1's schema", "a mix of ...". */
export function describeMatch(match: VersionMatch, namespace: string | null): string {
  const tableVersions = match.tables.map((t) => `${namespace}.${t.name} is ${t.versions.length ? `${range(t.versions)}'s` : 'no version\'s'}`).join(', ');
  switch (match.state) {
    case 'empty':
      return 'none of the tables';
    case 'matches':
      return `AsyncMQ ${match.held}'s schema`;
    case 'partial':
      return `part of an AsyncMQ schema (${tableVersions}; the others are missing)`;
    case 'mixed':
      return `a mix of AsyncMQ schemas (${tableVersions})`;
    case 'none':
      return `tables of no AsyncMQ schema (${tableVersions})`;
  }
}

function range(versions: SchemaVersion[]): string {
  return versions.length === 1 ? versions[0]! : `${versions[0]}-${versions.at(-1)}`;
}

/**
 * For the configured version: the tables that stand in its way (status `different`) decide.
 * All of an older version: an upgrade is needed. All of a newer one: refuse, there is no
 * downgrade. Some of each: a mix. Any of no version's shape: left to the shape check, which
 * lists each difference.
 */
export type Verdict =
  | { kind: 'ok' }
  | { kind: 'upgrade'; from: SchemaVersion }
  | { kind: 'newer'; held: SchemaVersion }
  | { kind: 'mixed' }
  | { kind: 'unknown' };

export function verdictFor(version: SchemaVersion, statuses: readonly TableStatus[], match: VersionMatch): Verdict {
  const inTheWay = statuses.filter((s) => s.status === 'different').map((s) => match.tables.find((t) => t.name === s.name)?.versions ?? []);
  if (inTheWay.length === 0) return { kind: 'ok' };
  if (inTheWay.some((versions) => versions.length === 0)) return { kind: 'unknown' };
  const older = inTheWay.every((versions) => versions.every((v) => compareVersions(v, version) < 0));
  const newer = inTheWay.every((versions) => versions.every((v) => compareVersions(v, version) > 0));
  if (older) {
    // The version to upgrade from: what the whole database holds, or else the newest version
    // every table in the way has.
    const shared = SCHEMA_VERSIONS.filter((v) => inTheWay.every((versions) => versions.includes(v)));
    const from = match.held !== null && compareVersions(match.held, version) < 0 ? match.held : shared.at(-1) ?? inTheWay[0]!.at(-1)!;
    return { kind: 'upgrade', from };
  }
  if (newer) return { kind: 'newer', held: match.held ?? inTheWay[0]![0]! };
  return { kind: 'mixed' };
}

/**
 * What to tell the user to do about another schema version, in the terms of whoever called:
 * the API names its options, the command prints a command line complete with the flags that
 * led to the refusal. The judgement is the same; only the remedy's wording differs.
 */
export interface Remedies {
  /** How to move the database to `to`, keeping every row. */
  upgrade(to: SchemaVersion): string;
  /** How to configure `version` instead of the one configured. */
  configure(version: SchemaVersion): string;
  /** The version setting as the user gave it (or would give it). */
  versionSetting: string;
}

export const API_REMEDIES: Remedies = {
  upgrade: (to) => `upgradePostgresBackend() (or upgrade: true) with postgresSchemaVersion: '${to}'`,
  configure: (version) => `postgresSchemaVersion: '${version}'`,
  versionSetting: 'postgresSchemaVersion',
};

/** Throws the coded error for a verdict that stops install; returns for `ok` and `unknown`. */
export function refuseOtherVersion(
  verdict: Verdict,
  version: SchemaVersion,
  match: VersionMatch,
  namespace: string | null,
  remedies: Remedies = API_REMEDIES,
): void {
  // The namespace can come from the database (current_schema()): printed as one line whatever it holds.
  const holds = printable(`the tables in ${namespace} hold ${describeMatch(match, namespace)}`);
  switch (verdict.kind) {
    case 'upgrade':
      throw new AsyncmqPostgresError(
        'ASYNCMQ_UPGRADE_REQUIRED',
        `this database holds AsyncMQ ${verdict.from}'s schema; the configured ${version} needs an upgrade: ${remedies.upgrade(version)}, ` +
          `which keeps every row. Upgrade together with deploying AsyncMQ ${describeReleases(version)}: ` +
          `after it, workers of older AsyncMQ releases may fail${match.state === 'matches' ? '' : `. In detail, ${holds}`}`,
        { setting: 'postgresSchemaVersion' },
      );
    case 'newer':
      throw new AsyncmqPostgresError(
        'ASYNCMQ_SCHEMA_NEWER',
        `this database holds AsyncMQ ${verdict.held}'s schema, newer than the configured ${version} ` +
          `(${remedies.versionSetting}); there is no downgrade, since going back can fail on job ids that repeat across ` +
          `queues. Configure ${verdict.held} (AsyncMQ ${describeReleases(verdict.held)}) to use it as it is: ${remedies.configure(verdict.held)}`,
        { setting: 'postgresSchemaVersion' },
      );
    case 'mixed':
      throw new AsyncmqPostgresError(
        'ASYNCMQ_SCHEMA_MIXED',
        `${holds}, some older and some newer than the configured ${version}; asyncmq-postgres cannot move it to one version. ` +
          'Fix the tables by hand, or drop them if they hold nothing you need',
        { setting: 'postgresSchemaVersion' },
      );
    default:
      return;
  }
}
