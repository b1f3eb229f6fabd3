/** The call's link for what it was given: a URL, a Drizzle database or a driver client. */
import { AsyncmqPostgresError } from '../../errors.js';
import { clientLink, describeValue } from './clients.js';
import { drizzleLink } from './drizzle.js';
import { urlLink } from './postgres-js.js';
import type { Clock } from '../deadline.js';
import type { DatabaseSource, Link } from './types.js';

/** Opens nothing the call does not use: each link connects at its first statement. */
export async function openLink(source: DatabaseSource, clock: Clock): Promise<Link> {
  switch (source.kind) {
    case 'url':
      return urlLink(source.connection, clock);
    case 'db':
      return drizzleLink(source.value, clock);
    case 'client': {
      const link = clientLink(source.value, clock);
      if (link) return link;
      throw new AsyncmqPostgresError(
        'ASYNCMQ_USAGE',
        `client must be a postgres.js client, a node-postgres Pool or Client, or a PGlite database, got ${describeValue(source.value)}` +
          '; pass a Drizzle database as db',
      );
    }
  }
}
