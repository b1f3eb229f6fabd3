/**
 * The connection: which URL, which pool options, and what a failure means in words.
 *
 * Everything here that can be wrong with the input is checked before a socket is opened, and
 * every message is built from parts that cannot hold the password.
 *
 * postgres.js is loaded on the URL path only, and not before a URL is used (load-postgres.ts): an
 * app that passes its own connection (`db`, `client`) needs no postgres.js installed.
 */
import { AsyncmqPostgresError, printable, redact, redactError, type AsyncmqErrorCode, type Secrets } from '../errors.js';
import { loadPostgres, type PostgresFactory } from './load-postgres.js';
import { ENV_VARS, type PoolOptions } from '../config/settings.js';

/** Where a call's statements go and as whom, as messages name it, and what to redact from them. */
export interface Endpoint {
  /**
   * Where the driver connects: `host:port/database`, several hosts comma-separated (for a URL,
   * as postgres.js reads the pool options, the URL and PGHOST/PGPORT/PGDATABASE in that order).
   */
  target: string;
  /** The role the driver connects as (for a URL: pool options, URL, PGUSER, the OS user). */
  user: string;
  /** Where the password could show in a driver's or server's text. */
  secrets: Secrets;
}

/** postgres.js's options, as the package passes them to `postgres()`. */
export type DriverOptions = Record<string, unknown>;

export interface Connection extends Endpoint {
  url: string;
  options: DriverOptions;
}

/** Connect timeout in seconds where none is given (postgres.js's own default is 30). */
export const DEFAULT_CONNECT_TIMEOUT = 10;

// Node's timers hold at most 2^31-1 ms; postgres.js multiplies these seconds by 1000, and a
// longer delay would fire after 1 ms instead.
const MAX_TIMER_SECONDS = 2_147_483;

interface PoolOption {
  /** What the option sets, for messages (two names for one thing are refused together). */
  sets: string;
  /** What it accepts, in words. */
  accepts: string;
  valid: (value: unknown) => boolean;
  /** Never echo the value. */
  secret?: boolean;
}

const isFunction = (v: unknown) => typeof v === 'function';
const isText = (v: unknown) => typeof v === 'string' && v !== '';
const isInteger = (min: number, max: number) => (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isSeconds = (min: number, exclusive = false) => (v: unknown) =>
  typeof v === 'number' && Number.isFinite(v) && (exclusive ? v > min : v >= min) && v <= MAX_TIMER_SECONDS;
const orOff = (check: (v: unknown) => boolean) => (v: unknown) => v === null || check(v);
const isPort = (v: unknown) => isInteger(1, 65535)(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v);
const SESSION_ATTRS = ['read-write', 'read-only', 'primary', 'standby', 'prefer-standby'];
const SSL_MODES = ['require', 'allow', 'prefer', 'verify-full'];

const host: PoolOption = { sets: 'the host', accepts: 'a host name, or several separated by commas', valid: isText };
const database: PoolOption = { sets: 'the database', accepts: 'a database name', valid: isText };
const user: PoolOption = { sets: 'the user', accepts: 'a role name', valid: isText };
const pass: PoolOption = { sets: 'the password', accepts: 'a string, or a function that returns one', valid: (v) => typeof v === 'string' || isFunction(v), secret: true };
// Postgres allows at most 262143 connections (MAX_BACKENDS); postgres.js builds an object for each up front.
const max: PoolOption = { sets: 'the pool size', accepts: 'a whole number of connections from 1 to 262143', valid: isInteger(1, 262_143) };
const connectTimeout: PoolOption = {
  sets: 'the connect timeout',
  accepts: `a number of seconds, more than 0 and at most ${MAX_TIMER_SECONDS} (every connection attempt needs a deadline)`,
  valid: isSeconds(0, true),
};
const prepare: PoolOption = { sets: 'whether statements are prepared', accepts: 'true or false', valid: (v) => typeof v === 'boolean' };

/**
 * postgres.js's options, by the names its parseOptions reads, each with the values it can use
 * (read from postgres.js 3.4: `[...Array(max)]` needs a whole number and 0 opens no connection
 * at all; the timeouts go to setTimeout in seconds, where 0 or null means none). postgres.js 4.2
 * reads each of them the same way (its `socket` factory gets the host and port too, see
 * session.ts); the options only 4 has are not accepted, so that a setting means the same on
 * both lines. Also AsyncMQ's asyncpg names that have a postgres.js meaning (`timeout` is renamed
 * here: postgres.js itself reads it as a deprecated name of the idle timeout).
 */
const KNOWN_POOL_OPTIONS = {
  host,
  hostname: host,
  port: { sets: 'the port', accepts: 'a port number from 1 to 65535', valid: isPort },
  path: { sets: 'the Unix socket path', accepts: 'a path', valid: isText },
  database,
  db: database,
  user,
  username: user,
  pass,
  password: pass,
  ssl: {
    sets: 'TLS',
    accepts: `true, false, ${SSL_MODES.map((m) => JSON.stringify(m)).join(', ')} or an object of tls.connect options`,
    valid: (v) => typeof v === 'boolean' || SSL_MODES.includes(v as string) || (typeof v === 'object' && v !== null && !Array.isArray(v)),
  },
  sslnegotiation: { sets: 'the TLS negotiation', accepts: '"direct", "postgres" or null', valid: (v) => v === null || v === 'direct' || v === 'postgres' },
  max,
  max_size: max,
  idle_timeout: { sets: 'the idle timeout', accepts: `a number of seconds up to ${MAX_TIMER_SECONDS}, or 0 or null for none`, valid: orOff(isSeconds(0)) },
  connect_timeout: connectTimeout,
  timeout: connectTimeout,
  max_lifetime: { sets: 'the connection lifetime', accepts: `a number of seconds up to ${MAX_TIMER_SECONDS}, or 0 or null for none`, valid: orOff(isSeconds(0)) },
  max_pipeline: { sets: 'the pipeline depth', accepts: 'a whole number of queries, 0 or more', valid: isInteger(0, Number.MAX_SAFE_INTEGER) },
  backoff: { sets: 'the reconnect delay', accepts: `a number of seconds up to ${MAX_TIMER_SECONDS}, or a function of the attempt`, valid: (v) => isSeconds(0)(v) || isFunction(v) },
  keep_alive: { sets: 'TCP keepalive', accepts: `a number of seconds up to ${MAX_TIMER_SECONDS}, or 0 or null for none`, valid: orOff(isSeconds(0)) },
  prepare,
  no_prepare: prepare,
  debug: { sets: 'debugging', accepts: 'true, false or a function', valid: (v) => typeof v === 'boolean' || isFunction(v) },
  fetch_types: { sets: 'array type fetching', accepts: 'true or false', valid: (v) => typeof v === 'boolean' },
  publications: { sets: 'the publications', accepts: 'a publication name', valid: isText },
  target_session_attrs: {
    sets: 'the target session attributes',
    accepts: `null or one of ${SESSION_ATTRS.join(', ')}`,
    valid: (v) => v === null || SESSION_ATTRS.includes(v as string),
  },
  connection: {
    sets: 'the connection parameters',
    accepts: 'an object of string, number or boolean values, such as {"search_path": "queue"}',
    valid: (v) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => ['string', 'number', 'boolean'].includes(typeof x)),
  },
  socket: { sets: 'the socket', accepts: 'a function that returns a socket', valid: isFunction },
  onnotice: { sets: 'the notice handler', accepts: 'a function', valid: isFunction },
  onparameter: { sets: 'the parameter handler', accepts: 'a function', valid: isFunction },
  onclose: { sets: 'the close handler', accepts: 'a function', valid: isFunction },
} satisfies Record<Exclude<keyof PoolOptions, 'min_size'>, PoolOption>;
const POOL_OPTIONS: Record<string, PoolOption> = KNOWN_POOL_OPTIONS;
// These only shape the rows a query returns, and this connection returns none to the app.
const REFUSED: Record<string, string> = {
  transform: 'it shapes the rows an app reads, and the connection asyncmq-postgres opens returns none to the app',
  types: 'it shapes the values an app reads, and the connection asyncmq-postgres opens returns none to the app',
};
// AsyncMQ passes asyncpg's pool options; these are renamed to postgres.js's.
const ASYNCPG_ALIASES: Record<string, string> = { max_size: 'max', timeout: 'connect_timeout' };
// postgres.js opens connections lazily, so a minimum pool size has nothing to act on.
const NO_EFFECT = new Set(['min_size']);

/** Whether `name` is a pool option (postgres.js's or asyncpg's), refused ones included. */
export function isPoolOptionName(name: string): boolean {
  return Object.hasOwn(POOL_OPTIONS, name) || NO_EFFECT.has(name) || Object.hasOwn(REFUSED, name);
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Maps asyncpg names to postgres.js ones and refuses what postgres.js would misuse or silently ignore. */
export function normalizePoolOptions(given: object, source: string): DriverOptions {
  const fail = (why: string): never => {
    throw new AsyncmqPostgresError('ASYNCMQ_INVALID_POOL_OPTIONS', `${why} (from ${source})`, { setting: 'asyncmqPostgresPoolOptions' });
  };
  const out: DriverOptions = {};
  const named = new Map<PoolOption, string>();
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined || NO_EFFECT.has(name)) continue;
    if (REFUSED[name]) fail(`pool option ${JSON.stringify(name)} is not accepted: ${REFUSED[name]}`);
    const spec = POOL_OPTIONS[name];
    if (!spec) {
      fail(
        `pool option ${JSON.stringify(name)} is not known; postgres.js accepts ` +
          `${Object.keys(POOL_OPTIONS).filter((n) => !ASYNCPG_ALIASES[n]).join(', ')} (and asyncpg's min_size, max_size, timeout)`,
      );
    }
    const other = named.get(spec!);
    if (other) fail(`pool options ${JSON.stringify(other)} and ${JSON.stringify(name)} both set ${spec!.sets}; give one`);
    named.set(spec!, name);
    if (!spec!.valid(value)) {
      fail(`pool option ${JSON.stringify(name)} sets ${spec!.sets}: expected ${spec!.accepts}, got ${spec!.secret ? `a ${typeof value}` : shown(value)}`);
    }
    out[ASYNCPG_ALIASES[name] ?? name] = value;
  }
  return out;
}

/** The user, password and hosts of a URL as a URL parser reads them, host lists included. */
interface UrlParts {
  user: string;
  /** The password as written, and decoded. */
  rawPassword: string;
  password: string;
  hosts: { name: string; port?: number }[];
}

type Invalid = (why: string, cause?: Error) => AsyncmqPostgresError;

const ENCODE = 'percent-encode @, :, /, ?, #, % and , in the user name and password (# as %23, % as %25, @ as %40)';

/** The refusal of a URL that postgres.js reads otherwise than a URL parser. */
const MISREAD =
  'postgres.js would read its user, password or hosts differently from a URL parser (an unescaped @ or , in the password ' +
  'would become host names); percent-encode @, :, /, ?, #, % and , in the user name and password (@ as %40, , as %2C)';

/**
 * Reads the URL the standard way (RFC 3986 and the WHATWG parser: the userinfo ends at the last
 * `@` before the first `/`, `?` or `#`), with a comma-separated host list as libpq allows.
 *
 * Refuses what no reading can make safe: a `#` (no Postgres URL has a fragment, so it is a `#`
 * in the password, and the parser would take what precedes it for a host and port), an `@`
 * after the host, and a `%` that does not start a percent-escape.
 *
 * Also refuses, whichever postgres.js is loaded, what either supported line reads otherwise
 * than a URL parser, so that a URL means the same before and after an app moves from
 * postgres.js 3 to 4 (refuseMisreading compares with the line that is loaded; these are the
 * other line's misreadings, read from both lines' parseUrl and parseOptions):
 * - an `@` in the user name or password: postgres.js 3 ends the userinfo at the first `@` and
 *   reads the rest, commas included, as hosts (4 ends it at the last, as a parser does);
 * - a `%` in a host: postgres.js 3 decodes a host list (before it splits it at commas) but not
 *   a single host, 4 decodes each host;
 * - a host list with a port on some hosts only: postgres.js 3 gives a host without one the
 *   first host's port, 4 (as libpq) the default port;
 * - `host` or `port` in the query string: postgres.js 4 connects there, 3 ignores them and
 *   connects to the authority's host;
 * - a `%` in the database name: postgres.js 4 decodes it, 3 does not;
 * - an IPv6 address in brackets, which postgres.js 3 cannot read.
 */
function readUrl(url: string, secrets: Secrets, invalid: Invalid): UrlParts {
  if (!/^postgres(ql)?:\/\//i.test(url)) throw invalid('it must start with postgres:// or postgresql://');
  if (url.includes('#')) throw invalid(`it has a #, which would end the URL there; ${ENCODE}`);
  const start = url.indexOf('://') + 3;
  const length = url.slice(start).search(/[/?]/);
  const authority = length < 0 ? url.slice(start) : url.slice(start, start + length);
  const rest = url.slice(start + authority.length);
  // An @ after the host is almost always a password with an unescaped @ or /: the "host" and
  // "database" would then be pieces of the password, and would show in connection errors.
  if (rest.includes('@')) throw invalid(`it has an @ after the host; ${ENCODE}`);
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? '' : authority.slice(0, at);
  if (userinfo.includes('@')) throw invalid(MISREAD);
  const colon = userinfo.indexOf(':');
  const rawUser = colon < 0 ? userinfo : userinfo.slice(0, colon);
  const rawPassword = colon < 0 ? '' : userinfo.slice(colon + 1);
  let user: string;
  let password: string;
  try {
    user = decodeURIComponent(rawUser);
    password = decodeURIComponent(rawPassword);
  } catch {
    throw invalid(`its user name or password has a % that does not start a percent-escape; ${ENCODE}`);
  }
  const hostList = authority.slice(at + 1);
  const hosts = hostList === '' ? [] : hostList.split(',').map((entry) => {
    const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(entry);
    if (!match || match[1] === '') throw invalid(`its host list has an empty or malformed host; ${ENCODE}`);
    if (match[1]!.startsWith('[')) throw invalid('it names an IPv6 address in brackets, which postgres.js 3 cannot read in a URL; use a host name for it');
    const name = match[1]!;
    if (name.includes('%')) {
      throw invalid(
        'a host name has a percent-escape, which postgres.js 4 decodes and postgres.js 3 decodes in a host list only; ' +
          'write the host as it is (a Unix socket directory as the pool option host)',
      );
    }
    const port = match[2] ? Number(match[2]) : undefined;
    if (port !== undefined && (port < 1 || port > 65535)) throw invalid('a port is out of range (1 to 65535)');
    return { name, ...(port === undefined ? {} : { port }) };
  });
  if (hosts.some((h) => h.port === undefined) && hosts.some((h) => h.port !== undefined)) {
    throw invalid(
      'its host list gives a port to some hosts only, which postgres.js 3 and 4 read differently (3 gives such a host the ' +
        "first host's port, 4 the default port); give every host its port",
    );
  }
  const query = rest.includes('?') ? new URLSearchParams(rest.slice(rest.indexOf('?') + 1)) : new URLSearchParams();
  if (query.has('host') || query.has('port')) {
    throw invalid(
      'it sets host or port in its query string, which postgres.js 4 connects to and postgres.js 3 ignores; give them before the ' +
        'path, or in the pool options host and port',
    );
  }
  const path = rest.includes('?') ? rest.slice(0, rest.indexOf('?')) : rest;
  if (path.includes('%')) throw invalid('its database name has a percent-escape, which postgres.js 4 decodes and postgres.js 3 does not; write the name as it is');
  try {
    // What postgres.js 3 hands to the URL parser: the first host only.
    new URL(`${url.slice(0, start)}${at < 0 ? '' : `${userinfo}@`}${hostList.split(',')[0]}${rest}`);
  } catch (error) {
    const cause = redactError(error, secrets);
    throw invalid(cause.message, cause);
  }
  return { user, rawPassword, password, hosts };
}

/** What postgres.js makes of a URL and options; building a pool opens nothing until a query runs. */
interface DriverReading {
  host: string[];
  port: number[];
  path: string | false;
  database: string;
  user: string;
  pass: unknown;
}

function readByDriver(postgres: PostgresFactory, url: string, options: DriverOptions = {}): DriverReading {
  return postgres(url, options).options as unknown as DriverReading;
}

/**
 * Refuses a URL whose user, password or hosts the loaded postgres.js reads differently from a
 * URL parser. postgres.js 3 splits the authority at the first `@`, reads commas after it as a
 * host list and decodes that list, so a password holding `@` and `,` would become host names,
 * looked up in DNS and sent the password. The check compares the two readings rather than
 * looking for characters, so it holds for whichever line is loaded (readUrl refuses the other
 * line's misreadings by rule).
 */
function refuseMisreading(postgres: PostgresFactory, url: string, parts: UrlParts, secrets: Secrets, invalid: Invalid): void {
  let driver: DriverReading;
  try {
    driver = readByDriver(postgres, url);
  } catch (error) {
    const cause = redactError(error, secrets);
    throw invalid('postgres.js fails to read it; percent-encode %, @, :, /, ?, # and , in the user name and password', cause);
  }
  const same =
    (parts.user === '' || driver.user === parts.user) &&
    (parts.password === '' || driver.pass === parts.password) &&
    (parts.hosts.length === 0 ||
      (driver.host.length === parts.hosts.length &&
        parts.hosts.every((h, i) => driver.host[i] === h.name && (h.port === undefined || driver.port[i] === h.port))));
  if (!same) throw invalid(MISREAD);
}

export async function resolveConnection(url: string | undefined, poolOptions: PoolOptions, poolSource: string): Promise<Connection> {
  if (url === undefined || url === '') {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_NO_URL',
      `no database URL: pass connectionString (or your app's own connection as db or client), or set asyncmqPostgresBackendUrl in settings or ${ENV_VARS.asyncmqPostgresBackendUrl} in the environment`,
      { setting: 'asyncmqPostgresBackendUrl' },
    );
  }
  const given = [poolOptions.password, poolOptions.pass].filter((p): p is string => typeof p === 'string');
  const early: Secrets = { url, passwords: [...passwordsWritten(url), ...given] };
  // No message repeats the URL: where it is malformed, no parser can say which part is the password.
  const invalid: Invalid = (why, cause) =>
    new AsyncmqPostgresError('ASYNCMQ_INVALID_URL', `the database URL is not a valid Postgres URL: ${why} (the URL is not shown: it may hold a password)`, {
      setting: 'asyncmqPostgresBackendUrl',
      ...(cause ? { cause } : {}),
    });
  const parts = readUrl(url, early, invalid);
  const postgres = await loadPostgres();
  refuseMisreading(postgres, url, parts, early, invalid);
  const options = normalizePoolOptions(poolOptions, poolSource);
  const connectionParams = (options.connection ?? {}) as Record<string, unknown>;
  const final: DriverOptions = {
    connect_timeout: DEFAULT_CONNECT_TIMEOUT,
    // One catalog query is the whole of a no-op install; fetching array types would double it.
    fetch_types: false,
    ...options,
    // IF NOT EXISTS and friends print NOTICEs, which postgres.js would log to the console.
    onnotice: typeof options.onnotice === 'function' ? (options.onnotice as () => void) : () => {},
    connection: { application_name: 'asyncmq-postgres', ...connectionParams },
  };
  let used: DriverReading;
  try {
    used = readByDriver(postgres, url, { ...final, max: 1 });
  } catch (error) {
    // A URL query parameter postgres.js refuses (target_session_attrs, say).
    const cause = redactError(error, early);
    throw invalid(cause.message, cause);
  }
  const target = used.path
    ? `${used.path} (database ${used.database})`
    : `${used.host.map((h, i) => `${h}:${used.port[i]}`).join(',')}/${used.database}`;
  const passwords = [parts.rawPassword, parts.password, ...given];
  try {
    passwords.push(new URL(url).password); // the normalized form, as a URL's href would quote it
  } catch {
    // a host list: the forms above are the ones that can be quoted
  }
  return {
    url,
    options: final,
    target,
    user: used.user,
    secrets: { url, passwords, named: [used.user, used.database, ...used.host, ...used.port.map(String)] },
  };
}

/**
 * The password as written in a URL that may be malformed (the case to guard): everything
 * between the user name and the last `@`, so that an unescaped `@` in it does not leave its
 * tail showing, plus `password=` values of a query string or keyword/value string.
 */
function passwordsWritten(url: string): string[] {
  const rest = url.slice(url.indexOf('://') + 3);
  const userinfo = rest.slice(0, Math.max(0, rest.lastIndexOf('@')));
  const raw = userinfo.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : '';
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // keep the raw form only
  }
  const keyed = [...url.matchAll(/password=('(?:[^'\\]|\\.)*'|[^\s&]+)/gi)].map((m) => m[1]!);
  return [raw, decoded, ...keyed];
}

const PG_CODES: Record<string, AsyncmqErrorCode> = {
  '28P01': 'ASYNCMQ_AUTHENTICATION_FAILED',
  '28000': 'ASYNCMQ_AUTHENTICATION_FAILED',
  '42501': 'ASYNCMQ_PERMISSION_DENIED',
  '55P03': 'ASYNCMQ_LOCK_TIMEOUT',
  '2BP01': 'ASYNCMQ_DEPENDENT_OBJECTS',
  '3D000': 'ASYNCMQ_CONNECTION_FAILED',
  // A write refused mid-call: the server was demoted in a failover, or the session turned read-only.
  '25006': 'ASYNCMQ_READ_ONLY',
};

const NETWORK_CODES = new Set(['CONNECT_TIMEOUT', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'ENOENT']);

/**
 * Turns whatever the driver threw into one `AsyncmqPostgresError` that says what was being
 * done (`step`), where, as whom, and why it failed, with the server's own detail (which names
 * the view that blocks a drop, say) and the original (password removed) as `cause`.
 */
export function translateError(error: unknown, connection: Endpoint, step: string, lockTimeoutMs?: number): AsyncmqPostgresError {
  if (error instanceof AsyncmqPostgresError) return error;
  const cause = redactError(error, connection.secrets);
  const code = (error as { code?: string } | null)?.code ?? '';
  const where = `${connection.target} as user ${connection.user}`;
  if (NETWORK_CODES.has(code)) {
    return new AsyncmqPostgresError('ASYNCMQ_CONNECTION_FAILED', `could not connect to ${where} (${code}: ${cause.message})`, { cause });
  }
  const mapped = PG_CODES[code] ?? 'ASYNCMQ_DATABASE_ERROR';
  const server = error as { detail?: unknown; hint?: unknown };
  const said = (value: unknown) => (typeof value === 'string' && value !== '' ? printable(redact(value, connection.secrets)) : undefined);
  // The server's words may quote a name from the database: one line, whatever the name holds.
  const detail = [
    printable(cause.message),
    said(server.detail),
    // Postgres's hint for 2BP01 is to add CASCADE, which would drop the app's own objects too.
    mapped === 'ASYNCMQ_DEPENDENT_OBJECTS' ? 'drop or change those objects first (asyncmq-postgres never drops with CASCADE)' : said(server.hint),
  ]
    .filter(Boolean)
    .join('; ');
  const why =
    mapped === 'ASYNCMQ_LOCK_TIMEOUT'
      ? `timed out after ${lockTimeoutMs} ms (postgresLockTimeout) ${step}: ${detail}`
      : mapped === 'ASYNCMQ_PERMISSION_DENIED'
        ? `the role ${connection.user} lacks a privilege needed for ${step}: ${detail}`
        : mapped === 'ASYNCMQ_AUTHENTICATION_FAILED'
          ? `authentication to ${where} failed: ${detail}`
          : mapped === 'ASYNCMQ_READ_ONLY'
            ? `${where} took no writes while ${step} (${detail}): it may have become a standby in a failover; point at the primary`
          : `${step} failed on ${where}: ${detail}${code ? ` (SQLSTATE ${code})` : ''}`;
  return new AsyncmqPostgresError(mapped, why, { cause });
}
