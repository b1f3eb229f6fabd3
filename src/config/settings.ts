/**
 * The settings vocabulary: names, environment variables, defaults and validation.
 *
 * Every setting mirrors AsyncMQ's own (`settings.postgres_jobs_table_name` becomes
 * `postgresJobsTableName`) and has one `ASYNCMQ_*` environment variable. Precedence, everywhere:
 * an explicit option, then the per-call `settings` object, then the environment, then the
 * seed's default. This module is pure and imports nothing that talks to a database, so the
 * `./schema` entry can use it.
 */
import { AsyncmqPostgresError } from '../errors.js';
import { DEFAULT_SCHEMA_VERSION, parseSchemaVersion, type SchemaVersion } from './versions.js';
import { RESERVED_KEYWORDS, TYPE_FUNCTION_KEYWORDS } from './keywords.js';

/**
 * `seed`: exactly AsyncMQ's own three indexes. `queue`: those plus the one AsyncMQ 0.1 to 0.8's
 * dequeue needs. `asyncmq-0.9`: the indexes AsyncMQ 0.9's statements use (on an older schema
 * version, `queue`'s).
 */
export const INDEX_PROFILES = ['seed', 'queue', 'asyncmq-0.9'] as const;
export type IndexProfile = (typeof INDEX_PROFILES)[number];

/** The settings that name things: everything the table definitions depend on. */
export interface AsyncmqNames {
  postgresJobsTableName?: string;
  postgresRepeatablesTableName?: string;
  postgresCancelledJobsTableName?: string;
  /** The workers' heartbeat table, from schema version 0.2 on. */
  postgresWorkersHeartbeatTableName?: string;
  /** A Postgres schema (namespace) for the tables; unset means unqualified names, as AsyncMQ does. */
  postgresSchema?: string;
  postgresIndexes?: IndexProfile;
  /**
   * The AsyncMQ schema to build: `0.1` (the seed), `0.2`, `0.8` or `0.9`, or any AsyncMQ
   * release number (`0.4.6` means `0.2`). Default `0.1`.
   */
  postgresSchemaVersion?: SchemaVersion | (string & {});
}

/**
 * Options for the connection asyncmq-postgres opens from a URL: postgres.js's own, by its names,
 * and AsyncMQ's asyncpg names (`min_size`, `max_size`, `timeout`). Each is checked at run time
 * too (a value postgres.js cannot use, two names for one option, an unknown name).
 */
export interface PoolOptions {
  host?: string;
  hostname?: string;
  port?: number | string;
  /** A Unix socket path. */
  path?: string;
  database?: string;
  db?: string;
  user?: string;
  username?: string;
  pass?: string | (() => string | Promise<string>);
  password?: string | (() => string | Promise<string>);
  ssl?: boolean | 'require' | 'allow' | 'prefer' | 'verify-full' | object;
  sslnegotiation?: 'direct' | 'postgres' | null;
  max?: number;
  /** asyncpg's name for `max`. */
  max_size?: number;
  /** asyncpg's; accepted and ignored (postgres.js opens connections as they are needed). */
  min_size?: number;
  idle_timeout?: number | null;
  /** Seconds; default 10. */
  connect_timeout?: number;
  /** asyncpg's name for `connect_timeout`. */
  timeout?: number;
  max_lifetime?: number | null;
  max_pipeline?: number;
  backoff?: number | ((attempt: number) => number);
  keep_alive?: number | null;
  prepare?: boolean;
  no_prepare?: boolean;
  debug?: boolean | ((connection: number, query: string, parameters: unknown[], types: unknown[]) => void);
  fetch_types?: boolean;
  publications?: string;
  target_session_attrs?: 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby' | null;
  /** Connection parameters, such as `{ search_path: 'queue' }`. */
  connection?: Record<string, string | number | boolean>;
  socket?: (options: never) => unknown;
  onnotice?: (notice: never) => void;
  onparameter?: (key: string, value: unknown) => void;
  onclose?: (connectionId: number) => void;
}

export interface AsyncmqSettings extends AsyncmqNames {
  asyncmqPostgresBackendUrl?: string;
  asyncmqPostgresPoolOptions?: PoolOptions;
  /** Milliseconds any lock wait may take before install or drop gives up. Default 10000. */
  postgresLockTimeout?: number;
}

export type ResolvedNames = Required<Omit<AsyncmqNames, 'postgresSchema' | 'postgresSchemaVersion'>> & {
  postgresSchema: string | undefined;
  postgresSchemaVersion: SchemaVersion;
};

export const ENV_VARS = {
  asyncmqPostgresBackendUrl: 'ASYNCMQ_POSTGRES_BACKEND_URL',
  asyncmqPostgresPoolOptions: 'ASYNCMQ_POSTGRES_POOL_OPTIONS',
  postgresJobsTableName: 'ASYNCMQ_POSTGRES_JOBS_TABLE_NAME',
  postgresRepeatablesTableName: 'ASYNCMQ_POSTGRES_REPEATABLES_TABLE_NAME',
  postgresCancelledJobsTableName: 'ASYNCMQ_POSTGRES_CANCELLED_JOBS_TABLE_NAME',
  postgresWorkersHeartbeatTableName: 'ASYNCMQ_POSTGRES_WORKERS_HEARTBEAT_TABLE_NAME',
  postgresSchema: 'ASYNCMQ_POSTGRES_SCHEMA',
  postgresIndexes: 'ASYNCMQ_POSTGRES_INDEXES',
  postgresSchemaVersion: 'ASYNCMQ_POSTGRES_SCHEMA_VERSION',
  postgresLockTimeout: 'ASYNCMQ_POSTGRES_LOCK_TIMEOUT',
} as const satisfies Record<keyof AsyncmqSettings, string>;

export const DEFAULT_NAMES: ResolvedNames = {
  postgresJobsTableName: 'asyncmq_jobs',
  postgresRepeatablesTableName: 'asyncmq_repeatables',
  postgresCancelledJobsTableName: 'asyncmq_cancelled_jobs',
  postgresWorkersHeartbeatTableName: 'asyncmq_workers_heartbeat',
  postgresSchema: undefined,
  postgresIndexes: 'seed',
  postgresSchemaVersion: DEFAULT_SCHEMA_VERSION,
};

/**
 * AsyncMQ 0.9's paused-queues table has no setting: AsyncMQ's code names it unqualified and
 * fixed, so every name set in a namespace shares it, and no configured table may take its name.
 */
export const PAUSED_QUEUES_TABLE_NAME = 'asyncmq_paused_queues';

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/** Postgres's limit on identifiers, in bytes; longer names are silently truncated. */
export const MAX_IDENTIFIER_BYTES = 63;

const utf8 = /* @__PURE__ */ new TextEncoder();
/**
 * A name's length in UTF-8 bytes, as Postgres counts it. TextEncoder rather than Node's Buffer:
 * the `./schema` entry reaches this, and must load wherever drizzle-orm does.
 */
export function byteLength(name: string): number {
  return utf8.encode(name).length;
}

/**
 * How a setting is named in messages when where its value came from is not known here: both the
 * option and the environment variable. Whoever knows (the call's `settings`, a CLI flag, a
 * config file) renames it with `relabel`, so the user reads the name they used.
 */
export function describeSetting(key: keyof AsyncmqSettings): string {
  return `${key} (${ENV_VARS[key]})`;
}

/**
 * `error` with each setting it names by `describeSetting` named by `label` instead (where
 * `label` gives a name): `--schema-version is "9"` rather than the variable the user never set.
 * Anything but a coded error is returned as it is.
 */
export function relabel(error: unknown, label: (key: keyof AsyncmqSettings) => string | undefined): unknown {
  if (!(error instanceof AsyncmqPostgresError)) return error;
  let message = error.message;
  for (const key of Object.keys(ENV_VARS) as (keyof AsyncmqSettings)[]) {
    const name = label(key);
    if (name !== undefined) message = message.split(describeSetting(key)).join(name);
  }
  if (message === error.message) return error;
  const renamed = new AsyncmqPostgresError(error.code, message, {
    ...(error.cause === undefined ? {} : { cause: error.cause }),
    ...(error.setting === undefined ? {} : { setting: error.setting }),
  });
  if (error.stack) renamed.stack = error.stack.replace(error.message, message);
  return renamed;
}

/** Key words AsyncMQ's unquoted SQL cannot use as a name (see keywords.ts for how they were found). */
const KEYWORDS = /* @__PURE__ */ new Map<string, string>([
  ...RESERVED_KEYWORDS.map((word) => [word, 'a reserved word in Postgres'] as [string, string]),
  ...TYPE_FUNCTION_KEYWORDS.map((word) => [word, 'a key word Postgres accepts only as a type or function name'] as [string, string]),
]);

const NAME_KEYS = [
  'postgresJobsTableName',
  'postgresRepeatablesTableName',
  'postgresCancelledJobsTableName',
  'postgresWorkersHeartbeatTableName',
] as const;
/** Every setting the table definitions depend on. */
const NAMING_KEYS = [...NAME_KEYS, 'postgresSchema', 'postgresIndexes', 'postgresSchemaVersion'] as const satisfies readonly (keyof AsyncmqNames)[];

/**
 * Refuses a name that AsyncMQ's unquoted SQL would read as another name (`MyJobs` folds to
 * `myjobs`) or cannot use (a key word), that is not an identifier at all, that Postgres would
 * truncate, or that belongs to Postgres's own system namespaces.
 */
export function validateIdentifier(key: keyof AsyncmqSettings, value: unknown): string {
  const setting = describeSetting(key);
  const fail = (why: string): never => {
    throw new AsyncmqPostgresError('ASYNCMQ_INVALID_NAME', `${setting} ${why}`, { setting: key });
  };
  if (typeof value !== 'string') return fail(`must be a string, got ${typeof value}`);
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (!/^[a-z_][a-z0-9_]*$/.test(value)) {
    fail(
      `is ${shown}: use a plain lowercase identifier ([a-z_][a-z0-9_]*), because AsyncMQ writes the name unquoted ` +
        `into its SQL, where any other spelling means a different name or a syntax error`,
    );
  }
  const keyword = KEYWORDS.get(value);
  if (keyword) fail(`is ${shown}, ${keyword}: AsyncMQ writes the name unquoted into its SQL, where it is a syntax error`);
  if (byteLength(value) > MAX_IDENTIFIER_BYTES) {
    fail(`is ${byteLength(value)} bytes long; Postgres truncates names over ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  if (key === 'postgresSchema') {
    if (value.startsWith('pg_')) fail(`is ${shown}: names starting with pg_ are reserved for Postgres's system schemas`);
    if (value === 'information_schema') fail(`is ${shown}, a system schema of Postgres; choose a schema of your own`);
  } else if (value.startsWith('pg_')) {
    // pg_catalog comes first in every search_path, so an unqualified pg_class is the catalog's.
    fail(`is ${shown}: names starting with pg_ are Postgres's, for its system catalogs, which unqualified names reach first`);
  }
  return value;
}

/** Fills in the seed's defaults (never the environment) and validates every name. */
export function resolveNames(names: AsyncmqNames = {}): ResolvedNames {
  const given = withoutUndefined(names);
  const resolved: ResolvedNames = {
    ...DEFAULT_NAMES,
    ...given,
    postgresSchemaVersion: parseSchemaVersion(
      given.postgresSchemaVersion ?? DEFAULT_NAMES.postgresSchemaVersion,
      describeSetting('postgresSchemaVersion'),
      'postgresSchemaVersion',
    ),
  };
  for (const key of NAME_KEYS) validateIdentifier(key, resolved[key]);
  if (resolved.postgresSchema !== undefined) validateIdentifier('postgresSchema', resolved.postgresSchema);
  if (!(INDEX_PROFILES as readonly unknown[]).includes(resolved.postgresIndexes)) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_INVALID_SETTING',
      `${describeSetting('postgresIndexes')} is ${JSON.stringify(resolved.postgresIndexes)}; expected one of ${INDEX_PROFILES.join(', ')}`,
      { setting: 'postgresIndexes' },
    );
  }
  const seen = new Map<string, string>([[PAUSED_QUEUES_TABLE_NAME, `AsyncMQ's own ${PAUSED_QUEUES_TABLE_NAME} table`]]);
  for (const key of NAME_KEYS) {
    const other = seen.get(resolved[key]);
    if (other) {
      throw new AsyncmqPostgresError(
        'ASYNCMQ_INVALID_NAME',
        `${describeSetting(key)} and ${other.startsWith('AsyncMQ') ? other : describeSetting(other as keyof AsyncmqSettings)} both name the table ${resolved[key]}; each table needs its own name`,
        { setting: key },
      );
    }
    seen.set(resolved[key], key);
  }
  return resolved;
}

/** The names part of a settings object, for `createAsyncmqSchema`. */
export function pickNames(settings: AsyncmqSettings): AsyncmqNames {
  return withoutUndefined(Object.fromEntries(NAMING_KEYS.map((key) => [key, settings[key]]))) as AsyncmqNames;
}

/**
 * Settings read from `ASYNCMQ_*` environment variables (only `keys`, if given); an empty
 * variable counts as unset.
 */
export function settingsFromEnv(
  env: Record<string, string | undefined> = process.env,
  keys: readonly (keyof AsyncmqSettings)[] = Object.keys(ENV_VARS) as (keyof AsyncmqSettings)[],
): AsyncmqSettings {
  const out: AsyncmqSettings = {};
  for (const key of keys) {
    const raw = env[ENV_VARS[key]];
    if (raw === undefined || raw === '') continue;
    if (key === 'asyncmqPostgresPoolOptions') out[key] = parsePoolOptionsJson(raw);
    else if (key === 'postgresLockTimeout') out[key] = parseLockTimeout(raw, describeSetting(key));
    else Object.assign(out, { [key]: raw });
  }
  return out;
}

/**
 * Only the naming settings from the environment, for the tables built at import: a malformed
 * variable that does not name anything (the pool options, say) must not break an import.
 */
export function namesFromEnv(env: Record<string, string | undefined> = process.env): AsyncmqNames {
  return settingsFromEnv(env, NAMING_KEYS);
}

/** Per key: `settings` first, then the environment. Undefined values in `settings` fall through. */
export function resolveSettings(
  settings: AsyncmqSettings = {},
  env: Record<string, string | undefined> = process.env,
): AsyncmqSettings {
  return { ...settingsFromEnv(env), ...withoutUndefined(settings) };
}

/** Postgres's range for `lock_timeout` in milliseconds; 0 means no limit. */
export const MAX_LOCK_TIMEOUT_MS = 2_147_483_647;

/**
 * The one reading of a lock timeout, for the option, the environment variable and the CLI
 * flag: a whole number of milliseconds in Postgres's range, written in decimal digits only when
 * it is a string (no `0x10`, `1e3` or spaces). `source` names where the value came from.
 */
export function parseLockTimeout(value: unknown, source: string): number {
  const number = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof number === 'number' && Number.isInteger(number) && number >= 0 && number <= MAX_LOCK_TIMEOUT_MS) return number;
  const shown =
    typeof value === 'string'
      ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)
      : typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value === null
        ? String(value)
        : `a ${typeof value}`;
  throw new AsyncmqPostgresError(
    'ASYNCMQ_INVALID_SETTING',
    `${source} must be a whole number of milliseconds from 0 (no limit) to ${MAX_LOCK_TIMEOUT_MS}, Postgres's range for lock_timeout; got ${shown}`,
    { setting: 'postgresLockTimeout' },
  );
}

export function lockTimeoutOf(settings: AsyncmqSettings): number {
  return parseLockTimeout(settings.postgresLockTimeout ?? DEFAULT_LOCK_TIMEOUT_MS, describeSetting('postgresLockTimeout'));
}

function parsePoolOptionsJson(raw: string): PoolOptions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // The parser's message quotes the input, which may hold a password: it is not passed on.
    throw new AsyncmqPostgresError(
      'ASYNCMQ_INVALID_POOL_OPTIONS',
      `${ENV_VARS.asyncmqPostgresPoolOptions} is not valid JSON; expected a JSON object such as {"max": 5}`,
      { setting: 'asyncmqPostgresPoolOptions' },
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_INVALID_POOL_OPTIONS',
      `${ENV_VARS.asyncmqPostgresPoolOptions} must be a JSON object such as {"max": 5}, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`}`,
      { setting: 'asyncmqPostgresPoolOptions' },
    );
  }
  return parsed as PoolOptions;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
