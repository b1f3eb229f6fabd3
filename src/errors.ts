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
  ASYNCMQ_READ_ONLY: 'database',
  ASYNCMQ_DATABASE_ERROR: 'database',
} as const;

export type AsyncmqErrorCode = keyof typeof ERROR_CODES;

/**
 * The mark every AsyncmqPostgresError carries, in the runtime-wide symbol registry: two installed
 * copies of this package (a monorepo, a dependency that bundles its own) each have their own
 * class, so `instanceof` of one fails on the other's errors, but both read the same symbol.
 */
const BRAND: unique symbol = /* @__PURE__ */ Symbol.for('asyncmq-postgres.AsyncmqPostgresError') as never;

export class AsyncmqPostgresError extends Error {
  override readonly name = 'AsyncmqPostgresError';
  readonly code: AsyncmqErrorCode;
  /** The setting at fault, for configuration errors (e.g. `postgresJobsTableName`). */
  declare readonly setting?: string;

  constructor(code: AsyncmqErrorCode, message: string, options: { cause?: unknown; setting?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.setting !== undefined) this.setting = options.setting;
    // Not enumerable: the brand never shows in the error's printed form, its JSON, or a deep
    // comparison. Set here rather than on the prototype, so that the module has no top-level
    // statement a bundler must keep.
    Object.defineProperty(this, BRAND, { value: true });
  }

  get kind(): 'config' | 'database' {
    return ERROR_CODES[this.code];
  }

  /** `error instanceof AsyncmqPostgresError` holds for any copy's errors, as the brand says. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isAsyncmqPostgresError(value);
  }
}

/** True for an error of this package, whichever installed copy of it made the error. */
export function isAsyncmqPostgresError(error: unknown): error is AsyncmqPostgresError {
  return typeof error === 'object' && error !== null && (error as { [BRAND]?: unknown })[BRAND] === true;
}

/**
 * Text from the database (names, definitions, messages that embed them) made safe to print on a
 * terminal, one line: control characters (a newline, ESC and the escape sequences it starts,
 * C1 codes such as CSI) and the invisible marks that reorder or split lines (bidirectional
 * overrides, line and paragraph separators) are written as escapes (`\n`, `\x1b`, `\u202e`).
 * A column named "x\n\x1b[32mOK" then shows as that text, and cannot forge a line of output.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = c.charCodeAt(0);
    return named[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
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
