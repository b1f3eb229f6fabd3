/**
 * Reads what Postgres has for the package's tables and compares it with their Drizzle shapes.
 *
 * One query, against the system catalogs only: it takes no lock on the package's tables, so
 * reading a busy queue's tables never waits behind its writers. The comparison, with each
 * difference judged by src/drift.ts, is shared by install (which refuses a table only for what
 * breaks AsyncMQ) and by `status` (which reports everything, warnings included).
 */
import { constraintDefinition, indexDefinition, qualifiedName, quoteIdent, relationNames, type ConstraintShape, type IndexShape, type TableShape } from './ddl.js';
import {
  judgeColumn,
  judgeConflict,
  judgeDifferentIndex,
  judgeExtraColumn,
  judgeExtraConstraint,
  judgeExtraUniqueIndex,
  judgeImpliedUnique,
  judgeKey,
  judgeMissingColumn,
  judgeMissingIndex,
  judgeNotATable,
  judgeRenamedKey,
  type Impact,
  type Judgement,
} from './drift.js';
import { readJson, readTexts, type Queryable } from './drivers/index.js';

export interface CatalogColumn {
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  /** `pg_attribute.attidentity`: `a` (always), `d` (by default); empty or absent for a plain column. */
  identity?: string;
}

export interface CatalogTable {
  name: string;
  oid: number;
  /** `pg_class.relkind`: `r` a table, `p` a partitioned table, `v` a view, ... */
  kind: string;
  columns: CatalogColumn[];
  constraints: { name: string; definition: string }[];
  indexes: { name: string; definition: string; valid: boolean }[];
}

export interface CatalogRelation {
  name: string;
  /** `pg_class.relkind` */
  kind: string;
  /** The table an index is on, or that owns a sequence. */
  owner: string | null;
}

export interface CatalogState {
  /** The namespace the names resolve to: `postgresSchema`, or the session's `current_schema()`. */
  namespace: string | null;
  namespaceExists: boolean;
  tables: CatalogTable[];
  /**
   * Relations in the namespace that bear a name the tables would need: their indexes and
   * sequences. Read only on request (see `readCatalog`); empty otherwise.
   */
  relations: CatalogRelation[];
}

// Nothing here may lock the tables: pg_get_indexdef() and pg_get_expr(expr, table) take an
// ACCESS SHARE lock, which waits behind any ALTER TABLE or VACUUM FULL in progress. So index
// definitions are assembled from pg_index itself (an index counts as present when one with
// the same definition exists, whatever its name; expression, partial, ordered and INCLUDE
// indexes are marked so they never match a plain one), and defaults are deparsed without
// their table, which is fine because a column default cannot refer to columns. NOT NULL constraints (contype 'n', a row
// in pg_constraint from Postgres 18 on) are left out: nullability is compared per column.
// One JSON document, cast to text: what the driver does with json, bool or column names
// (drizzle-orm sets its own parsers on a postgres.js client, apps set `transform`) cannot change it.
const CATALOG_COLUMNS = `
with ns as (select coalesce($1::text, current_schema()) as name)
select json_build_object(
  'namespace', ns.name,
  'namespaceExists', exists (select 1 from pg_namespace where nspname = ns.name),
  'tables', coalesce((
    select json_agg(json_build_object(
      'name', c.relname,
      'oid', c.oid,
      'kind', c.relkind,
      'columns', (
        select coalesce(json_agg(json_build_object(
          'name', a.attname,
          'type', format_type(a.atttypid, a.atttypmod),
          'notNull', a.attnotnull,
          'default', pg_get_expr(d.adbin, 0),
          'identity', a.attidentity) order by a.attnum), '[]')
        from pg_attribute a
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
      'constraints', (
        select coalesce(json_agg(json_build_object(
          'name', k.conname,
          'definition', pg_get_constraintdef(k.oid)) order by k.conname), '[]')
        from pg_constraint k
        where k.conrelid = c.oid and k.contype <> 'n'),
      'indexes', (
        select coalesce(json_agg(json_build_object(
          'name', ic.relname,
          'definition', case when i.indisunique then 'UNIQUE ' else '' end || 'USING ' || am.amname || ' ('
            || array_to_string(array(
                 select coalesce(quote_ident(a.attname), '<expression>')
                 from unnest(i.indkey::int2[]) with ordinality as k(attnum, n)
                 left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                 where k.n <= i.indnkeyatts order by k.n), ', ') || ')'
            || case when i.indnatts > i.indnkeyatts then ' INCLUDE (...)' else '' end
            || case when 0 <> any(i.indoption::int2[]) then ' (ordered)' else '' end
            || case when i.indpred is not null then ' WHERE (...)' else '' end,
          'valid', i.indisvalid) order by ic.relname), '[]')
        from pg_index i
        join pg_class ic on ic.oid = i.indexrelid
        join pg_am am on am.oid = ic.relam
        where i.indrelid = c.oid)
    ) order by c.relname)
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ns.name and c.relname = any(string_to_array($2::text, ','))
  ), '[]')`;

/** The namespace (null: the session's current_schema()) and the tables' names, as query parameters. */
function params(shapes: readonly TableShape[]): [string | null, string] {
  // Names are validated identifiers, so a comma-separated list is safe.
  return [shapes[0]?.schema ?? null, shapes.map((s) => s.name).join(',')];
}

// Which relations hold the names the tables would need for their indexes and sequences.
const RELATIONS_COLUMN = `,
  'relations', coalesce((
    select json_agg(json_build_object('name', r.relname, 'kind', r.relkind, 'owner', coalesce(it.relname, st.relname)))
    from pg_class r
    join pg_namespace n on n.oid = r.relnamespace
    left join pg_index ri on ri.indexrelid = r.oid
    left join pg_class it on it.oid = ri.indrelid
    left join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = r.oid and d.refobjsubid > 0 and d.deptype in ('a', 'i')
    left join pg_class st on st.oid = d.refobjid
    where n.nspname = ns.name and r.relname = any(string_to_array($3::text, ','))
  ), '[]')`;

const CATALOG_SQL = `${CATALOG_COLUMNS})::text\nfrom ns`;
const CATALOG_WITH_RELATIONS_SQL = `${CATALOG_COLUMNS}${RELATIONS_COLUMN})::text\nfrom ns`;

/**
 * Reads the catalog for these shapes, in one statement (one snapshot). `relations` also reads
 * which objects hold the names the tables would need: worth its planning cost only when
 * something is to be created, so a no-op install, the common case at every start, skips it.
 */
export async function readCatalog(
  sql: Queryable,
  shapes: readonly TableShape[],
  options: { relations?: boolean; tables?: readonly string[] } = {},
): Promise<CatalogState> {
  // `tables`: more names to read than the shapes', such as every version's tables for the same names.
  const [namespace, names] = params(shapes);
  const tables = options.tables ? [...new Set([...names.split(','), ...options.tables])].join(',') : names;
  const state = options.relations
    ? await readJson<CatalogState>(sql, CATALOG_WITH_RELATIONS_SQL, [namespace, tables, shapes.flatMap((shape) => relationNames(shape).slice(1)).join(',')])
    : await readJson<Omit<CatalogState, 'relations'>>(sql, CATALOG_SQL, [namespace, tables]);
  return { relations: [], ...state };
}

/** Whether anything is missing or INVALID, so that the names it needs are worth checking. */
export function somethingToCreate(statuses: readonly TableStatus[]): boolean {
  return statuses.some((t) => t.items.some((i) => i.status === 'missing' || i.status === 'invalid'));
}

/**
 * `conflict`: missing, and its name is taken by another object in the namespace, so creating it
 * would fail (an index) or quietly pick another name (a serial column's sequence).
 */
export type ItemState = 'present' | 'missing' | 'different' | 'extra' | 'invalid' | 'conflict';

export interface ItemStatus {
  kind: 'column' | 'constraint' | 'index' | 'sequence';
  name: string;
  status: ItemState;
  /** What the schema wants, in the catalog's words; absent for `extra`. */
  expected?: string;
  /** What the database has; absent for `missing`. */
  actual?: string;
  /** For an index or constraint found under another name, or INVALID: that name. */
  foundName?: string;
  /**
   * For every item not `present`: `breaks` when AsyncMQ fails or misbehaves with it (install
   * refuses the table), `harmless` when AsyncMQ works with it (a missing index: more slowly).
   */
  impact?: Impact;
  /** For every item not `present`: why it matters or not, and what to do about it. */
  advice?: string;
}

export interface TableStatus {
  name: string;
  /**
   * `different`: something breaks AsyncMQ (see `impact`), so install refuses the table.
   * `present`: AsyncMQ can use it, though indexes may be missing and `warnings` may count
   * differences it works with.
   */
  status: 'present' | 'missing' | 'different';
  items: ItemStatus[];
  /** Differences AsyncMQ works with (`different` or `extra` items whose impact is `harmless`). */
  warnings: number;
}

/** Whether an item breaks AsyncMQ: what install refuses a table for. */
export const isBreaking = (item: ItemStatus): boolean => item.impact === 'breaks';

/** Whether an item is a difference AsyncMQ works with: what `status` warns about. */
export const isWarning = (item: ItemStatus): boolean => item.impact === 'harmless' && (item.status === 'different' || item.status === 'extra');

const columnText = (c: { type: string; notNull: boolean; default: string | null | undefined; identity?: string | null | undefined }) =>
  `${c.type}${c.notNull ? ' NOT NULL' : ''}${c.default ? ` DEFAULT ${c.default}` : ''}` +
  (c.identity === 'a' ? ' GENERATED ALWAYS AS IDENTITY' : c.identity === 'd' ? ' GENERATED BY DEFAULT AS IDENTITY' : '');

const RELKINDS: Record<string, string> = { r: 'table', p: 'table', i: 'index', I: 'index', S: 'sequence', v: 'view', m: 'materialized view', f: 'foreign table', c: 'type' };

/** A missing object whose name another relation holds. */
function missingOrConflict(state: CatalogState, kind: ItemStatus['kind'], name: string, expected: string, missing: Judgement, tableExists: boolean): ItemStatus {
  const holder = state.relations.find((r) => r.name === name);
  if (!holder) return { kind, name, status: 'missing', expected, ...missing };
  const what = `${RELKINDS[holder.kind] ?? `relation (relkind ${holder.kind})`} ${state.namespace}.${holder.name}`;
  return {
    kind,
    name,
    status: 'conflict',
    expected,
    actual: `the name is taken by the ${what}${holder.owner ? ` of table ${holder.owner}` : ''}`,
    foundName: holder.name,
    ...judgeConflict(tableExists),
  };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function serialDefault(namespace: string | null, sequence: string): RegExp {
  const qualifier = namespace === null ? '' : `(?:(?:${escapeRegExp(namespace)}|${escapeRegExp(quoteIdent(namespace))})\\.)?`;
  return new RegExp(`^nextval\\('${qualifier}${escapeRegExp(sequence)}'::regclass\\)$`);
}

function tableStatus(name: string, status: TableStatus['status'], items: ItemStatus[]): TableStatus {
  return { name, status, items, warnings: items.filter(isWarning).length };
}

/**
 * Compares one table's expected shape with what the catalog has, and judges each difference
 * (src/drift.ts): the table is `different` only when one of them breaks AsyncMQ.
 */
export function compareTable(shape: TableShape, state: CatalogState): TableStatus {
  const actual = state.tables.find((t) => t.name === shape.name);
  const items: ItemStatus[] = [];
  if (!actual) {
    // Install creates the whole table; what it could not create is a conflict.
    const create = (impact: Impact): Judgement => ({ impact, advice: 'the table is missing; install creates it with its keys and indexes' });
    shape.columns.forEach((c) => items.push({ kind: 'column', name: c.name, status: 'missing', expected: columnText(c), ...create('breaks') }));
    shape.constraints.forEach((c) => items.push(missingOrConflict(state, 'constraint', c.name, constraintDefinition(c), create('breaks'), false)));
    shape.indexes.forEach((i) => items.push(missingOrConflict(state, 'index', i.name, indexDefinition(i), create('harmless'), false)));
    shape.sequences.forEach((name) => {
      const item = missingOrConflict(state, 'sequence', name, `sequence ${name}`, create('breaks'), false);
      if (item.status === 'conflict') items.push(item);
    });
    return tableStatus(shape.name, 'missing', items);
  }
  const table = qualifiedName(state.namespace ?? undefined, shape.name);
  if (actual.kind !== 'r' && actual.kind !== 'p') {
    const what = { v: 'a view', m: 'a materialized view', f: 'a foreign table', S: 'a sequence', i: 'an index' }[actual.kind] ?? `relkind ${actual.kind}`;
    return tableStatus(shape.name, 'different', [{ kind: 'column', name: '*', status: 'different', expected: 'a table', actual: what, ...judgeNotATable(what) }]);
  }

  const columns = new Map(actual.columns.map((c) => [c.name, c]));
  for (const want of shape.columns) {
    const have = columns.get(want.name);
    columns.delete(want.name);
    const expected = columnText(want);
    if (!have) {
      items.push({ kind: 'column', name: want.name, status: 'missing', expected, ...judgeMissingColumn() });
      continue;
    }
    // A serial column's default names its sequence, qualified by its namespace or not
    // (depending on the search_path), and quoted where the name is a key word (`"time".`).
    const sequence = want.serial && serialDefault(state.namespace, `${shape.name}_${want.name}_seq`).test(have.default ?? '');
    const seen = sequence ? { ...have, default: want.default ?? null } : have;
    const actualText = columnText(seen);
    if (actualText === expected) items.push({ kind: 'column', name: want.name, status: 'present', expected, actual: actualText });
    else items.push({ kind: 'column', name: want.name, status: 'different', expected, actual: actualText, ...judgeColumn(table, want, seen) });
  }
  for (const extra of columns.values()) {
    items.push({ kind: 'column', name: extra.name, status: 'extra', actual: columnText(extra), ...judgeExtraColumn(table, extra.name, extra) });
  }

  const constraints = new Map(actual.constraints.map((c) => [c.name, c.definition]));
  const unmatched: { item: ItemStatus; want: ConstraintShape }[] = [];
  for (const want of shape.constraints) {
    const expected = constraintDefinition(want);
    const have = constraints.get(want.name);
    constraints.delete(want.name);
    if (have === undefined) unmatched.push({ item: { kind: 'constraint', name: want.name, status: 'missing', expected }, want });
    else if (have === expected) items.push({ kind: 'constraint', name: want.name, status: 'present', expected, actual: have });
    else items.push({ kind: 'constraint', name: want.name, status: 'different', expected, actual: have, ...judgeKey(table, want, have) });
  }
  for (const { item, want } of unmatched) {
    // Same definition under another name (Drizzle's default `_unique`/`_pk` names, say).
    const renamed = [...constraints].find(([, definition]) => definition === item.expected);
    if (renamed) {
      constraints.delete(renamed[0]);
      items.push({ ...item, status: 'different', actual: `${renamed[1]} named ${renamed[0]}`, foundName: renamed[0], ...judgeRenamedKey(table, want, renamed[0]) });
    } else items.push({ ...item, ...judgeKey(table, want, undefined) });
  }
  for (const [name, definition] of constraints) {
    const key = impliedBy(shape, actual, definition);
    items.push({ kind: 'constraint', name, status: 'extra', actual: definition, ...(key ? judgeImpliedUnique(key) : judgeExtraConstraint(table, name)) });
  }

  const accounted = new Set(actual.constraints.map((c) => c.name));
  const indexIn = (name: string) => qualifiedName(state.namespace ?? undefined, name);
  for (const want of shape.indexes) {
    const expected = indexDefinition(want);
    const same = actual.indexes.filter((i) => i.definition === expected);
    const valid = same.find((i) => i.valid);
    const invalid = same.find((i) => !i.valid);
    const named = actual.indexes.find((i) => i.name === want.name);
    if (valid) {
      accounted.add(valid.name);
      const renamed = valid.name !== want.name;
      items.push({ kind: 'index', name: want.name, status: 'present', expected, actual: renamed ? `${expected} named ${valid.name}` : expected, ...(renamed ? { foundName: valid.name } : {}) });
    } else if (invalid) {
      accounted.add(invalid.name);
      items.push({
        kind: 'index',
        name: want.name,
        status: 'invalid',
        expected,
        actual: `${expected} named ${invalid.name}, INVALID (an interrupted build)`,
        foundName: invalid.name,
        ...judgeMissingIndex(true),
      });
    } else if (named) {
      // The schema's name, on this table, with another definition: taken, so not built.
      accounted.add(named.name);
      items.push({
        kind: 'index',
        name: want.name,
        status: 'different',
        expected,
        actual: named.definition + (named.valid ? '' : ', INVALID'),
        ...judgeDifferentIndex(indexIn(named.name), named.definition.startsWith('UNIQUE ')),
      });
    } else items.push(missingOrConflict(state, 'index', want.name, expected, judgeMissingIndex(false), true));
  }
  // Other plain indexes are the app's business; a unique one rejects writes like a unique
  // constraint. Those behind a constraint bear its name and were judged with it.
  for (const index of actual.indexes) {
    if (accounted.has(index.name) || !index.definition.startsWith('UNIQUE ')) continue;
    const key = impliedBy(shape, actual, index.definition);
    items.push({ kind: 'index', name: index.name, status: 'extra', actual: index.definition, ...(key ? judgeImpliedUnique(key) : judgeExtraUniqueIndex(indexIn(index.name))) });
  }

  return tableStatus(shape.name, items.some(isBreaking) ? 'different' : 'present', items);
}

/**
 * The schema's key, present on the table under any name, that a unique index or constraint
 * (`UNIQUE (a, b)`, `UNIQUE USING btree (a, b)`) is implied by: one whose columns it all has.
 * Expression columns never match.
 */
function impliedBy(shape: TableShape, actual: CatalogTable, definition: string): ConstraintShape | undefined {
  const match = /^UNIQUE (?:USING \w+ )?\(([^()]*)\)/.exec(definition);
  if (!match) return undefined;
  const columns = new Set(match[1]!.split(', ').map((c) => c.replace(/^"(.*)"$/, '$1')));
  return shape.constraints.find(
    (key) => key.columns.every((c) => columns.has(c)) && actual.constraints.some((c) => c.definition === constraintDefinition(key)),
  );
}

export function compareCatalog(shapes: readonly TableShape[], state: CatalogState): TableStatus[] {
  return shapes.map((shape) => compareTable(shape, state));
}

export interface MissingIndex {
  shape: TableShape;
  index: IndexShape;
  /** The name of an INVALID index of that definition, the leftover of an interrupted build. */
  invalidName?: string;
}

/** Indexes missing (or only INVALID) on tables that exist; a missing table brings its own. */
export function missingIndexes(shapes: readonly TableShape[], statuses: readonly TableStatus[]): MissingIndex[] {
  return statuses.flatMap((status, i) => {
    const shape = shapes[i]!;
    if (status.status === 'missing') return [];
    return status.items
      .filter((item) => item.kind === 'index' && (item.status === 'missing' || item.status === 'invalid'))
      .map((item) => ({
        shape,
        index: shape.indexes.find((x) => x.name === item.name)!,
        ...(item.status === 'invalid' ? { invalidName: item.foundName! } : {}),
      }));
  });
}

/**
 * Objects in the namespace that drizzle-kit push would drop or alter although they are not the
 * package's: it reads sequences and enums by schema alone, ignoring `tablesFilter`, so it drops
 * an unrelated sequence (or fails on another table's serial one) and drops unrelated enums.
 */
export async function readForeignObjects(sql: Queryable, shapes: readonly TableShape[]): Promise<string[]> {
  return readTexts(
    sql,
    `with ns as (select coalesce($1::text, current_schema()) as name)
     select 'sequence ' || quote_ident(ns.name) || '.' || quote_ident(s.relname) as object
     from pg_class s join pg_namespace n on n.oid = s.relnamespace join ns on n.nspname = ns.name
     where s.relkind = 'S' and not exists (
       select 1 from pg_depend d join pg_class t on t.oid = d.refobjid
       where d.classid = 'pg_class'::regclass and d.objid = s.oid and d.deptype in ('a', 'i')
         and t.relnamespace = n.oid and t.relname = any(string_to_array($2::text, ',')))
     union all
     select 'enum type ' || quote_ident(ns.name) || '.' || quote_ident(t.typname)
     from pg_type t join pg_namespace n on n.oid = t.typnamespace join ns on n.nspname = ns.name
     where t.typtype = 'e'
     order by 1`,
    params(shapes),
  );
}
