/**
 * The key words AsyncMQ's SQL cannot take as a table or schema name, since it writes names
 * unquoted. Data, generated from Postgres itself:
 *
 *   SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T') ORDER BY word
 *
 * on Postgres 15.20 and 18.4, merged (18 adds system_user to R). Every word of the four
 * categories was tried unquoted in AsyncMQ's own statements (CREATE TABLE, CREATE INDEX ... ON
 * x(col), INSERT ... ON CONFLICT ... DO UPDATE, SELECT ... FROM x WHERE, UPDATE x SET ... WHERE
 * id = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING, DELETE FROM x WHERE, DROP TABLE) as the
 * table name `x`, as the schema `s` of `s.x`, and as `x` in `s.x`. Every R (reserved) and T
 * (type or function name) word is a syntax error as a table name and as a schema name (only
 * after a qualifier is any word a name); no C (column name) or U (unreserved) word fails anywhere.
 * test/names.test.ts repeats this against the server the tests run on, so a Postgres that adds
 * a key word fails the suite until it is added here.
 */

/** `catcode = 'R'`: reserved. */
export const RESERVED_KEYWORDS: readonly string[] = /* @__PURE__ */ (
  'all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create ' +
  'current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc ' +
  'distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral ' +
  'leading limit localtime localtimestamp not null offset on only or order placing primary references returning ' +
  'select session_user some symmetric system_user table then to trailing true union unique user using variadic when ' +
  'where window with'
).split(' ');

/** `catcode = 'T'`: allowed as a function or type name, not as a table or schema name. */
export const TYPE_FUNCTION_KEYWORDS: readonly string[] = /* @__PURE__ */ (
  'authorization binary collation concurrently cross current_schema freeze full ilike inner is isnull join left ' +
  'like natural notnull outer overlaps right similar tablesample verbose'
).split(' ');
