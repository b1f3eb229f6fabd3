/**
 * The connection: which URL, which pool options, and what a failure means in words.
 *
 * Everything here that can be wrong with the input is checked before a socket is opened, and
 * every message is built from parts that cannot hold the password.
 */
import postgres, { type Sql } from 'postgres';
import { AsyncmqPostgresError, redact, redactError, type AsyncmqErrorCode } from './errors.js';
import { ENV_VARS, type PoolOptions } from './settings.js';

export interface Connection {
  url: string;
  options: postgres.Options<Record<string, never>>;
  /** `host:port/database`, for messages. */
  target: string;
  /** Strings that must never appear in an error: the password, raw and decoded. */
  secrets: string[];
}

/** Connect timeout in seconds where none is given (postgres.js's own default is 30). */
export const DEFAULT_CONNECT_TIMEOUT = 10;

// postgres.js's options, by the names its parseOptions reads.
const POSTGRES_JS_OPTIONS = new Set([
  'host', 'hostname', 'port', 'path', 'database', 'db', 'user', 'username', 'pass', 'password', 'ssl', 'sslnegotiation',
  'max', 'idle_timeout', 'connect_timeout', 'max_lifetime', 'max_pipeline', 'backoff', 'keep_alive', 'prepare', 'no_prepare',
  'debug', 'fetch_types', 'publications', 'target_session_attrs', 'connection', 'socket', 'onnotice', 'onparameter', 'onclose',
]);
// These change how rows come back, and the package reads its own catalog queries.
const REFUSED: Record<string, string> = {
  transform: 'it would rename the columns of the catalog queries asyncmq-postgres reads',
  types: 'it would change how asyncmq-postgres reads its own catalog queries',
};

// AsyncMQ passes asyncpg's pool options; these are the ones with a postgres.js meaning.
const ASYNCPG_ALIASES: Record<string, string> = { max_size: 'max', timeout: 'connect_timeout' };
// postgres.js opens connections lazily, so a minimum pool size has nothing to act on.
const NO_EFFECT = new Set(['min_size']);
const NUMERIC = new Set(['max', 'idle_timeout', 'connect_timeout', 'max_lifetime', 'max_pipeline', 'keep_alive']);

/** Maps asyncpg names to postgres.js ones and refuses what postgres.js would silently ignore. */
export function normalizePoolOptions(given: PoolOptions, source: string): PoolOptions {
  const fail = (why: string): never => {
    throw new AsyncmqPostgresError('ASYNCMQ_INVALID_POOL_OPTIONS', `pool option ${why} (from ${source})`, {
      setting: 'asyncmqPostgresPoolOptions',
    });
  };
  const out: PoolOptions = {};
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined || NO_EFFECT.has(name)) continue;
    const target = ASYNCPG_ALIASES[name] ?? name;
    if (REFUSED[target]) fail(`${JSON.stringify(name)} is not accepted: ${REFUSED[target]}`);
    if (!POSTGRES_JS_OPTIONS.has(target)) {
      fail(`${JSON.stringify(name)} is not known; postgres.js accepts ${[...POSTGRES_JS_OPTIONS].join(', ')} (and asyncpg's min_size, max_size, timeout)`);
    }
    if (target in out) fail(`${JSON.stringify(name)} is given twice (also as ${target})`);
    if (NUMERIC.has(target) && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
      fail(`${JSON.stringify(name)} must be a non-negative number, got ${JSON.stringify(value)}`);
    }
    out[target] = value;
  }
  return out;
}

/**
 * The password in a URL, found without parsing it (a malformed URL is exactly the case to
 * guard): everything between the user name and the last `@`, so that an unescaped `@` in the
 * password does not leave its tail showing.
 */
function secretsOf(url: string, poolOptions: PoolOptions): string[] {
  const rest = url.slice(url.indexOf('://') + 3);
  const userinfo = rest.slice(0, Math.max(0, rest.lastIndexOf('@')));
  const raw = userinfo.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : '';
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // keep the raw form only
  }
  // Keyword/value strings and query parameters: `password=...`.
  const keyed = [...url.matchAll(/password=('(?:[^'\\]|\\.)*'|[^\s&]+)/gi)].map((m) => m[1]!);
  const given = [poolOptions.password, poolOptions.pass].filter((p): p is string => typeof p === 'string');
  return [...new Set([raw, decoded, ...keyed, ...given])].filter(Boolean).sort((a, b) => b.length - a.length);
}

export function resolveConnection(url: string | undefined, poolOptions: PoolOptions, poolSource: string): Connection {
  if (url === undefined || url === '') {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_NO_URL',
      `no database URL: pass connectionString, or set asyncmqPostgresBackendUrl in settings or ${ENV_VARS.asyncmqPostgresBackendUrl} in the environment`,
      { setting: 'asyncmqPostgresBackendUrl' },
    );
  }
  const secrets = secretsOf(url, poolOptions);
  // No message repeats the URL: where it is malformed, no parser can say which part is the password.
  const invalid = (why: string, cause?: Error) =>
    new AsyncmqPostgresError('ASYNCMQ_INVALID_URL', `the database URL is not a valid Postgres URL: ${why} (the URL is not shown: it may hold a password)`, {
      setting: 'asyncmqPostgresBackendUrl',
      ...(cause ? { cause } : {}),
    });
  if (!/^postgres(ql)?:\/\//i.test(url)) throw invalid('it must start with postgres:// or postgresql://');
  let parsed: URL;
  try {
    // As postgres.js does: only the first of several comma-separated hosts goes to URL.
    const hosts = url.slice(url.indexOf('://') + 3).split(/[?/]/)[0]!;
    const hostPart = hosts.slice(hosts.indexOf('@') + 1);
    parsed = new URL(url.replace(hostPart, hostPart.split(',')[0]!));
  } catch (error) {
    const cause = redactError(error, secrets);
    throw invalid(cause.message, cause);
  }
  // An @ after the host is almost always a password with an unescaped @ or /: the "host" and
  // "database" would then be pieces of the password, and would show in connection errors.
  if (`${parsed.pathname}${parsed.search}`.includes('@')) {
    throw invalid('it has an @ after the host; percent-encode @, /, ? and # in the user name and password (@ as %40)');
  }
  const options = normalizePoolOptions(poolOptions, poolSource);
  const connectionParams = (options.connection ?? {}) as Record<string, unknown>;
  return {
    url,
    secrets,
    // From parts of a URL that may be malformed: scrubbed like everything else shown.
    target: redact(`${parsed.hostname || 'localhost'}:${parsed.port || 5432}${parsed.pathname}`, secrets),
    options: {
      connect_timeout: DEFAULT_CONNECT_TIMEOUT,
      // One catalog query is the whole of a no-op install; fetching array types would double it.
      fetch_types: false,
      ...options,
      // IF NOT EXISTS and friends print NOTICEs, which postgres.js would log to the console.
      onnotice: typeof options.onnotice === 'function' ? (options.onnotice as () => void) : () => {},
      connection: { application_name: 'asyncmq-postgres', ...connectionParams },
    },
  };
}

export function openPool(connection: Connection): Sql {
  return postgres(connection.url, connection.options);
}

const PG_CODES: Record<string, AsyncmqErrorCode> = {
  '28P01': 'ASYNCMQ_AUTHENTICATION_FAILED',
  '28000': 'ASYNCMQ_AUTHENTICATION_FAILED',
  '42501': 'ASYNCMQ_PERMISSION_DENIED',
  '55P03': 'ASYNCMQ_LOCK_TIMEOUT',
  '2BP01': 'ASYNCMQ_DEPENDENT_OBJECTS',
  '3D000': 'ASYNCMQ_CONNECTION_FAILED',
};

const NETWORK_CODES = new Set(['CONNECT_TIMEOUT', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'ENOENT']);

/**
 * Turns whatever the driver threw into one `AsyncmqPostgresError` that says what was being
 * done (`step`) and why it failed, with the original (password removed) as `cause`.
 */
export function translateError(error: unknown, connection: Connection, step: string, lockTimeoutMs?: number): AsyncmqPostgresError {
  if (error instanceof AsyncmqPostgresError) return error;
  const cause = redactError(error, connection.secrets);
  const code = (error as { code?: string } | null)?.code ?? '';
  const detail = cause.message;
  if (NETWORK_CODES.has(code)) {
    return new AsyncmqPostgresError('ASYNCMQ_CONNECTION_FAILED', `could not connect to ${connection.target} (${code}: ${detail})`, { cause });
  }
  const mapped = PG_CODES[code] ?? 'ASYNCMQ_DATABASE_ERROR';
  const why =
    mapped === 'ASYNCMQ_LOCK_TIMEOUT'
      ? `timed out after ${lockTimeoutMs} ms (postgresLockTimeout) ${step}: ${detail}`
      : mapped === 'ASYNCMQ_PERMISSION_DENIED'
        ? `the role lacks a privilege needed for ${step}: ${detail}`
        : mapped === 'ASYNCMQ_AUTHENTICATION_FAILED'
          ? `authentication to ${connection.target} failed: ${detail}`
          : `${step} failed on ${connection.target}: ${detail}${code ? ` (SQLSTATE ${code})` : ''}`;
  return new AsyncmqPostgresError(mapped, why, { cause });
}
