/**
 * What a role may do with the package's objects, against what AsyncMQ needs to run as it:
 * CONNECT on the database, USAGE on the namespace, SELECT, INSERT, UPDATE and DELETE on each
 * table, and USAGE on the sequences its INSERTs draw ids from. Read with has_*_privilege(),
 * which consult the catalog's ACLs and take no lock; written out as the GRANTs that fix it.
 */
import type { CatalogState } from './compare.js';
import { qualifiedName, quoteIdent, type TableShape } from '../schema/ddl.js';
import { readJson, type Queryable } from '../connection/drivers/index.js';
import { AsyncmqPostgresError } from '../errors.js';
import { EQ, op } from '../schema/sql-text.js';

export const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

export interface PrivilegeCheck {
  kind: 'database' | 'schema' | 'table' | 'sequence';
  /** The object's name; a table or sequence is in the report's namespace. */
  name: string;
  /** What AsyncMQ needs on it. */
  needs: string[];
  /** What of that the role lacks. */
  missing: string[];
}

export interface PrivilegeReport {
  /** The role checked: the one given, or the connecting role. */
  role: string;
  /** True when the role has everything AsyncMQ needs on every object that exists. */
  ok: boolean;
  /** The objects that exist, each with what AsyncMQ needs and what the role lacks. */
  objects: PrivilegeCheck[];
  /** The GRANTs that give the role what it lacks. */
  fixes: string[];
}

const MAX_ROLE_BYTES = 63;

/**
 * A role name as Postgres stores it (exactly; unquoted SQL would fold it to lower case). It is
 * passed as a query parameter, never pasted into SQL, so only what no role can be called is
 * refused: empty, over 63 bytes (Postgres would truncate it), control characters, and PUBLIC,
 * which stands for every role rather than the one AsyncMQ runs as.
 */
export function checkRoleName(role: unknown): string {
  const fail = (why: string): never => {
    throw new AsyncmqPostgresError('ASYNCMQ_INVALID_SETTING', why, { setting: 'role' });
  };
  if (typeof role !== 'string' || role === '') fail(`role must be a role name, got ${JSON.stringify(role)}`);
  const name = role as string;
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_ROLE_BYTES) fail(`role ${JSON.stringify(name)} is ${bytes} bytes long; Postgres role names have at most ${MAX_ROLE_BYTES}`);
  if (/[\u0000-\u001f\u007f]/.test(name)) fail(`role ${JSON.stringify(name)} holds a control character`);
  if (name === 'public') fail(`role ${JSON.stringify(name)} stands for every role, not the one AsyncMQ connects as; name that role`);
  return name;
}

// One statement, one JSON document cast to text (see catalog.ts). It is null for a role that
// does not exist: the has_*_privilege() functions would raise on it, and they run only for the
// rows the WHERE keeps. USAGE or UPDATE on a sequence both allow nextval().
const has = (what: string, object: string, privilege: string) => `pg_catalog.has_${what}_privilege(r.name, ${object}, '${privilege}')`;
const tableNames = 'pg_catalog.string_to_array($3::pg_catalog.text, \',\'::pg_catalog.text)';
const PRIVILEGES_SQL = `
with r as (select coalesce($1::pg_catalog.text, current_user::pg_catalog.text)::pg_catalog.name as name),
ns as (select oid from pg_catalog.pg_namespace where nspname ${EQ} $2::pg_catalog.text),
t as (select c.oid, c.relname from pg_catalog.pg_class c join ns on c.relnamespace ${EQ} ns.oid
      where c.relname ${EQ} any (${tableNames})),
p as (select pg_catalog.json_build_object('role', r.name, 'database', pg_catalog.current_database(),
  'connect', ${has('database', 'pg_catalog.current_database()::pg_catalog.text', 'CONNECT')},
  'usage', (select ${has('schema', 'ns.oid', 'USAGE')} from ns),
  'tables', coalesce((select pg_catalog.json_agg(pg_catalog.json_build_object('name', t.relname,
      'SELECT', ${has('table', 't.oid', 'SELECT')},
      'INSERT', ${has('table', 't.oid', 'INSERT')},
      'UPDATE', ${has('table', 't.oid', 'UPDATE')},
      'DELETE', ${has('table', 't.oid', 'DELETE')})
    order by pg_catalog.array_position(${tableNames}, t.relname::pg_catalog.text)) from t), '[]'::pg_catalog.json),
  'sequences', coalesce((select pg_catalog.json_agg(pg_catalog.json_build_object('name', s.relname,
      'USAGE', ${has('sequence', 's.oid', 'USAGE')} or ${has('sequence', 's.oid', 'UPDATE')})
    order by s.relname)
    from t
    join pg_catalog.pg_depend d on d.refclassid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass and d.refobjid ${EQ} t.oid
      and d.refobjsubid ${op('>')} 0 and d.classid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass and d.deptype ${EQ} 'a'
    join pg_catalog.pg_class s on s.oid ${EQ} d.objid and s.relkind ${EQ} 'S'), '[]'::pg_catalog.json)) as doc
  from r
  where exists (select from pg_catalog.pg_roles where rolname ${EQ} r.name))
select coalesce((select doc from p), 'null'::pg_catalog.json)::pg_catalog.text`;

interface Row {
  role: string;
  database: string;
  connect: boolean;
  usage: boolean | null;
  tables: ({ name: string } & Record<(typeof TABLE_PRIVILEGES)[number], boolean>)[];
  sequences: { name: string; USAGE: boolean }[];
}

/**
 * The privileges of `role` (default: the connecting role) on the objects of these shapes that
 * exist in the namespace `state` resolved. The sequences are those owned by the tables'
 * columns (a serial's): AsyncMQ's INSERTs leave those columns to their `nextval()` default.
 */
export async function readPrivileges(sql: Queryable, shapes: readonly TableShape[], state: CatalogState, role?: string): Promise<PrivilegeReport> {
  const row = await readJson<Row | null>(sql, PRIVILEGES_SQL, [role ?? null, state.namespace, shapes.map((s) => s.name).join(',')]);
  if (!row) throw new AsyncmqPostgresError('ASYNCMQ_UNKNOWN_ROLE', `role ${JSON.stringify(role)} does not exist on this server (role names are exact: no case folding)`);

  const objects: PrivilegeCheck[] = [];
  const check = (kind: PrivilegeCheck['kind'], name: string, granted: Record<string, boolean>) =>
    objects.push({ kind, name, needs: Object.keys(granted), missing: Object.keys(granted).filter((p) => !granted[p]) });
  check('database', row.database, { CONNECT: row.connect });
  if (row.usage !== null) check('schema', state.namespace!, { USAGE: row.usage });
  for (const { name, ...granted } of row.tables) check('table', name, granted);
  for (const { name, ...granted } of row.sequences) check('sequence', name, granted);

  const to = quoteIdent(row.role);
  const at = (name: string) => qualifiedName(state.namespace ?? undefined, name);
  const fixes = objects
    .filter((o) => o.missing.length > 0)
    .map((o) => {
      const on = { database: `DATABASE ${quoteIdent(o.name)}`, schema: `SCHEMA ${quoteIdent(o.name)}`, table: `TABLE ${at(o.name)}`, sequence: `SEQUENCE ${at(o.name)}` }[o.kind];
      return `GRANT ${o.missing.join(', ')} ON ${on} TO ${to}`;
    });
  return { role: row.role, ok: fixes.length === 0, objects, fixes };
}
