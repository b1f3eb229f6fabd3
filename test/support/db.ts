/**
 * Per-test databases on the run's server: each test gets a database of its own, created empty
 * and dropped at the end, so tests never see each other's tables.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres, { type Sql } from 'postgres';
import { after } from 'node:test';

export const serverUrl = (() => {
  const url = process.env.ASYNCMQ_TEST_DATABASE_URL;
  if (!url) throw new Error('run the tests with `npm test`, which provides ASYNCMQ_TEST_DATABASE_URL');
  return url;
})();

/**
 * The major version of the postgres.js installed (the main lanes run 3, the CI's postgres.js 4
 * lane 4), for the few tests whose expectations follow what each line does by itself.
 */
export const postgresJsMajor = Number(
  (JSON.parse(readFileSync(new URL('../../node_modules/postgres/package.json', import.meta.url), 'utf8')) as { version: string }).version.split('.')[0],
);

const quiet = { onnotice: () => {} } as const;
let admin: Sql | undefined;
const cleanups: (() => Promise<void>)[] = [];

export function adminSql(): Sql {
  admin ??= postgres(serverUrl, { ...quiet, max: 2 });
  return admin;
}

export function urlFor(database: string, credentials?: { user: string; password: string }): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  if (credentials) {
    url.username = credentials.user;
    url.password = credentials.password;
  }
  return url.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  /** A client on the test database, closed at the end of the file. */
  sql: Sql;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/**
 * A new empty database, dropped (with its connections) when the test file ends. `encoding`: one
 * other than the server's default (LATIN1, say), with the C locale, which goes with any.
 */
export async function createDatabase(options: { encoding?: string } = {}): Promise<TestDatabase> {
  const name = uniqueName('amq_test');
  const encoding = options.encoding ? ` encoding '${options.encoding}' lc_collate 'C' lc_ctype 'C' template template0` : '';
  await adminSql().unsafe(`create database ${name}${encoding}`);
  const url = urlFor(name);
  const sql = postgres(url, { ...quiet, max: 4 });
  cleanups.push(async () => {
    await sql.end({ timeout: 5 });
    await adminSql().unsafe(`drop database if exists ${name} with (force)`);
  });
  return { name, url, sql };
}

/** Registers work for the end of the file, after the databases are gone (roles, say). */
export function atEnd(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

after(async () => {
  const errors: unknown[] = [];
  for (const cleanup of cleanups.splice(0)) await cleanup().catch((e: unknown) => errors.push(e));
  await admin?.end({ timeout: 5 });
  if (errors.length) throw errors[0];
});
