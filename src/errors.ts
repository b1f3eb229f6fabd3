/**
 * One error type for everything this package refuses or fails at, with a stable `code`.
 *
 * Codes start with `ASYNCMQ_` so they never collide with Postgres SQLSTATE codes, which
 * callers may also be matching on. `kind` says whose fault it is: `config` errors are
 * raised before any connection is made; `database` errors come from the server or the
 * network. The CLI maps them to exit codes 2 and 3.
 */

export const ERROR_CODES = {
  ASYNCMQ_USAGE: 'config',
  ASYNCMQ_NO_URL: 'config',
  ASYNCMQ_INVALID_URL: 'config',
  ASYNCMQ_INVALID_NAME: 'config',
  ASYNCMQ_INVALID_POOL_OPTIONS: 'config',
  ASYNCMQ_INVALID_SETTING: 'config',
  ASYNCMQ_SESSION_REQUIRED: 'config',
  ASYNCMQ_CONNECTION_FAILED: 'database',
  ASYNCMQ_AUTHENTICATION_FAILED: 'database',
  ASYNCMQ_PERMISSION_DENIED: 'database',
  ASYNCMQ_LOCK_TIMEOUT: 'database',
  ASYNCMQ_DEADLINE_EXCEEDED: 'database',
  ASYNCMQ_SCHEMA_MISMATCH: 'database',
  ASYNCMQ_UPGRADE_REQUIRED: 'database',
  ASYNCMQ_SCHEMA_NEWER: 'database',
  ASYNCMQ_SCHEMA_MIXED: 'database',
  ASYNCMQ_SCHEMA_INCOMPLETE: 'database',
  ASYNCMQ_NAME_CONFLICT: 'database',
  ASYNCMQ_DEPENDENT_OBJECTS: 'database',
  ASYNCMQ_UNKNOWN_ROLE: 'database',
  ASYNCMQ_DATABASE_ERROR: 'database',
} as const;

export type AsyncmqErrorCode = keyof typeof ERROR_CODES;

export class AsyncmqPostgresError extends Error {
  override readonly name = 'AsyncmqPostgresError';
  readonly code: AsyncmqErrorCode;
  /** The setting at fault, for configuration errors (e.g. `postgresJobsTableName`). */
  declare readonly setting?: string;

  constructor(code: AsyncmqErrorCode, message: string, options: { cause?: unknown; setting?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.setting !== undefined) this.setting = options.setting;
  }

  get kind(): 'config' | 'database' {
    return ERROR_CODES[this.code];
  }
}

export function isAsyncmqPostgresError(error: unknown): error is AsyncmqPostgresError {
  return error instanceof AsyncmqPostgresError;
}

/**
 * Where a connection's secret can show up in text. Messages this package builds name only the
 * parts that cannot hold the password (host, port, database, user); redaction is the safety net
 * for text written by the driver or the server, so it looks where a password is written, not
 * for every occurrence of what may be a short string (a password `1` is also in `127.0.0.1`).
 */
export interface Secrets {
  /** The connection string as given: quoted whole, it shows the password. */
  url?: string;
  /** The password in each form it was given in: as written in the URL, decoded, normalized, from the pool options. */
  passwords: readonly string[];
  /**
   * What messages name on purpose (user, hosts, ports, database). A password equal to one of
   * them is not hunted in quotes: hiding the role would not hide the password.
   */
  named?: readonly string[];
}

// `password=...`, `pass: '...'`, `"password": "..."`: the value is a secret whatever it is.
const KEYED = /(\b(?:pass|password)"?\s*[=:]\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s&;,)}\]]+)/gi;
// The userinfo of any Postgres URL in the text: `postgres://user:...@`.
const URL_USERINFO = /(postgres(?:ql)?:\/\/[^\s:@/?#]*:)[^\s/?#]*@/gi;

/** `text` with every place a secret can show in replaced by `***`. */
export function redact(text: string, secrets: Secrets): string {
  let out = secrets.url ? text.split(secrets.url).join('<the database URL>') : text;
  out = out.replace(URL_USERINFO, '$1***@').replace(KEYED, '$1***');
  const named = new Set(secrets.named ?? []);
  for (const password of [...new Set(secrets.passwords)].filter(Boolean).sort((a, b) => b.length - a.length)) {
    out = out.split(`:${password}@`).join(':***@');
    if (named.has(password)) continue;
    for (const quote of ['"', "'"]) out = out.split(`${quote}${password}${quote}`).join(`${quote}***${quote}`);
  }
  return out;
}

/**
 * A copy of `error` that is safe to keep as a `cause`: every string property redacted, and no
 * property that may hold the raw input (Node's URL errors keep the whole connection string,
 * password included, in `.input`).
 */
export function redactError(error: unknown, secrets: Secrets): Error {
  const scrub = (text: string) => redact(text, secrets);
  if (!(error instanceof Error)) return new Error(scrub(String(error)));
  const copy = new Error(scrub(error.message));
  copy.name = error.name;
  copy.stack = scrub(error.stack ?? '');
  for (const [key, value] of Object.entries(error)) {
    if (key === 'input' || key === 'options' || key === 'parameters' || key === 'args') continue;
    if (typeof value === 'string') Object.assign(copy, { [key]: scrub(value) });
    else if (typeof value === 'number' || typeof value === 'boolean') Object.assign(copy, { [key]: value });
  }
  return copy;
}
