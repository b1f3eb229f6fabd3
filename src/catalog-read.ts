/**
 * Reads what Postgres has for the package's tables: one round trip, against the system
 * catalogs only, taking no lock on the tables.
 *
 * The read is a handful of flat statements sent as one simple-protocol query (literals inline,
 * so there is no separate parse step, and nothing for the planner to correlate), returning the
 * catalog's own rows; definitions are assembled here. Nothing in it may lock the tables:
 * `pg_get_indexdef()`, `pg_get_expr(expr, table)` and `pg_get_constraintdef()` of a CHECK
 * constraint open the table for its column names, an ACCESS SHARE lock that waits behind any
 * ALTER TABLE or VACUUM FULL. So index expressions, predicates and check constraints are read as
 * their stored trees and printed by src/node-tree.ts; defaults are deparsed without their table
 * (`pg_get_expr(adbin, 0)`), which needs none since a default cannot refer to columns; the
 * expressions of generated columns, which do, are printed from their trees too. NOT NULL
 * constraints (contype 'n', rows in pg_constraint from Postgres 18 on) are left out:
 * nullability is compared per column.
 */
import type { Sql, TransactionSql } from 'postgres';
import { indexExpression, indexKeyDefinition, pgIdent, relationNames, type TableShape } from './ddl.js';
import { printTreeText, TREE_OID_FIELDS, type FunctionInfo, type OperatorInfo, type TreeCatalog, type TypeInfo } from './node-tree.js';

export interface CatalogColumn {
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  /** `pg_attribute.attidentity`: `a` (always), `d` (by default); empty or absent for a plain column. */
  identity?: string;
  /** A generated column's expression; absent for any other column. */
  generated?: string;
}

export interface CatalogIndex {
  name: string;
  /** As `pg_get_indexdef()` shows it from `USING` on, with `UNIQUE ` in front for a unique index. */
  definition: string;
  valid: boolean;
}

export interface CatalogTable {
  name: string;
  oid: number;
  /** `pg_class.relkind`: `r` a table, `p` a partitioned table, `v` a view, ... */
  kind: string;
  columns: CatalogColumn[];
  constraints: { name: string; definition: string }[];
  indexes: CatalogIndex[];
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

/** What an expression this package cannot print shows as: text no schema's definition holds. */
export const UNREADABLE_EXPRESSION = 'an expression asyncmq-postgres cannot read';

/** A string literal; the names are validated identifiers, but nothing is pasted unquoted. */
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

const TYPE_FIELDS = TREE_OID_FIELDS.types.map(literal).join(', ');

function statements(namespace: string | null, tables: readonly string[], relationNamesWanted: readonly string[] | undefined): string {
  const ns = namespace === null ? 'current_schema()' : literal(namespace);
  const ours = `(select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ${ns} and c.relname in (${tables.map(literal).join(', ')}))`;
  const parts = [
    `select ${ns} as namespace, exists (select 1 from pg_namespace where nspname = ${ns}) as namespace_exists`,
    `select c.oid::int as oid, c.relname as name, c.relkind::text as kind from pg_class c where c.oid in ${ours} order by c.relname`,
    `select a.attrelid::int as rel, a.attnum as num, a.attname as name, a.atttypid::int as type_oid, a.atttypmod as typmod,
       a.attcollation::int as collation, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
       a.attidentity::text as identity, case when a.attgenerated = '' then pg_get_expr(d.adbin, 0) end as default,
       case when a.attgenerated <> '' then d.adbin::text end as generated
     from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
     where a.attrelid in ${ours} and a.attnum > 0 and not a.attisdropped order by a.attrelid, a.attnum`,
    // pg_get_constraintdef() of keys and foreign keys reads only column and relation names; of
    // any constraint with an expression it would lock the table, so those come as trees.
    `select k.conrelid::int as rel, k.conname as name, k.contype::text as kind,
       case when k.contype in ('p', 'u', 'f') then pg_get_constraintdef(k.oid) end as definition,
       k.conbin::text as tree, k.convalidated as validated
     from pg_constraint k where k.conrelid in ${ours} and k.contype <> 'n' order by k.conrelid, k.conname`,
    `select i.indrelid::int as rel, ic.relname as name, am.amname as method, am.oid::int as method_oid, i.indisunique as unique, i.indisvalid as valid,
       i.indnkeyatts as key_count, i.indkey::text as keys, i.indoption::text as options, i.indclass::text as classes,
       i.indcollation::text as collations, i.indexprs::text as exprs, i.indpred::text as pred,
       (to_jsonb(i) ->> 'indnullsnotdistinct') = 'true' as nulls_not_distinct
     from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_am am on am.oid = ic.relam
     where i.indrelid in ${ours} order by i.indrelid, ic.relname`,
    // Whatever the trees and the index keys refer to by number, named.
    `with trees as (
       select i.indexprs::text as tree from pg_index i where i.indrelid in ${ours} and i.indexprs is not null
       union all select i.indpred::text from pg_index i where i.indrelid in ${ours} and i.indpred is not null
       union all select k.conbin::text from pg_constraint k where k.conrelid in ${ours} and k.conbin is not null
       union all select d.adbin::text from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
         where d.adrelid in ${ours} and a.attgenerated <> ''
     ), refs as (
       select distinct m[1] as field, m[2]::oid as oid from trees, regexp_matches(trees.tree, ':(\\w+) (\\d+)', 'g') as m
     )
     select 'type' as kind, t.oid::int as oid, format_type(t.oid, -1) as name, t.typtype::text as a, t.typcollation::int::text as b,
         t.typcategory::text as c, null as d
       from pg_type t where t.oid in (select oid from refs where field in (${TYPE_FIELDS}))
         or t.oid in (select a.atttypid from pg_attribute a where a.attrelid in ${ours})
     union all select 'operator', o.oid::int, o.oprname::text, n.nspname::text, o.oprleft::int::text, o.oprright::int::text, o.oprresult::int::text
       from pg_operator o join pg_namespace n on n.oid = o.oprnamespace where o.oid in (select oid from refs where field = 'opno')
     union all select 'function', p.oid::int, quote_ident(p.proname), n.nspname::text, p.proargtypes::text, p.prorettype::int::text,
         (p.provariadic <> 0)::text || ' ' || p.proretset::text
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace where p.oid in (select oid from refs where field = 'funcid')
     union all select 'opclass', c.oid::int, quote_ident(c.opcname), null, null, null, null
       from pg_opclass c where c.oid in (select unnest(i.indclass::oid[]) from pg_index i where i.indrelid in ${ours})
     union all select 'default opclass', c.oid::int, null, c.opcmethod::int::text, c.opcintype::int::text,
         array_to_string(array(select k.castsource from pg_cast k where k.casttarget = c.opcintype and k.castmethod = 'b'), ' '),
         (select t.typcategory::text || ' ' || t.typispreferred::text from pg_type t where t.oid = c.opcintype)
       from pg_opclass c where c.opcdefault
         and c.opcmethod in (select ic.relam from pg_index i join pg_class ic on ic.oid = i.indexrelid where i.indrelid in ${ours})
     union all select 'collation', c.oid::int, quote_ident(c.collname), null, null, null, null
       from pg_collation c where c.oid in (select unnest(i.indcollation::oid[]) from pg_index i where i.indrelid in ${ours})`,
  ];
  if (relationNamesWanted) {
    // Which relations hold the names the tables would need for their indexes and sequences.
    parts.push(`select r.relname as name, r.relkind::text as kind, coalesce(it.relname, st.relname) as owner
      from pg_class r
      join pg_namespace n on n.oid = r.relnamespace
      left join pg_index ri on ri.indexrelid = r.oid
      left join pg_class it on it.oid = ri.indrelid
      left join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = r.oid and d.refobjsubid > 0 and d.deptype in ('a', 'i')
      left join pg_class st on st.oid = d.refobjid
      where n.nspname = ${ns} and r.relname in (${relationNamesWanted.length ? relationNamesWanted.map(literal).join(', ') : 'null'})`);
  }
  return parts.join(';\n');
}

type Row = Record<string, unknown>;

/**
 * Reads the catalog for these shapes, in one statement list (one round trip, one snapshot per
 * statement; nothing between them changes what they read in a way that matters here).
 * `relations` also reads which objects hold the names the tables would need: worth it only
 * when something is to be created. `tables`: more names to read than the shapes', such as every
 * version's tables for the same names.
 */
export async function readCatalog(
  sql: Sql | TransactionSql,
  shapes: readonly TableShape[],
  options: { relations?: boolean; tables?: readonly string[] } = {},
): Promise<CatalogState> {
  const namespace = shapes[0]?.schema ?? null;
  const names = [...new Set([...shapes.map((s) => s.name), ...(options.tables ?? [])])];
  const wanted = options.relations ? shapes.flatMap((shape) => relationNames(shape).slice(1)) : undefined;
  const results = (await sql.unsafe(statements(namespace, names, wanted))) as unknown as Row[][];
  return assemble(results);
}

const ints = (text: unknown): number[] => (typeof text === 'string' && text.trim() !== '' ? text.trim().split(/\s+/).map(Number) : []);

function assemble(results: Row[][]): CatalogState {
  const [[head], tableRows, columnRows, constraintRows, indexRows, refRows, relationRows] = results as [Row[], Row[], Row[], Row[], Row[], Row[], Row[] | undefined];
  const types = new Map<number, TypeInfo>();
  const operators = new Map<number, OperatorInfo>();
  const functions = new Map<number, FunctionInfo>();
  const opclasses = new Map<number, string>();
  const defaults: DefaultOpclass[] = [];
  const categories = new Map<number, string>();
  const collations = new Map<number, string>();
  for (const r of refRows) {
    const oid = r.oid as number;
    const [a, b, c, d] = [r.a as string, r.b as string, r.c as string, r.d as string];
    if (r.kind === 'type') {
      types.set(oid, { name: r.name as string, kind: a, collation: Number(b) });
      categories.set(oid, c);
    }
    else if (r.kind === 'operator') operators.set(oid, { name: r.name as string, namespace: a, left: Number(b), right: Number(c), result: Number(d) });
    else if (r.kind === 'function') {
      const [variadic, returnsSet] = d.split(' ');
      functions.set(oid, { name: r.name as string, namespace: a, args: ints(b), result: Number(c), variadic: variadic === 'true', returnsSet: returnsSet === 'true' });
    } else if (r.kind === 'opclass') opclasses.set(oid, r.name as string);
    else if (r.kind === 'default opclass') {
      const [category, preferred] = (d ?? '').split(' ');
      defaults.push({ oid, method: Number(a), type: Number(b), binarySources: ints(c), category: category ?? '', preferred: preferred === 'true' });
    }
    else if (r.kind === 'collation') collations.set(oid, r.name as string);
  }

  const tables = tableRows.map((t): CatalogTable => {
    const oid = t.oid as number;
    const columnsOf = columnRows.filter((c) => c.rel === oid);
    const byNum = new Map(columnsOf.map((c) => [c.num as number, c]));
    const catalog: TreeCatalog = {
      column: (attnum) => {
        const c = byNum.get(attnum);
        return c && { name: pgIdent(c.name as string), type: c.type_oid as number, typmod: c.typmod as number, collation: c.collation as number };
      },
      type: (o) => types.get(o),
      operator: (o) => operators.get(o),
      func: (o) => functions.get(o),
    };
    const printed = (tree: string) => printTreeText(tree, catalog)[0]?.sql ?? `(${UNREADABLE_EXPRESSION})`;
    return {
      name: t.name as string,
      oid,
      kind: t.kind as string,
      columns: columnsOf.map((c) => ({
        name: c.name as string,
        type: c.type as string,
        notNull: c.not_null as boolean,
        default: (c.default as string | null) ?? null,
        identity: (c.identity as string) ?? '',
        ...(c.generated ? { generated: printed(c.generated as string) } : {}),
      })),
      constraints: constraintRows
        .filter((k) => k.rel === oid)
        .map((k) => ({ name: k.name as string, definition: constraintDefinitionOf(k, printed) })),
      indexes: indexRows
        .filter((i) => i.rel === oid)
        .map((i) => ({
          name: i.name as string,
          definition: indexDefinitionOf(i, catalog, byNum, opclasses, (type, method) => defaultOpclass(defaults, categories, type, method), collations),
          valid: i.valid as boolean,
        })),
    };
  });

  return {
    namespace: (head?.namespace as string | null) ?? null,
    namespaceExists: head?.namespace_exists === true,
    tables,
    relations: (relationRows ?? []).map((r) => ({ name: r.name as string, kind: r.kind as string, owner: (r.owner as string | null) ?? null })),
  };
}

function constraintDefinitionOf(k: Row, printed: (tree: string) => string): string {
  if (typeof k.definition === 'string') return k.definition;
  const notValid = k.validated === false ? ' NOT VALID' : '';
  if (k.kind === 'c' && typeof k.tree === 'string') return `CHECK (${printed(k.tree)})${notValid}`;
  return k.kind === 'x' ? 'EXCLUDE (...)' : k.kind === 't' ? 'CONSTRAINT TRIGGER' : `constraint of kind ${String(k.kind)}`;
}

/**
 * An index's definition from its `pg_index` row, as `pg_get_indexdef()` shows it from `USING`
 * on: each key with its collation and operator class where they are not the default, its
 * order, then INCLUDE, NULLS NOT DISTINCT and the predicate. An expression or predicate that
 * cannot be printed shows as one no schema has.
 */
interface DefaultOpclass {
  oid: number;
  method: number;
  type: number;
  /** The types that convert to `type` without a function (varchar to text). */
  binarySources: number[];
  /** `type`'s category, and whether it is the category's preferred type (text among strings). */
  category: string;
  preferred: boolean;
}

const ANYARRAY = 2277;

/**
 * The operator class CREATE INDEX picks for a key of this type (`GetDefaultOpClass`): the
 * method's default for exactly that type, or else the only default the type converts to
 * without a function, the one for its category's preferred type first (varchar converts to
 * both text and bpchar, and uses text's; an array uses anyarray's).
 */
function defaultOpclass(defaults: readonly DefaultOpclass[], categories: Map<number, string>, type: number | undefined, method: number): number | undefined {
  if (type === undefined) return undefined;
  const forMethod = defaults.filter((d) => d.method === method);
  const exact = forMethod.find((d) => d.type === type);
  if (exact) return exact.oid;
  const candidates = forMethod.filter((d) => d.binarySources.includes(type) || (d.type === ANYARRAY && categories.get(type) === 'A'));
  const preferred = candidates.filter((d) => d.preferred && d.category === categories.get(type));
  const chosen = preferred.length > 0 ? preferred : candidates;
  return chosen.length === 1 ? chosen[0]!.oid : undefined;
}

function indexDefinitionOf(
  row: Row,
  catalog: TreeCatalog,
  columns: Map<number, Row>,
  opclasses: Map<number, string>,
  defaultFor: (type: number | undefined, method: number) => number | undefined,
  collations: Map<number, string>,
): string {
  const keys = ints(row.keys);
  const options = ints(row.options);
  const classes = ints(row.classes);
  const keyCollations = ints(row.collations);
  const keyCount = row.key_count as number;
  const expressions = typeof row.exprs === 'string' ? printTreeText(row.exprs, catalog) : [];
  let nextExpression = 0;
  const columnName = (attnum: number) => {
    const c = columns.get(attnum);
    return c ? pgIdent(c.name as string) : `(column ${attnum})`;
  };
  const keyDefinitions = keys.slice(0, keyCount).map((attnum, k) => {
    let base: string;
    let type: number | undefined;
    let collation: number | undefined;
    if (attnum === 0) {
      const expression = expressions[nextExpression++];
      base = expression ? indexExpression(expression.sql, expression.functionLike) : `(${UNREADABLE_EXPRESSION})`;
      type = expression?.type;
      collation = expression?.collation;
    } else {
      const c = columns.get(attnum);
      base = columnName(attnum);
      type = c?.type_oid as number | undefined;
      collation = c?.collation as number | undefined;
    }
    const keyCollation = keyCollations[k] ?? 0;
    const collate = keyCollation !== (collation ?? 0) ? (collations.get(keyCollation) ?? `collation ${keyCollation}`) : undefined;
    const opclass = classes[k] ?? 0;
    const option = options[k] ?? 0;
    return indexKeyDefinition(
      {
        expression: base,
        ...(option & 1 ? { desc: true, nullsFirst: (option & 2) === 2 } : option & 2 ? { nullsFirst: true } : {}),
        ...(opclass === defaultFor(type, row.method_oid as number) ? {} : { opclass: opclasses.get(opclass) ?? `opclass ${opclass}` }),
      },
      { functionLike: true, ...(collate ? { collation: collate } : {}) },
    );
  });
  const include = keys.slice(keyCount).map(columnName);
  const predicate = typeof row.pred === 'string' ? (printTreeText(row.pred, catalog)[0]?.sql ?? `(${UNREADABLE_EXPRESSION})`) : undefined;
  return (
    `${row.unique ? 'UNIQUE ' : ''}USING ${row.method} (${keyDefinitions.join(', ')})` +
    (include.length ? ` INCLUDE (${include.join(', ')})` : '') +
    (row.nulls_not_distinct ? ' NULLS NOT DISTINCT' : '') +
    (predicate ? ` WHERE ${predicate}` : '')
  );
}
