/**
 * Checked by `npm run typecheck`, never run: the options are a closed type. Each
 * `@ts-expect-error` fails the typecheck the day its line compiles; drivers.test.ts checks the
 * same refusals at run time.
 */
import { PGlite } from '@electric-sql/pglite';
import { drizzle as nodePostgres } from 'drizzle-orm/node-postgres';
import { drizzle as pglite } from 'drizzle-orm/pglite';
import { drizzle as postgresJs } from 'drizzle-orm/postgres-js';
import pg from 'pg';
import postgres from 'postgres';
import type { InspectOptions, InstallOrDropOptions } from '../src/index.js';

const url = 'postgres://app@db.example.com/app';

export const accepted: InstallOrDropOptions[] = [
  { connectionString: url, pool: { max: 1, connect_timeout: 5, connection: { search_path: 'queue' } } },
  // AsyncMQ's asyncpg names.
  { connectionString: url, pool: { min_size: 1, max_size: 5, timeout: 3 } },
  { db: postgresJs({ client: postgres(url) }) },
  { db: nodePostgres({ client: new pg.Pool() }) },
  { db: nodePostgres({ client: new pg.Client() }) },
  { db: pglite({ client: new PGlite() }) },
  { client: postgres(url) },
  { client: new pg.Pool() },
  { client: new pg.Client() },
  { client: new PGlite() },
];

export const refused: InstallOrDropOptions[] = [
  // @ts-expect-error: a pool option goes under pool
  { connectionString: url, max: 1 },
  // @ts-expect-error: misspelt
  { conectionString: url },
  // @ts-expect-error: another API's key
  { connectionString: url, schemaName: 'queue' },
  // @ts-expect-error: no such pool option
  { connectionString: url, pool: { max_sise: 5 } },
  // @ts-expect-error: transform shapes the app's rows, and the package's connection returns none
  { connectionString: url, pool: { transform: postgres.camel } },
  // @ts-expect-error: status's option, not install's
  { connectionString: url, role: 'app' },
  // @ts-expect-error: not a database
  { db: url },
];

export const inspect: InspectOptions[] = [
  { db: nodePostgres({ client: new pg.Pool() }), role: 'app' },
  // @ts-expect-error: install's option, not status's
  { connectionString: url, drop: true },
];
