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
import {
  dropPostgresBackend,
  installPostgresBackend,
  upgradePostgresBackend,
  verifyPostgresBackend,
  type DropOptions,
  type InspectOptions,
  type InstallOptions,
  type InstallOrDropOptions,
  type UpgradeOptions,
  type VerifyOptions,
} from '../src/index.js';

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

// The seed's entry point admits no destructive mix: drop goes with nothing that creates or builds,
// verifyOnly with nothing that changes the database (schema-entry.test.ts and verbs.test.ts check
// the same refusals at run time).
declare const dropping: boolean;
export const modes: InstallOrDropOptions[] = [
  { connectionString: url, drop: true },
  { connectionString: url, drop: dropping },
  { connectionString: url, drop: false, upgrade: true, concurrentIndexes: true },
  { connectionString: url, upgrade: true },
  { connectionString: url, verifyOnly: true },
  // @ts-expect-error: drop with upgrade would drop
  { connectionString: url, drop: true, upgrade: true },
  // @ts-expect-error: drop with concurrentIndexes
  { connectionString: url, drop: true, concurrentIndexes: true },
  // @ts-expect-error: a drop that may happen, with an upgrade
  { connectionString: url, drop: dropping, upgrade: true },
  // @ts-expect-error: verifyOnly changes nothing
  { connectionString: url, verifyOnly: true, drop: true },
  // @ts-expect-error: verifyOnly changes nothing
  { connectionString: url, verifyOnly: true, concurrentIndexes: true },
];

// One verb per mode, each with its own options only.
export const verbs = [
  installPostgresBackend({ connectionString: url, concurrentIndexes: true }),
  upgradePostgresBackend({ connectionString: url, concurrentIndexes: true, settings: { postgresSchemaVersion: '0.9' } }),
  verifyPostgresBackend({ db: postgresJs({ client: postgres(url) }) }),
  dropPostgresBackend({ connectionString: url }),
  // @ts-expect-error: drop is dropPostgresBackend's
  installPostgresBackend({ connectionString: url, drop: true }),
  // @ts-expect-error: upgrade is upgradePostgresBackend's
  installPostgresBackend({ connectionString: url, upgrade: true }),
  // @ts-expect-error: nothing is built by a drop
  dropPostgresBackend({ connectionString: url, concurrentIndexes: true }),
  // @ts-expect-error: verify changes nothing
  verifyPostgresBackend({ connectionString: url, concurrentIndexes: true }),
];
export const verbOptions: [InstallOptions, UpgradeOptions, VerifyOptions, DropOptions] = [{}, {}, {}, {}];
