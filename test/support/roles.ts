/** Login roles made for one test file and dropped at its end (roles are server-wide). */
import { randomBytes } from 'node:crypto';
import { adminSql, atEnd, uniqueName, urlFor } from './db.js';

export interface Role {
  name: string;
  password: string;
  /** A URL for this role on the given database. */
  url(database: string): string;
}

export async function createRole(): Promise<Role> {
  const name = uniqueName('amq_role');
  const password = randomBytes(9).toString('hex');
  await adminSql().unsafe(`create role ${name} login password '${password}'`);
  // After the test databases are dropped, which takes the role's grants in them along.
  atEnd(() => adminSql().unsafe(`drop role if exists ${name}`).then(() => {}));
  return { name, password, url: (database) => urlFor(database, { user: name, password }) };
}
