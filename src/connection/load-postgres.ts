/**
 * postgres.js, imported on first use: it is an optional peer dependency, needed for a URL and
 * the CLI only, so nothing imports it at load, and no declaration the package exports names it.
 */
import type postgres from 'postgres';
import { AsyncmqPostgresError } from '../errors.js';

/** postgres.js's `postgres()`. */
export type PostgresFactory = typeof postgres;

let loading: Promise<PostgresFactory> | undefined;

/**
 * postgres.js, imported on first use. Missing, it is a configuration error that says what to
 * install: postgres.js is an optional peer dependency, needed only for a URL and the CLI.
 */
export function loadPostgres(): Promise<PostgresFactory> {
  loading ??= import('postgres').then(
    (module) => module.default,
    (error: unknown) => {
      loading = undefined;
      const code = (error as { code?: unknown } | null)?.code;
      const missing = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /'postgres'/.test(String((error as Error).message));
      if (!missing) throw error;
      throw new AsyncmqPostgresError(
        'ASYNCMQ_USAGE',
        'a database URL needs postgres.js, which is not installed: `npm install postgres` (3.4.9 or a later 3.x, or 4.x), ' +
          "or pass your app's own connection as db or client",
        { cause: error },
      );
    },
  );
  return loading;
}
