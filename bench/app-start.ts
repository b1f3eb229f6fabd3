/**
 * What the startup check adds to an application's start, which opens its own pool anyway:
 * the check on the app's connection (the catalog read and nothing else, since the tables are
 * in place), against this package's install on a connection of its own, and AsyncMQ's own
 * approach (the seed's SQL in a transaction, same driver options) on a connection of its own.
 * Each variant starts an app (a postgres.js pool and its first query), runs its check, and
 * stops; interleaved.
 */
import postgres from 'postgres';
import { install } from '../src/operations/install.js';
import { resolveBackend } from '../src/schema/backend.js';
import { counter, step } from './progress.js';
import { oursInstall, seedInstall } from './startup.js';
import { interleave, summarize, type Summary } from './stats.js';
import { postgresJsLink } from '../src/connection/drivers/postgres-js.js';
import { Clock } from '../src/connection/deadline.js';

export interface AppStartResults {
  /** The app alone: its pool's first connection and first query. */
  app: Summary;
  /** The app, with the check on the app's own connection. */
  oursOnAppConnection: Summary;
  /** The app, with this package's install on a connection of its own. */
  oursOwnConnection: Summary;
  /** The app, with AsyncMQ's approach on a connection of its own. */
  seedOwnConnection: Summary;
}

export async function benchAppStart(url: string, runs: number): Promise<AppStartResults> {
  step(`an app's start with each startup check, ${runs} runs each, interleaved`);
  await oursInstall(url);
  const app = async (check?: (sql: postgres.Sql) => Promise<unknown>) => {
    const sql = postgres(url, { onnotice: () => {}, max: 4 });
    try {
      await sql`select 1`;
      await check?.(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
  const samples = await interleave(
    runs,
    {
      app: () => app(),
      oursOnAppConnection: () =>
        app((sql) => {
          const clock = new Clock(10_000);
          return install(postgresJsLink(sql, clock), resolveBackend({ env: {} }), clock.run, { concurrentIndexes: false, upgrade: false });
        }),
      oursOwnConnection: () => app(() => oursInstall(url)),
      seedOwnConnection: () => app(() => seedInstall(url)),
    },
    counter('app start', runs),
  );
  return {
    app: summarize(samples.app),
    oursOnAppConnection: summarize(samples.oursOnAppConnection),
    oursOwnConnection: summarize(samples.oursOwnConnection),
    seedOwnConnection: summarize(samples.seedOwnConnection),
  };
}
