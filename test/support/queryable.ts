/** A postgres.js client as the package's Queryable: rows as arrays, for reading the catalog directly in tests. */
import type { Sql, TransactionSql } from 'postgres';
import type { Queryable } from '../../src/connection/drivers/index.js';

export function queryable(sql: Sql | TransactionSql): Queryable {
  return { unsafe: async (text, params) => sql.unsafe(text, (params ?? []) as never[]).values() };
}
