/**
 * The options every call takes, checked, and what the call connects with: the app's own
 * connection (`db` or `client`), or a URL and its pool options.
 */
import { AsyncmqPostgresError } from '../errors.js';
import { isPoolOptionName, resolveConnection, type Connection } from '../connection/target.js';
import type { DatabaseSource, DrizzlePostgresDatabase, PostgresClient } from '../connection/drivers/index.js';
import { ENV_VARS, type AsyncmqSettings, type PoolOptions } from '../config/settings.js';
import type { TableSelection } from '../schema/backend.js';

export interface BackendOptions extends TableSelection {
  /** Postgres URL; overrides `settings.asyncmqPostgresBackendUrl` and `ASYNCMQ_POSTGRES_BACKEND_URL`. */
  connectionString?: string;
  /**
   * Options for the connection opened from the URL (postgres.js's, and AsyncMQ's asyncpg names),
   * like AsyncMQ's `**pool_options`. When given, they replace the settings' pool options (no merge).
   */
  pool?: PoolOptions;
  /**
   * The app's own Drizzle Postgres database (postgres-js, node-postgres, PGlite, or another
   * driver for reads only), used instead of a URL and never closed. Not with `connectionString`.
   */
  db?: DrizzlePostgresDatabase;
  /** The app's own postgres.js, node-postgres (Pool or Client) or PGlite client, as `db` is used. */
  client?: PostgresClient;
}


/** Every key of BackendOptions, for the run-time check (the type fails when one is missing). */
const BACKEND_KEYS: Record<keyof BackendOptions, true> = { connectionString: true, pool: true, db: true, client: true, schema: true, settings: true, env: true };

/**
 * Refuses a key no option has, a misspelt one or one from another API, which would otherwise be
 * ignored; `own` are the call's keys beyond BackendOptions'.
 */
export function refuseUnknownOptions(options: object, own: Record<string, true>): void {
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(BACKEND_KEYS, key) || Object.hasOwn(own, key)) continue;
    const known = [...Object.keys(BACKEND_KEYS), ...Object.keys(own)].join(', ');
    throw new AsyncmqPostgresError(
      'ASYNCMQ_USAGE',
      isPoolOptionName(key)
        ? `option ${JSON.stringify(key)} is a pool option: pass it under pool, as pool: { ${key}: ... }`
        : `option ${JSON.stringify(key)} is not known; the options are ${known}`,
      { setting: key },
    );
  }
}


/**
 * What the call connects with: the app's own connection (`db` or `client`), or else a URL and
 * its pool options. Refuses what cannot go together, before anything connects.
 */
export async function resolveDatabase(options: BackendOptions, settings: AsyncmqSettings): Promise<DatabaseSource> {
  const own = (['db', 'client'] as const).filter((key) => options[key] !== undefined);
  if (own.length === 0) return { kind: 'url', connection: await resolveBackendConnection(options, settings) };
  const key = own[0]!;
  const clash = [...own.slice(1), ...(['connectionString', 'pool'] as const).filter((k) => options[k] !== undefined)][0];
  if (clash) {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_USAGE',
      clash === 'pool'
        ? `pool options are for the connection asyncmq-postgres opens from a URL; with ${key}, the app's own connection is used as it is: configure it where the app makes it`
        : `${key} and ${clash} were both given; pass one: ${clash === 'connectionString' ? 'connectionString for a connection of asyncmq-postgres\'s own, or ' : ''}${key} for the app's own connection`,
      { setting: clash },
    );
  }
  return { kind: key, value: options[key] };
}

export async function resolveBackendConnection(options: BackendOptions, settings: AsyncmqSettings): Promise<Connection> {
  const fromCall = options.pool !== undefined;
  const pool = options.pool ?? settings.asyncmqPostgresPoolOptions ?? {};
  if (typeof pool !== 'object' || pool === null || Array.isArray(pool)) {
    throw new AsyncmqPostgresError('ASYNCMQ_INVALID_POOL_OPTIONS', `pool must be an object of pool options, such as { max: 5 }`, { setting: 'asyncmqPostgresPoolOptions' });
  }
  const source = fromCall
    ? 'the call'
    : options.settings?.asyncmqPostgresPoolOptions
      ? 'settings.asyncmqPostgresPoolOptions'
      : ENV_VARS.asyncmqPostgresPoolOptions;
  return resolveConnection(options.connectionString ?? settings.asyncmqPostgresBackendUrl, pool, source);
}
