/**
 * Reads what Postgres has for the package's tables: one statement, one round trip, against the
 * system catalogs only, taking no lock on the tables.
 *
 * The read returns the catalog's own rows (see `readPlan`), and definitions are assembled
 * here. Nothing in it may lock the tables:
 * `pg_get_indexdef()`, `pg_get_expr(expr, table)` and `pg_get_constraintdef()` of a CHECK
 * constraint open the table for its column names, an ACCESS SHARE lock that waits behind any
 * ALTER TABLE or VACUUM FULL. So index expressions, predicates and check constraints are read as
 * their stored trees and printed by src/node-tree.ts; defaults are deparsed without their table
 * (`pg_get_expr(adbin, 0)`), which needs none since a default cannot refer to columns; the
 * expressions of generated columns, which do, are printed from their trees too. NOT NULL
 * constraints (contype 'n', rows in pg_constraint from Postgres 18 on) are left out:
 * nullability is compared per column.
 *
 * What else decides whether AsyncMQ's rows are stored as it writes them is read from the catalogs
 * alone too: each column's collation (and whether it is deterministic), the table's persistence
 * and row-level security (and whether the role AsyncMQ runs as bypasses it), its triggers and its
 * rules. Triggers and rules are described from their rows, their conditions and actions left
 * out: pg_get_ruledef() locks the tables a rule names (an ACCESS SHARE lock, seen on Postgres
 * 15), and the judgements depend only on when each fires and on what. The same read says
 * whether the session can write at all (a hot standby, a database read-only by default) and
 * which encoding text constants are in.
 */
import type { Queryable } from '../connection/drivers/index.js';
import { indexExpression, indexKeyDefinition, pgIdent, relationNames, type TableShape } from '../schema/ddl.js';
import { CAT, EQ, inQuery, literal, oneOf, op, withoutCatalogQualifier } from '../schema/sql-text.js';
import { printTreeText, TREE_OID_FIELDS, type FunctionInfo, type OperatorInfo, type TreeCatalog, type TypeInfo } from './node-tree.js';

export interface CatalogColumn {
  name: string;
  type: string;
  /**
   * A collation other than the type's default (`COLLATE "C"`), with whether it is deterministic
   * (a nondeterministic one makes values that differ compare equal); absent for the default.
   */
  collation?: { name: string; deterministic: boolean };
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
  /** `pg_class.relpersistence`: `p` permanent, `u` unlogged, `t` temporary. */
  persistence: string;
  rowSecurity: CatalogRowSecurity;
  columns: CatalogColumn[];
  constraints: { name: string; definition: string }[];
  indexes: CatalogIndex[];
  /**
   * Triggers of the table's own (not those behind a foreign key or a constraint trigger, which
   * are constraints); empty in the startup's check, which reads `hasTriggers` only.
   */
  triggers: CatalogTrigger[];
  /** `pg_class.relhastriggers`: the table has, or had, triggers of any kind (a foreign key's too). */
  hasTriggers: boolean;
  /** `pg_class.relhasrules`: the table has rules. */
  hasRules: boolean;
  /** Rewrite rules (a view's `_RETURN` aside). */
  rules: CatalogRule[];
}

export interface CatalogRowSecurity {
  /** `ENABLE ROW LEVEL SECURITY` */
  enabled: boolean;
  /** `FORCE ROW LEVEL SECURITY`: the owner is held to the policies too. */
  forced: boolean;
  /** How many policies the table has. */
  policies: number;
  /**
   * Whether the role the read was made for (see `CatalogState.role`) bypasses it: a superuser,
   * a role with BYPASSRLS, or the table's owner (or a member of it) when it is not forced. Null
   * when that role does not exist.
   */
  bypassed: boolean | null;
}

export interface CatalogTrigger {
  name: string;
  timing: 'BEFORE' | 'AFTER' | 'INSTEAD OF';
  level: 'ROW' | 'STATEMENT';
  events: ('INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE')[];
  /** `UPDATE OF` these columns only; empty for any update. */
  updateOf: string[];
  /** `pg_trigger.tgenabled`: `O` fires (the default), `D` disabled, `R` only in replica sessions, `A` always. */
  enabled: string;
  /** The function it runs, qualified. */
  function: string;
  /** Whether it has a WHEN condition. */
  conditional: boolean;
}

export interface CatalogRule {
  name: string;
  event: 'SELECT' | 'UPDATE' | 'INSERT' | 'DELETE';
  instead: boolean;
  /** `pg_rewrite.ev_enabled`, as for triggers. */
  enabled: string;
  /** Whether it has a WHERE condition. */
  conditional: boolean;
}

/**
 * Why the session cannot write: the server is a hot standby (`recovery`), transactions are
 * read-only by default (`default`: `default_transaction_read_only`, with where it was set, as
 * pg_settings says: `database`, `user`, `configuration file`, ...), or this very transaction is
 * read-only (`transaction`: an app's connection inside BEGIN READ ONLY).
 */
export type ReadOnlyTarget = { kind: 'recovery' } | { kind: 'default'; source: string } | { kind: 'transaction' };

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
  /** The database's encoding, as `getdatabaseencoding()` names it (`UTF8`, `LATIN1`, ...). */
  encoding: string;
  /** Null when the session can write; else why it cannot. */
  readOnly: ReadOnlyTarget | null;
  /** The role row-level security was judged for (`role`, or the session's); null when no such role exists. */
  role: string | null;
}

/** What an expression this package cannot print shows as: text no schema's definition holds. */
export const UNREADABLE_EXPRESSION = 'an expression asyncmq-postgres cannot read';


/** The kinds of rows one read returns. */
type Part =
  | 'head'
  | 'tables'
  | 'columns'
  | 'constraints'
  | 'indexes'
  | 'triggers'
  | 'rules'
  | 'opclasses'
  | 'types'
  | 'operators'
  | 'functions'
  | 'collations'
  | 'defaults'
  | 'relations';

/** One kind of row: its columns (name, SQL, how to read the text back) and where they come from. */
interface Branch {
  part: Part;
  columns: [string, string, 'int' | 'bool' | 'text'][];
  from: string;
}

/**
 * The read as one statement: every kind of row in one UNION ALL, so that all of it comes from
 * one snapshot (a multi-statement query would take one per statement, and a table could read
 * as missing while its indexes read as there) and in one round trip, with literals inline so
 * there is no separate parse step. Each branch scans one catalog by oid (`ours`, the tables'
 * oids found by name), and a scan by oid plans in a fraction of a join's time (planning, not
 * reading, is most of what a read of a few rows costs). Every name is pg_catalog's, qualified
 * (see schema/sql-text.ts).
 */
function readPlan(
  namespace: string | null,
  tables: readonly string[],
  options: { names: boolean; relations: readonly string[] | undefined; role: string | undefined; check: boolean },
): { sql: string; branches: Branch[] } {
  const ns = namespace === null ? 'pg_catalog.current_schema()' : literal(namespace);
  const ours = (expr: string) => inQuery(expr, 'select oid from ours');
  const text = (expr: string) => `(${expr})::pg_catalog.text`;
  const setting = (name: string) => `pg_catalog.current_setting(${literal(name)})`;
  const branches: Branch[] = [
    {
      part: 'head',
      columns: [
        ['namespace', ns, 'text'],
        ['namespace_exists', `exists (select from pg_catalog.pg_namespace where nspname ${EQ} ${ns})`, 'bool'],
        // Text constants in stored trees are in this encoding (see node-tree.ts).
        ['encoding', 'pg_catalog.getdatabaseencoding()', 'text'],
        // Whether AsyncMQ can write here at all: a hot standby, or read-only by default.
        ['in_recovery', 'pg_catalog.pg_is_in_recovery()', 'bool'],
        ['transaction_read_only', setting('transaction_read_only'), 'text'],
        ['default_read_only', setting('default_transaction_read_only'), 'text'],
        // Where it is set, and whose row-level security: the full read's, for its reports; the
        // startup's check needs neither (a read-only database is read again in full to refuse it).
        ['read_only_source', options.check ? 'null' : `(select s.source from pg_catalog.pg_settings s where s.name ${EQ} 'default_transaction_read_only')`, 'text'],
        ['role', options.check ? 'null' : '(select w.rolname from who w)', 'text'],
      ],
      from: '',
    },
    {
      part: 'tables',
      columns: [
        ['oid', 'c.oid', 'int'],
        ['name', 'c.relname', 'text'],
        ['kind', 'c.relkind', 'text'],
        ['persistence', 'c.relpersistence', 'text'],
        ['rls', 'c.relrowsecurity', 'bool'],
        ['rls_forced', 'c.relforcerowsecurity', 'bool'],
        ['policies', options.check ? 'null' : `(select pg_catalog.count(*) from pg_catalog.pg_policy p where p.polrelid ${EQ} c.oid)`, 'int'],
        // As Postgres decides it (check_enable_rls): BYPASSRLS (a superuser has it), or the
        // owner's privileges (membership that inherits) on a table that does not force it.
        ['rls_bypassed', options.check ? 'null' : `(select w.bypass or (pg_catalog.pg_has_role(w.oid, c.relowner, 'USAGE') and not c.relforcerowsecurity) from who w)`, 'bool'],
        // Whether the table has (or had) triggers or rules at all: the startup's check reads no
        // more than that, and falls back to the full read, which reads them one by one.
        ['has_triggers', 'c.relhastriggers', 'bool'],
        ['has_rules', 'c.relhasrules', 'bool'],
      ],
      from: `from pg_catalog.pg_class c where ${ours('c.oid')}`,
    },
    {
      part: 'columns',
      columns: [
        ['rel', 'a.attrelid', 'int'],
        ['num', 'a.attnum', 'int'],
        ['name', 'a.attname', 'text'],
        ['type_oid', 'a.atttypid', 'int'],
        ['typmod', 'a.atttypmod', 'int'],
        ['collation', 'a.attcollation', 'int'],
        ['type', 'pg_catalog.format_type(a.atttypid, a.atttypmod)', 'text'],
        // The startup's check only needs to know that the type is one initdb made (an oid below
        // FirstNormalObjectId, 16384: pg_catalog's, or information_schema's, none of which bears
        // a name of the schema's); anything else reads as a type of unknown schema.
        ['type_schema', options.check ? `case when a.atttypid ${op('<')} 16384 then 'pg_catalog' end` : typeSchema('a.atttypid'), 'text'],
        ['not_null', 'a.attnotnull', 'bool'],
        ['identity', 'a.attidentity', 'text'],
        // A default cannot refer to columns, so it deparses without its table (and no lock);
        // a generated column's expression does, and comes as its tree.
        ['default', `case when a.attgenerated ${EQ} '' then pg_catalog.pg_get_expr(d.adbin, 0) end`, 'text'],
        // The default's tree, only to tell which functions, operators and types it names (see
        // `namesOnlyInitdbObjects`): pg_get_expr() prints another schema's `now()` as `now()`
        // where that schema comes first in the search_path.
        ['default_tree', `case when a.attgenerated ${EQ} '' then ${text('d.adbin')} end`, 'text'],
        ['generated', `case when a.attgenerated ${op('<>')} '' then ${text('d.adbin')} end`, 'text'],
        // A collation other than the type's default, as pg_get_indexdef() names one: qualified
        // unless it is pg_catalog's.
        // The startup's check only tells the default (0 for a type without collation, 100 the
        // database's default) from any other, which sends it to the full read.
        [
          'collation_name',
          options.check
            ? `case when a.attcollation ${op('<>')} all (array[0, 100]::pg_catalog.oid[]) then '(not the default)' end`
            : `case when a.attcollation ${op('<>')} (select ct.typcollation from pg_catalog.pg_type ct where ct.oid ${EQ} a.atttypid) then
          (select case when cn.nspname ${EQ} 'pg_catalog' then '' else pg_catalog.quote_ident(cn.nspname) ${CAT} '.' end ${CAT} pg_catalog.quote_ident(co.collname)
            from pg_catalog.pg_collation co join pg_catalog.pg_namespace cn on cn.oid ${EQ} co.collnamespace where co.oid ${EQ} a.attcollation) end`,
          'text',
        ],
        // Postgres 12 and later (before, every collation is deterministic); read as the index's
        // nulls_not_distinct is, so that the statement runs where the column is not.
        ['collation_deterministic', options.check ? 'null' : `(select pg_catalog.to_jsonb(co) ${op('->>')} 'collisdeterministic' from pg_catalog.pg_collation co where co.oid ${EQ} a.attcollation)`, 'bool'],
      ],
      from: `from pg_catalog.pg_attribute a left join pg_catalog.pg_attrdef d on d.adrelid ${EQ} a.attrelid and d.adnum ${EQ} a.attnum
        where ${ours('a.attrelid')} and a.attnum ${op('>')} 0 and not a.attisdropped`,
    },
    {
      part: 'constraints',
      // pg_get_constraintdef() of keys and foreign keys reads only column and relation names; of
      // any constraint with an expression it would lock the table, so those come as trees.
      columns: [
        ['rel', 'k.conrelid', 'int'],
        ['name', 'k.conname', 'text'],
        ['kind', 'k.contype', 'text'],
        ['definition', `case when ${oneOf('k.contype', ['p', 'u', 'f'], '"char"')} then pg_catalog.pg_get_constraintdef(k.oid) end`, 'text'],
        ['tree', text('k.conbin'), 'text'],
        ['validated', 'k.convalidated', 'bool'],
      ],
      from: `from pg_catalog.pg_constraint k where ${ours('k.conrelid')} and k.contype ${op('<>')} 'n'`,
    },
    {
      part: 'indexes',
      columns: [
        ['rel', 'i.indrelid', 'int'],
        ['name', 'ic.relname', 'text'],
        ['method', 'am.amname', 'text'],
        ['method_oid', 'am.oid', 'int'],
        ['unique', 'i.indisunique', 'bool'],
        ['valid', 'i.indisvalid', 'bool'],
        ['key_count', 'i.indnkeyatts', 'int'],
        ['keys', 'i.indkey', 'text'],
        ['options', 'i.indoption', 'text'],
        ['classes', 'i.indclass', 'text'],
        ['collations', 'i.indcollation', 'text'],
        ['exprs', 'i.indexprs', 'text'],
        ['pred', 'i.indpred', 'text'],
        // Postgres 15 and later; read so that the statement also runs where the column is not.
        ['nulls_not_distinct', `pg_catalog.to_jsonb(i) ${op('->>')} 'indnullsnotdistinct'`, 'bool'],
      ],
      from: `from pg_catalog.pg_index i join pg_catalog.pg_class ic on ic.oid ${EQ} i.indexrelid
        join pg_catalog.pg_am am on am.oid ${EQ} ic.relam where ${ours('i.indrelid')}`,
    },
    // The triggers and rules one by one: the full read's (the startup's check reads pg_class's flags).
    ...(options.check
      ? []
      : ([
        {
          part: 'triggers',
          // Not those Postgres makes for a foreign key, nor constraint triggers: both are constraints.
          columns: [
            ['rel', 'g.tgrelid', 'int'],
            ['name', 'g.tgname', 'text'],
            ['type', 'g.tgtype', 'int'],
            ['enabled', 'g.tgenabled', 'text'],
            ['update_of', 'g.tgattr', 'text'],
            ['conditional', 'g.tgqual is not null', 'bool'],
            ['function', `(select pg_catalog.quote_ident(fn.nspname) ${CAT} '.' ${CAT} pg_catalog.quote_ident(f.proname)
              from pg_catalog.pg_proc f join pg_catalog.pg_namespace fn on fn.oid ${EQ} f.pronamespace where f.oid ${EQ} g.tgfoid)`, 'text'],
          ],
          from: `from pg_catalog.pg_trigger g where ${ours('g.tgrelid')} and not g.tgisinternal and g.tgconstraint ${EQ} 0::pg_catalog.oid`,
        },
        {
          part: 'rules',
          columns: [
            ['rel', 'w.ev_class', 'int'],
            ['name', 'w.rulename', 'text'],
            ['event', 'w.ev_type', 'text'],
            ['instead', 'w.is_instead', 'bool'],
            ['enabled', 'w.ev_enabled', 'text'],
            ['conditional', `${text('w.ev_qual')} ${op('<>')} '<>'`, 'bool'],
          ],
          // A view's own rule is its definition; a table has none.
          from: `from pg_catalog.pg_rewrite w where ${ours('w.ev_class')} and w.rulename ${op('<>')} '_RETURN'`,
        },
        ] satisfies Branch[])),
    {
      part: 'opclasses',
      columns: [
        ['oid', 'o.oid', 'int'],
        ['name', 'pg_catalog.quote_ident(o.opcname)', 'text'],
        ['is_default', 'o.opcdefault', 'bool'],
        ['type', 'o.opcintype', 'int'],
      ],
      from: `from pg_catalog.pg_opclass o where ${inQuery('o.oid', `select pg_catalog.unnest(i.indclass::pg_catalog.oid[]) from pg_catalog.pg_index i where ${ours('i.indrelid')}`)}`,
    },
  ];
  const refs = (fields: readonly string[]) => `select oid from refs where ${oneOf('field', fields, 'text')}`;
  if (options.names) {
    // What the trees refer to by number, named; the collations keys are under; and the default
    // operator classes a key's type may take through a binary conversion (varchar, text's).
    branches.push(
      {
        part: 'types',
        columns: [
          ['oid', 't.oid', 'int'],
          // A null modifier: the type's name alone.
          ['name', 'pg_catalog.format_type(t.oid, null)', 'text'],
          ['schema', typeSchema('t.oid'), 'text'],
          ['kind', 't.typtype', 'text'],
          ['collation', 't.typcollation', 'int'],
          ['category', 't.typcategory', 'text'],
        ],
        from: `from pg_catalog.pg_type t where ${inQuery(
          't.oid',
          `${refs(TREE_OID_FIELDS.types)} union select a.atttypid from pg_catalog.pg_attribute a where ${ours('a.attrelid')}`,
        )}`,
      },
      {
        part: 'operators',
        columns: [
          ['oid', 'o.oid', 'int'],
          ['name', 'o.oprname', 'text'],
          ['namespace', 'n.nspname', 'text'],
          ['left', 'o.oprleft', 'int'],
          ['right', 'o.oprright', 'int'],
          ['result', 'o.oprresult', 'int'],
        ],
        from: `from pg_catalog.pg_operator o join pg_catalog.pg_namespace n on n.oid ${EQ} o.oprnamespace where ${inQuery('o.oid', refs(TREE_OID_FIELDS.operators))}`,
      },
      {
        part: 'functions',
        columns: [
          ['oid', 'p.oid', 'int'],
          ['name', 'pg_catalog.quote_ident(p.proname)', 'text'],
          ['namespace', 'n.nspname', 'text'],
          ['args', 'p.proargtypes', 'text'],
          ['result', 'p.prorettype', 'int'],
          ['variadic', `p.provariadic ${op('<>')} 0`, 'bool'],
          ['returns_set', 'p.proretset', 'bool'],
        ],
        from: `from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid ${EQ} p.pronamespace where ${inQuery('p.oid', refs(TREE_OID_FIELDS.functions))}`,
      },
      {
        part: 'collations',
        columns: [
          ['oid', 'c.oid', 'int'],
          ['name', 'pg_catalog.quote_ident(c.collname)', 'text'],
        ],
        from: `from pg_catalog.pg_collation c where ${inQuery(
          'c.oid',
          `select pg_catalog.unnest(i.indcollation::pg_catalog.oid[]) from pg_catalog.pg_index i where ${ours('i.indrelid')}`,
        )}`,
      },
      {
        part: 'defaults',
        columns: [
          ['oid', 'c.oid', 'int'],
          ['method', 'c.opcmethod', 'int'],
          ['type', 'c.opcintype', 'int'],
          ['sources', 'k.sources', 'text'],
          ['category', 't.typcategory', 'text'],
          ['preferred', 't.typispreferred', 'bool'],
        ],
        from: `from pg_catalog.pg_opclass c join pg_catalog.pg_type t on t.oid ${EQ} c.opcintype
          left join (select casttarget, pg_catalog.string_agg(castsource::int::pg_catalog.text, ' ') as sources
            from pg_catalog.pg_cast where castmethod ${EQ} 'b' group by casttarget) k
            on k.casttarget ${EQ} c.opcintype
          where c.opcdefault and ${inQuery(
            'c.opcmethod',
            `select ic.relam from pg_catalog.pg_index i join pg_catalog.pg_class ic on ic.oid ${EQ} i.indexrelid where ${ours('i.indrelid')}`,
          )}`,
      },
    );
  }
  if (options.relations) {
    // Which relations hold the names the tables would need for their indexes and sequences.
    branches.push({
      part: 'relations',
      columns: [
        ['name', 'r.relname', 'text'],
        ['kind', 'r.relkind', 'text'],
        ['owner', 'coalesce(it.relname, st.relname)', 'text'],
      ],
      from: `from pg_catalog.pg_class r
        join pg_catalog.pg_namespace n on n.oid ${EQ} r.relnamespace
        left join pg_catalog.pg_index ri on ri.indexrelid ${EQ} r.oid
        left join pg_catalog.pg_class it on it.oid ${EQ} ri.indrelid
        left join pg_catalog.pg_depend d on d.classid ${EQ} 'pg_catalog.pg_class'::pg_catalog.regclass and d.objid ${EQ} r.oid
          and d.refobjsubid ${op('>')} 0 and ${oneOf('d.deptype', ['a', 'i'], '"char"')}
        left join pg_catalog.pg_class st on st.oid ${EQ} d.refobjid
        where n.nspname ${EQ} ${ns} and ${oneOf('r.relname', options.relations, 'name')}`,
    });
  }
  const width = Math.max(...branches.map((b) => b.columns.length));
  const ctes = [
    // The role AsyncMQ runs as, for row-level security: the one named, or the session's.
    ...(options.check ? [] : [`who as (select r.oid, r.rolname, r.rolsuper or r.rolbypassrls as bypass from pg_catalog.pg_roles r
      where r.rolname ${EQ} ${options.role === undefined ? 'current_user' : literal(options.role)})`]),
    // By name in the catalogs, not to_regclass(): that needs USAGE on the namespace, which a
    // role status reports on may lack; the catalogs are readable by every role.
    `ours as (select c.oid from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid ${EQ} c.relnamespace
      where n.nspname ${EQ} ${ns} and ${oneOf('c.relname', tables, 'name')})`,
    ...(options.names
      ? [
          `trees as (
            select ${text('i.indexprs')} as tree from pg_catalog.pg_index i where ${ours('i.indrelid')} and i.indexprs is not null
            union all select ${text('i.indpred')} from pg_catalog.pg_index i where ${ours('i.indrelid')} and i.indpred is not null
            union all select ${text('k.conbin')} from pg_catalog.pg_constraint k where ${ours('k.conrelid')} and k.conbin is not null
            union all select ${text('d.adbin')} from pg_catalog.pg_attrdef d join pg_catalog.pg_attribute a
              on a.attrelid ${EQ} d.adrelid and a.attnum ${EQ} d.adnum
              where ${ours('d.adrelid')} and a.attgenerated ${op('<>')} '')`,
          `refs as (select distinct m[1] as field, m[2]::pg_catalog.oid as oid
            from trees, pg_catalog.regexp_matches(trees.tree, ':(\\w+) (\\d+)', 'g') as m)`,
        ]
      : []),
  ];
  const select = (b: Branch, first: boolean) => {
    const cells = Array.from({ length: width }, (_, i) => {
      const column = b.columns[i];
      const value = column ? text(column[1]) : 'null::pg_catalog.text';
      return first ? `${value} as c${i}` : value;
    });
    return `select ${literal(b.part)}::pg_catalog.text as part, ${cells.join(', ')} ${b.from}`;
  };
  return { sql: `with ${ctes.join(',\n')}\n${branches.map((b, i) => select(b, i === 0)).join('\nunion all ')}`, branches };
}

/**
 * The schema of a type (of an array's element type): format_type() qualifies a name by the
 * search_path, so `text` reads as `pg_catalog.text` where another schema's `text` comes first,
 * and another schema's `text` reads as plain `text`. Read beside it, the printed name is made
 * the same whatever the search_path (see `typeName`).
 */
function typeSchema(oid: string): string {
  // Aliases of its own: the outer query's `t` must not be shadowed.
  return `(select sn.nspname from pg_catalog.pg_type st join pg_catalog.pg_type se
      on se.oid ${EQ} (case when st.typelem ${op('<>')} 0 and st.typlen ${op('<')} 0 then st.typelem else st.oid end)
    join pg_catalog.pg_namespace sn on sn.oid ${EQ} se.typnamespace where st.oid ${EQ} ${oid})`;
}

type Row = Record<string, unknown>;

/**
 * The rows of one read by kind, each cell read back from its text. Rows come as arrays, read by
 * position: every value is text, so no driver setting (parsers, column-name transforms)
 * changes what is read.
 */
function rowsByPart(rows: readonly (readonly unknown[])[], branches: readonly Branch[]): Partial<Record<Part, Row[]>> {
  const out: Partial<Record<Part, Row[]>> = {};
  for (const branch of branches) out[branch.part] = [];
  const columns = new Map(branches.map((b) => [b.part, b.columns]));
  for (const raw of rows) {
    const part = raw[0] as Part;
    const row: Row = {};
    columns.get(part)!.forEach(([name, , kind], i) => {
      const cell = raw[i + 1] as string | null;
      row[name] = cell === null ? null : kind === 'int' ? Number(cell) : kind === 'bool' ? cell === 'true' : cell;
    });
    out[part]!.push(row);
  }
  const by = (...keys: string[]) => (a: Row, b: Row) => {
    for (const key of keys) {
      const [x, y] = [a[key] as string | number, b[key] as string | number];
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
  out.tables?.sort(by('name'));
  out.columns?.sort(by('rel', 'num'));
  out.constraints?.sort(by('rel', 'name'));
  out.indexes?.sort(by('rel', 'name'));
  out.triggers?.sort(by('rel', 'name'));
  out.rules?.sort(by('rel', 'name'));
  return out;
}

/**
 * Reads the catalog for these shapes in one statement. `relations` also reads which objects
 * hold the names the tables would need: worth it only when something is to be created.
 * `tables`: more names to read than the shapes', such as every version's tables for the same
 * names. `detail: 'check'` is the startup's read: it names what stored trees refer to only when
 * the shapes' own indexes have trees, and otherwise shows every tree as unread (a definition
 * that matches nothing), which is all the exact check needs; the full comparison needs the
 * `full` read, the default. `role`: the role whose row-level security to judge (status's
 * `role`); the session's by default.
 */
export async function readCatalog(
  sql: Queryable,
  shapes: readonly TableShape[],
  options: { relations?: boolean; tables?: readonly string[]; detail?: 'full' | 'check'; role?: string } = {},
): Promise<CatalogState> {
  const namespace = shapes[0]?.schema ?? null;
  const names = [...new Set([...shapes.map((s) => s.name), ...(options.tables ?? [])])];
  const trees = shapes.some((shape) => shape.indexes.some((i) => i.where !== undefined || i.keys.some((k) => k.expression !== undefined)));
  const plan = readPlan(namespace, names, {
    names: options.detail !== 'check' || trees,
    relations: options.relations ? shapes.flatMap((shape) => relationNames(shape).slice(1)) : undefined,
    role: options.role,
    check: options.detail === 'check',
  });
  return assemble(rowsByPart((await sql.unsafe(plan.sql)) as unknown as unknown[][], plan.branches));
}

/**
 * A type's name as it reads under a plain search_path, whatever the session's: pg_catalog's types
 * bare (`text`, `integer[]`), any other schema's always qualified, so that a `public.text` can
 * never pass for pg_catalog's (see `typeSchema`).
 */
function typeName(printed: string, schema: string | null): string {
  if (schema === 'pg_catalog') return printed.startsWith('pg_catalog.') ? printed.slice('pg_catalog.'.length) : printed;
  // Not read (the startup's check, for a type initdb did not make): a name no schema has.
  if (schema === null) return `${printed} (of a schema not read)`;
  return printed.includes('.') ? printed : `${pgIdent(schema)}.${printed}`;
}

/**
 * Whether a default's stored tree names only functions, operators and types that initdb made
 * (oids below FirstNormalObjectId, 16384): pg_catalog's, which pg_get_expr() prints as the
 * schema's own defaults are written. Any other (`evil.now()`, printed `now()` where `evil` comes
 * first in the search_path) makes the default read as unreadable.
 */
function namesOnlyInitdbObjects(tree: unknown): boolean {
  if (typeof tree !== 'string') return true;
  return [...tree.matchAll(/:(\w+) (\d+)/g)].every(([, field, oid]) => !OID_FIELDS.has(field!) || Number(oid) < 16_384);
}

/** The fields of a stored tree that name a function, operator or type by oid. */
const OID_FIELDS = new Set<string>(Object.values(TREE_OID_FIELDS).flat());

const ints = (text: unknown): number[] => (typeof text === 'string' && text.trim() !== '' ? text.trim().split(/\s+/).map(Number) : []);

// pg_trigger.tgtype's bits (TRIGGER_TYPE_* in Postgres's trigger.h).
const TRIGGER_ROW = 1 << 0;
const TRIGGER_BEFORE = 1 << 1;
const TRIGGER_INSTEAD = 1 << 6;
const TRIGGER_EVENTS = [
  [1 << 2, 'INSERT'],
  [1 << 3, 'DELETE'],
  [1 << 4, 'UPDATE'],
  [1 << 5, 'TRUNCATE'],
] as const;

/** pg_rewrite.ev_type */
const RULE_EVENTS: Record<string, CatalogRule['event']> = { '1': 'SELECT', '2': 'UPDATE', '3': 'INSERT', '4': 'DELETE' };

function triggerOf(row: Row, columnName: (attnum: number) => string): CatalogTrigger {
  const type = row.type as number;
  return {
    name: row.name as string,
    timing: type & TRIGGER_INSTEAD ? 'INSTEAD OF' : type & TRIGGER_BEFORE ? 'BEFORE' : 'AFTER',
    level: type & TRIGGER_ROW ? 'ROW' : 'STATEMENT',
    events: TRIGGER_EVENTS.filter(([bit]) => type & bit).map(([, event]) => event),
    updateOf: ints(row.update_of).map(columnName),
    enabled: row.enabled as string,
    function: (row.function as string | null) ?? 'a function asyncmq-postgres cannot name',
    conditional: row.conditional === true,
  };
}

function readOnlyOf(head: Row | undefined): ReadOnlyTarget | null {
  if (head?.in_recovery === true) return { kind: 'recovery' };
  if (head?.default_read_only === 'on') return { kind: 'default', source: (head.read_only_source as string | null) ?? 'unknown' };
  if (head?.transaction_read_only === 'on') return { kind: 'transaction' };
  return null;
}

function assemble(rows: Partial<Record<Part, Row[]>>): CatalogState {
  const [head] = rows.head ?? [];
  const encoding = (head?.encoding as string | undefined) ?? 'UTF8';
  const [tableRows, columnRows, constraintRows, indexRows] = [rows.tables ?? [], rows.columns ?? [], rows.constraints ?? [], rows.indexes ?? []];
  const types = new Map<number, TypeInfo>(
    (rows.types ?? []).map((t) => [t.oid as number, { name: typeName(t.name as string, t.schema as string), kind: t.kind as string, collation: t.collation as number }]),
  );
  const categories = new Map((rows.types ?? []).map((t) => [t.oid as number, t.category as string]));
  const operators = new Map<number, OperatorInfo>(
    (rows.operators ?? []).map((o) => [o.oid as number, { name: o.name as string, namespace: o.namespace as string, left: o.left as number, right: o.right as number, result: o.result as number }]),
  );
  const functions = new Map<number, FunctionInfo>(
    (rows.functions ?? []).map((f) => [
      f.oid as number,
      { name: f.name as string, namespace: f.namespace as string, args: ints(f.args), result: f.result as number, variadic: f.variadic as boolean, returnsSet: f.returns_set as boolean },
    ]),
  );
  const opclasses = new Map((rows.opclasses ?? []).map((o) => [o.oid as number, { name: o.name as string, isDefault: o.is_default as boolean, type: o.type as number }]));
  // Without the names read, only an operator class that is the default for exactly the key's type counts as its default.
  const defaults: DefaultOpclass[] | undefined = rows.defaults?.map((d) => ({
    oid: d.oid as number,
    method: d.method as number,
    type: d.type as number,
    binarySources: ints(d.sources),
    category: d.category as string,
    preferred: d.preferred as boolean,
  }));
  const collations = new Map((rows.collations ?? []).map((c) => [c.oid as number, c.name as string]));

  const tables = tableRows.map((t): CatalogTable => {
    const oid = t.oid as number;
    const columnsOf = columnRows.filter((c) => c.rel === oid);
    const byNum = new Map(columnsOf.map((c) => [c.num as number, c]));
    const catalog: TreeCatalog = {
      encoding,
      column: (attnum) => {
        const c = byNum.get(attnum);
        return c && { name: pgIdent(c.name as string), type: c.type_oid as number, typmod: c.typmod as number, collation: c.collation as number };
      },
      type: (o) => types.get(o),
      operator: (o) => operators.get(o),
      func: (o) => functions.get(o),
    };
    const printed = (tree: string) => printTreeText(tree, catalog)[0]?.sql ?? `(${UNREADABLE_EXPRESSION})`;
    const columnName = (attnum: number) => (byNum.get(attnum)?.name as string | undefined) ?? `(column ${attnum})`;
    return {
      name: t.name as string,
      oid,
      kind: t.kind as string,
      persistence: t.persistence as string,
      hasTriggers: t.has_triggers === true,
      hasRules: t.has_rules === true,
      rowSecurity: { enabled: t.rls === true, forced: t.rls_forced === true, policies: (t.policies as number) ?? 0, bypassed: (t.rls_bypassed as boolean | null) ?? null },
      columns: columnsOf.map((c) => ({
        name: c.name as string,
        type: typeName(c.type as string, c.type_schema as string),
        ...(typeof c.collation_name === 'string' ? { collation: { name: c.collation_name, deterministic: c.collation_deterministic !== false } } : {}),
        notNull: c.not_null as boolean,
        default: c.default === null ? null : namesOnlyInitdbObjects(c.default_tree) ? withoutCatalogQualifier(c.default as string) : `(${UNREADABLE_EXPRESSION})`,
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
          definition: indexDefinitionOf(i, catalog, byNum, opclasses, defaults && ((type, method) => defaultOpclass(defaults, categories, type, method)), collations),
          valid: i.valid as boolean,
        })),
      triggers: (rows.triggers ?? []).filter((g) => g.rel === oid).map((g) => triggerOf(g, columnName)),
      rules: (rows.rules ?? [])
        .filter((w) => w.rel === oid)
        .map((w) => ({
          name: w.name as string,
          event: RULE_EVENTS[w.event as string] ?? 'SELECT',
          instead: w.instead === true,
          enabled: w.enabled as string,
          conditional: w.conditional === true,
        })),
    };
  });

  return {
    namespace: (head?.namespace as string | null) ?? null,
    namespaceExists: head?.namespace_exists === true,
    tables,
    relations: (rows.relations ?? []).map((r) => ({ name: r.name as string, kind: r.kind as string, owner: (r.owner as string | null) ?? null })),
    encoding,
    readOnly: readOnlyOf(head),
    role: (head?.role as string | null) ?? null,
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
  opclasses: Map<number, { name: string; isDefault: boolean; type: number }>,
  defaultFor: ((type: number | undefined, method: number) => number | undefined) | undefined,
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
    const known = opclasses.get(opclass);
    const isDefaultOpclass = (oid: number) =>
      defaultFor ? oid === defaultFor(type, row.method_oid as number) : known !== undefined && known.isDefault && known.type === type;
    return indexKeyDefinition(
      {
        expression: base,
        ...(option & 1 ? { desc: true, nullsFirst: (option & 2) === 2 } : option & 2 ? { nullsFirst: true } : {}),
        ...(isDefaultOpclass(opclass) ? {} : { opclass: opclasses.get(opclass)?.name ?? `opclass ${opclass}` }),
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
