/** Which driver a raw client belongs to, told from its shape (the package imports no driver). */
import { isPglite, pgliteLink } from './pglite.js';
import { isPgClient, isPgPool, pgClientLink, pgPoolLink } from './node-postgres.js';
import { isPostgresJs, postgresJsLink } from './postgres-js.js';
import type { Link } from './types.js';

/** The call's link for a postgres.js, node-postgres or PGlite client; undefined for anything else. */
export function clientLink(value: unknown): Link | undefined {
  if (isPostgresJs(value)) return postgresJsLink(value);
  if (isPglite(value)) return pgliteLink(value as Parameters<typeof pgliteLink>[0]);
  if (isPgPool(value)) return pgPoolLink(value as Parameters<typeof pgPoolLink>[0]);
  if (isPgClient(value)) return pgClientLink(value as Parameters<typeof pgClientLink>[0]);
  return undefined;
}

/** A few words on what a value is, for a refusal. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object' && typeof value !== 'function') return `a ${typeof value}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' && name !== 'Function' ? `a ${name}` : `an ${typeof value}`;
}
