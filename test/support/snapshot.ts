/**
 * A test's own view of the catalog, written independently of src/catalog/compare.ts so the two can
 * check each other: every relation in a namespace with its columns (in order), constraints,
 * indexes and sequences, as Postgres prints them.
 */
import type { Sql } from 'postgres';

export interface Snapshot {
  tables: Record<string, {
    columns: string[];
    constraints: string[];
    indexes: string[];
  }>;
  sequences: string[];
}

export async function snapshot(sql: Sql, namespace = 'public'): Promise<Snapshot> {
  const tables = await sql<{ name: string; columns: string[]; constraints: string[]; indexes: string[] }[]>`
    select c.relname as name,
      array(select a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                || case when a.attnotnull then ' not null' else '' end
                || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
            from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
            where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by a.attnum) as columns,
      array(select k.conname || ' ' || pg_get_constraintdef(k.oid) from pg_constraint k
            where k.conrelid = c.oid and k.contype <> 'n' order by k.conname) as constraints,
      array(select pg_get_indexdef(i.indexrelid) || case when i.indisvalid then '' else ' INVALID' end
            from pg_index i join pg_class ic on ic.oid = i.indexrelid
            where i.indrelid = c.oid order by ic.relname) as indexes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${namespace} and c.relkind = 'r'
    order by c.relname`;
  const sequences = await sql<{ seq: string }[]>`
    select s.relname || coalesce(' owned by ' || t.relname || '.' || a.attname, '') as seq
    from pg_class s join pg_namespace n on n.oid = s.relnamespace
    left join pg_depend d on d.objid = s.oid and d.deptype = 'a' and d.refobjsubid > 0
    left join pg_class t on t.oid = d.refobjid
    left join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
    where n.nspname = ${namespace} and s.relkind = 'S' order by 1`;
  return {
    tables: Object.fromEntries(tables.map((t) => [t.name, { columns: t.columns, constraints: t.constraints, indexes: t.indexes }])),
    sequences: sequences.map((s) => s.seq),
  };
}
