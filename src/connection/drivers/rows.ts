/** Reading the package's own queries, which return text (see types.ts). */
import type { Param, Queryable } from './types.js';

/** The text value of a one-row, one-column result, parsed as JSON. */
export async function readJson<T>(sql: Queryable, text: string, params?: readonly Param[]): Promise<T> {
  const rows = await sql.unsafe(text, params);
  const value = rows[0]?.[0];
  if (typeof value !== 'string') throw new Error(`asyncmq-postgres: expected one row of text, got ${rows.length} row(s) (${typeof value})`);
  return JSON.parse(value) as T;
}

/** The first column of every row, as text. */
export async function readTexts(sql: Queryable, text: string, params?: readonly Param[]): Promise<string[]> {
  return (await sql.unsafe(text, params)).map((row) => String(row[0]));
}
