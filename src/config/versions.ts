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

/**
 * Every AsyncMQ release whose Postgres code was read, by the schema it creates: AsyncMQ's tags,
 * 0.1.0 to 0.9.1. 0.6.1 and 0.6.3 have no tag, but AsyncMQ's release notes list them, and its
 * schema code is the same from 0.6.0 to 0.7.0, so whatever they were built from creates 0.2's.
 * A release not listed here (a later one, such as 0.10.x, or a patch that does not exist) has
 * no schema known here: it is refused rather than guessed, since AsyncMQ may change its tables
 * in any release (0.8.0 did).
 */
const RELEASES: Record<SchemaVersion, readonly string[]> = {
  '0.1': ['0.1.0'],
  '0.2': [
    '0.2.0', '0.2.1', '0.2.2', '0.2.3', '0.3.0', '0.3.1',
    '0.4.0', '0.4.1', '0.4.2', '0.4.3', '0.4.4', '0.4.5', '0.4.6',
    '0.5.0', '0.5.1', '0.6.0', '0.6.1', '0.6.2', '0.6.3', '0.7.0',
  ],
  '0.8': ['0.8.0', '0.8.1'],
  '0.9': ['0.9.0', '0.9.1'],
};

/** The newest AsyncMQ release read; anything after it is unknown here. */
export const NEWEST_KNOWN_RELEASE = '0.9.1';

/**
 * `0.9` → `0.9`, `0.4.6` → `0.2`: a schema version itself, or an AsyncMQ release listed above.
 * Anything else is undefined: `v0.9`, `0.9.99`, `0.10.1`, `0.4` (a release series, not a schema).
 */
export function schemaVersionOf(value: string): SchemaVersion | undefined {
  const text = value.trim();
  if ((SCHEMA_VERSIONS as readonly string[]).includes(text)) return text as SchemaVersion;
  return SCHEMA_VERSIONS.find((version) => RELEASES[version].includes(text));
}

/** Validates and normalizes a version setting; `setting` names it in the error, as the user gave it. */
export function parseSchemaVersion(value: unknown, setting: string, key?: string): SchemaVersion {
  const version = typeof value === 'string' ? schemaVersionOf(value) : undefined;
  if (version) return version;
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value) : value === null ? 'null' : `a ${typeof value}`;
  throw new AsyncmqPostgresError(
    'ASYNCMQ_INVALID_SETTING',
    `${setting} is ${shown}, ${whyNot(value)}; the schema versions: ${describeKnown()}`,
    key === undefined ? {} : { setting: key },
  );
}

/** Why a value is no version, in the terms of what it looks like. */
function whyNot(value: unknown): string {
  if (typeof value !== 'string') return 'where a version is a string, such as "0.9"';
  const text = value.trim();
  const prefixed = /^v(.*)$/i.exec(text);
  if (prefixed && schemaVersionOf(prefixed[1]!)) return `which is written without the v: ${prefixed[1]}`;
  const release = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text);
  if (!release) return 'which is not a schema version or an AsyncMQ release';
  const series = `${Number(release[1])}.${Number(release[2])}`;
  const known = SCHEMA_VERSIONS.flatMap((v) => RELEASES[v].filter((r) => r.startsWith(`${series}.`)).map((r) => [r, v] as const));
  if (known.length > 0) {
    const schema = known[0]![1];
    const list = known.map(([r]) => r).join(', ');
    return release[3] === undefined
      ? `which is not a schema version: AsyncMQ ${series}.x (${list}) uses schema ${schema}; give ${schema}, or the exact release`
      : `which is not an AsyncMQ release (those of ${series} are ${list}, on schema ${schema})`;
  }
  if (compareReleases(text, NEWEST_KNOWN_RELEASE) > 0) {
    return (
      `which is newer than the AsyncMQ releases this asyncmq-postgres knows (up to ${NEWEST_KNOWN_RELEASE}): whether it changed ` +
      'its Postgres tables has not been checked here. Look for a newer asyncmq-postgres; if you know that release ' +
      `keeps ${SCHEMA_VERSIONS.at(-1)}'s tables, give ${SCHEMA_VERSIONS.at(-1)}`
    );
  }
  return 'which is not an AsyncMQ release';
}

/** `0.1 (AsyncMQ 0.1.x), 0.2 (AsyncMQ 0.2.x to 0.7.x), ...`, or an AsyncMQ release such as 0.9.1. */
export function describeKnown(): string {
  return `${SCHEMA_VERSIONS.map((v) => `${v} (AsyncMQ ${describeReleases(v)})`).join(', ')}, or the exact AsyncMQ release, such as ${NEWEST_KNOWN_RELEASE}`;
}

export function describeReleases(version: SchemaVersion): string {
  const series = [...new Set(RELEASES[version].map((r) => r.split('.').slice(0, 2).join('.')))];
  return series.length === 1 ? `${series[0]}.x` : `${series[0]}.x to ${series.at(-1)}.x`;
}

/** Orders `major.minor[.patch]` numerically (`0.10` after `0.9`). */
function compareReleases(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) {
    const d = (x![i] ?? 0) - (y![i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Negative when `a` is older than `b`. */
export function compareVersions(a: SchemaVersion, b: SchemaVersion): number {
  return SCHEMA_VERSIONS.indexOf(a) - SCHEMA_VERSIONS.indexOf(b);
}

/** The versions after `from` up to and including `to`, oldest first: the upgrade's steps. */
export function versionsBetween(from: SchemaVersion, to: SchemaVersion): SchemaVersion[] {
  return SCHEMA_VERSIONS.filter((v) => compareVersions(v, from) > 0 && compareVersions(v, to) <= 0);
}
