/** Which driver a raw client belongs to, told from its shape (the package imports no driver). */
import { isPglite, pgliteLink } from './pglite.js';
import { isPgClient, isPgPool, pgClientLink, pgPoolLink } from './node-postgres.js';
import { isPostgresJs, postgresJsLink } from './postgres-js.js';
import type { Clock } from '../deadline.js';
import type { Link } from './types.js';

/** Which driver a value is, if any. */
export function isClient(value: unknown): boolean {
  return isPostgresJs(value) || isPglite(value) || isPgPool(value) || isPgClient(value);
}

/** The call's link for a postgres.js, node-postgres or PGlite client; undefined for anything else. */
export function clientLink(value: unknown, clock: Clock): Link | undefined {
  if (isPostgresJs(value)) return postgresJsLink(value, clock);
  if (isPglite(value)) return pgliteLink(value as Parameters<typeof pgliteLink>[0], clock);
  if (isPgPool(value)) return pgPoolLink(value as Parameters<typeof pgPoolLink>[0], clock);
  if (isPgClient(value)) return pgClientLink(value as Parameters<typeof pgClientLink>[0], clock);
  return undefined;
}

/** A few words on what a value is, for a refusal. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object' && typeof value !== 'function') return `a ${typeof value}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' && name !== 'Function' ? `a ${name}` : `an ${typeof value}`;
}
