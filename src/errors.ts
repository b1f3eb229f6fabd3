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
  ASYNCMQ_CONNECTION_FAILED: 'database',
  ASYNCMQ_AUTHENTICATION_FAILED: 'database',
  ASYNCMQ_PERMISSION_DENIED: 'database',
  ASYNCMQ_LOCK_TIMEOUT: 'database',
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
 * A copy of `error` that is safe to keep as a `cause`: every string property with each
 * secret replaced, and no property that may hold the raw input (Node's URL errors keep the
 * whole connection string, password included, in `.input`).
 */
/** `text` with every secret replaced by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => (secret ? out.split(secret).join('***') : out), text);
}

export function redactError(error: unknown, secrets: readonly string[]): Error {
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
