/**
 * AsyncMQ's schema versions: which exist, which AsyncMQ releases use which, and their order.
 * Pure, and below the settings, which validate `postgresSchemaVersion` with it.
 *
 * AsyncMQ keeps no version marker in the database: the shape of its tables is the only record,
 * so a version here is the name of a shape, not a row anywhere.
 */
import { AsyncmqPostgresError } from '../errors.js';

/**
 * `0.1` the seed; `0.2` adds the workers' heartbeat table; `0.8` moves the jobs table's unique
 * key from `(job_id)` to `(queue_name, job_id)`; `0.9` adds `asyncmq_paused_queues`.
 */
export const SCHEMA_VERSIONS = ['0.1', '0.2', '0.8', '0.9'] as const;
export type SchemaVersion = (typeof SCHEMA_VERSIONS)[number];

/** The version every setting falls back to: the seed's, so nothing that works today changes. */
export const DEFAULT_SCHEMA_VERSION: SchemaVersion = '0.1';

/** The AsyncMQ releases (`major.minor`) whose schema each version is. */
const RELEASES: Record<SchemaVersion, readonly string[]> = {
  '0.1': ['0.1'],
  '0.2': ['0.2', '0.3', '0.4', '0.5', '0.6', '0.7'],
  '0.8': ['0.8'],
  '0.9': ['0.9'],
};

/** `0.4.6` → `0.2`: the schema of any AsyncMQ release, or undefined for one that has none known. */
export function schemaVersionOf(value: string): SchemaVersion | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?$/.exec(value.trim());
  if (!match) return undefined;
  const minor = `${Number(match[1])}.${Number(match[2])}`;
  return SCHEMA_VERSIONS.find((version) => RELEASES[version].includes(minor));
}

/** Validates and normalizes a version setting; `setting` names it in the error. */
export function parseSchemaVersion(value: unknown, setting: string, key?: string): SchemaVersion {
  const version = typeof value === 'string' ? schemaVersionOf(value) : undefined;
  if (version) return version;
  const known = SCHEMA_VERSIONS.map((v) => `${v} (AsyncMQ ${describeReleases(v)})`).join(', ');
  throw new AsyncmqPostgresError(
    'ASYNCMQ_INVALID_SETTING',
    `${setting} is ${JSON.stringify(value)}, which is not a known AsyncMQ schema version or release; known: ${known}`,
    key === undefined ? {} : { setting: key },
  );
}

export function describeReleases(version: SchemaVersion): string {
  const releases = RELEASES[version];
  return releases.length === 1 ? `${releases[0]}.x` : `${releases[0]}.x to ${releases.at(-1)}.x`;
}

/** Negative when `a` is older than `b`. */
export function compareVersions(a: SchemaVersion, b: SchemaVersion): number {
  return SCHEMA_VERSIONS.indexOf(a) - SCHEMA_VERSIONS.indexOf(b);
}

/** The versions after `from` up to and including `to`, oldest first: the upgrade's steps. */
export function versionsBetween(from: SchemaVersion, to: SchemaVersion): SchemaVersion[] {
  return SCHEMA_VERSIONS.filter((v) => compareVersions(v, from) > 0 && compareVersions(v, to) <= 0);
}
