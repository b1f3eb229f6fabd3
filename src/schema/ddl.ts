/**
 * Pure: Drizzle table definitions to the shapes Postgres reports and the SQL that creates or
 * drops them. Nothing here executes anything; the caller does.
 *
 * A `TableShape` is the table as Postgres's catalog describes it (`format_type`, `pg_get_expr`,
 * `pg_get_constraintdef`, the `USING ...` part of `pg_get_indexdef`), so the catalog check can
 * compare strings, and the `CREATE` statements are rendered from the same shape.
 *
 * Index expressions and predicates are written in the tables as `pg_get_expr()` prints them
 * (`(status = 'waiting'::text)`), since that is the text the catalog check reads back from the
 * stored trees (src/node-tree.ts); whitespace and needless quotes aside, they must match it.
 */
import { is, SQL } from 'drizzle-orm';
import { getTableConfig, IndexedColumn, PgDialect, PgTable, type PgColumn } from 'drizzle-orm/pg-core';
import { AsyncmqPostgresError } from '../errors.js';
import { catalogQualified, catalogType, normalizeSql, withoutOuterParentheses } from './sql-text.js';
import { byteLength, describeSetting, MAX_IDENTIFIER_BYTES, type AsyncmqSettings } from '../config/settings.js';

export interface ColumnShape {
  name: string;
  /** The type as written in `CREATE TABLE` (`serial`, `timestamp`). */
  sqlType: string;
  /** The type as `format_type()` reports it (`integer`, `timestamp without time zone`). */
  type: string;
  notNull: boolean;
  /** The default as `pg_get_expr()` reports it; serial columns report `nextval(...)`. */
  default: string | undefined;
  serial: boolean;
}

export interface ConstraintShape {
  name: string;
  kind: 'PRIMARY KEY' | 'UNIQUE' | 'UNIQUE NULLS NOT DISTINCT';
  columns: string[];
}

/** One key of an index: a column, or an expression (SQL in `pg_get_expr()`'s words). */
export interface IndexKey {
  column?: string;
  expression?: string;
  /** Descending; Postgres then puts NULLs first unless `nullsFirst` is false. */
  desc?: boolean;
  /** Where NULLs go; undefined for Postgres's default (last ascending, first descending). */
  nullsFirst?: boolean;
  /** An operator class other than the type's default. */
  opclass?: string;
}

export interface IndexShape {
  name: string;
  unique: boolean;
  method: string;
  keys: IndexKey[];
  /** A partial index's predicate, in `pg_get_expr()`'s words. */
  where?: string;
}

/** An index on plain columns. */
export function columnIndex(name: string, columns: readonly string[], unique = false): IndexShape {
  return { name, unique, method: 'btree', keys: columns.map((column) => ({ column })) };
}

export interface TableShape {
  name: string;
  /** The namespace, or undefined for unqualified names (the session's `current_schema()`). */
  schema: string | undefined;
  columns: ColumnShape[];
  constraints: ConstraintShape[];
  indexes: IndexShape[];
  /** Names of the sequences that serial columns create. */
  sequences: string[];
}

/**
 * A named set of tables, as `createAsyncmqSchema` returns it: besides the tables it may hold
 * other things (the namespace's `pgSchema`), which are not tables and are skipped.
 */
export type TableSet = object;

/** The tables of a set, in its order; everything else in it (a `pgSchema`) left out. */
export function tablesOf(tables: TableSet): PgTable[] {
  return Object.values(tables).filter((value): value is PgTable => is(value, PgTable));
}

const dialect = new PgDialect();

/** Postgres prints an identifier bare when it can; ours always can, but others' may not. */
export function pgIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualifiedName(schema: string | undefined, name: string): string {
  return schema === undefined ? quoteIdent(name) : `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

const SERIAL_TYPES: Record<string, string> = { serial: 'integer', bigserial: 'bigint', smallserial: 'smallint' };

/** The type as `format_type()` prints it (`integer` for `serial`, `timestamp without time zone`). */
function formattedType(sqlType: string): string {
  if (SERIAL_TYPES[sqlType]) return SERIAL_TYPES[sqlType];
  const ts = /^(timestamp|time)(\(\d+\))?( with time zone)?$/.exec(sqlType);
  if (ts) return `${ts[1]}${ts[2] ?? ''} ${ts[3] ? 'with' : 'without'} time zone`;
  return sqlType;
}

function renderDefault(column: PgColumn, table: string): string | undefined {
  const value = column.default;
  if (!column.hasDefault || value === undefined) return undefined;
  if (is(value, SQL)) {
    const query = dialect.sqlToQuery(value);
    if (query.params.length === 0) return query.sql;
  } else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
    return String(value);
  }
  throw new AsyncmqPostgresError(
    'ASYNCMQ_INVALID_SETTING',
    `column ${table}.${column.name}: this default cannot be rendered to SQL by asyncmq-postgres`,
  );
}

/** An index expression or predicate as SQL with its literals inline: an index has no parameters. */
function expressionText(value: SQL, refuse: (why: string) => never): string {
  const query = dialect.sqlToQuery(value, 'indexes');
  if (query.params.length > 0) refuse('an expression or predicate with parameters; write its values into the SQL');
  return normalizeSql(query.sql);
}

/** The shape of one Drizzle table; `namespace` stands in where the table has no schema of its own. */
export function describeTable(table: PgTable, namespace?: string): TableShape {
  const config = getTableConfig(table);
  const pkColumns = new Set(config.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name)));
  const names = (cols: readonly { name: string }[]) => cols.map((c) => c.name);

  const columns = config.columns.map((column): ColumnShape => {
    // drizzle-orm 1.0 keeps an array's dimensions beside its element type (`text` plus 1);
    // 0.45's array column prints them itself (`text[]`) and has no such field.
    const dimensions = (column as { dimensions?: number }).dimensions ?? 0;
    const sqlType = column.getSQLType() + '[]'.repeat(dimensions);
    const serial = sqlType in SERIAL_TYPES;
    return {
      name: column.name,
      sqlType,
      type: formattedType(sqlType),
      notNull: column.notNull || column.primary || serial || pkColumns.has(column.name),
      default: serial ? `nextval('${config.name}_${column.name}_seq'::regclass)` : renderDefault(column, config.name),
      serial,
    };
  });

  const uniqueKind = (notDistinct: boolean): ConstraintShape['kind'] => (notDistinct ? 'UNIQUE NULLS NOT DISTINCT' : 'UNIQUE');
  const constraints: ConstraintShape[] = [
    ...config.columns
      .filter((c) => c.primary)
      .map((c) => ({ name: `${config.name}_pkey`, kind: 'PRIMARY KEY' as const, columns: [c.name] })),
    ...config.primaryKeys.map((pk) => ({ name: pk.getName(), kind: 'PRIMARY KEY' as const, columns: names(pk.columns) })),
    // Drizzle names every unique constraint (`<table>_<columns>_unique` unless told otherwise).
    ...config.columns
      .filter((c) => c.isUnique)
      .map((c) => ({
        name: c.uniqueName!,
        kind: uniqueKind(c.uniqueType === 'not distinct'),
        columns: [c.name],
      })),
    ...config.uniqueConstraints.map((u) => ({
      name: u.getName()!,
      kind: uniqueKind(u.nullsNotDistinct),
      columns: names(u.columns),
    })),
  ];

  const indexes = config.indexes.map((index): IndexShape => {
    const { name, columns: keys, unique, method, where } = index.config;
    const refuse = (why: string): never => {
      throw new AsyncmqPostgresError('ASYNCMQ_INVALID_SETTING', `index ${name ?? '(unnamed)'} on ${config.name}: ${why}`);
    };
    if (!name) refuse('indexes must be named');
    return {
      name: name!,
      unique,
      method: method ?? 'btree',
      keys: keys.map((key): IndexKey => {
        // Parentheses around the whole key are how it must be written for drizzle-kit, not part of it.
        if (is(key, SQL)) return { expression: withoutOuterParentheses(expressionText(key, refuse)) };
        if (!is(key, IndexedColumn) || typeof key.name !== 'string') return refuse('a key is neither a column nor SQL');
        const options = key.indexConfig ?? {};
        return {
          column: key.name,
          ...(options.order === 'desc' ? { desc: true } : {}),
          // Drizzle says `last` when nothing was asked, which for a descending key is not Postgres's default.
          ...(options.nulls === 'first' ? { nullsFirst: true } : options.order === 'desc' ? { nullsFirst: false } : {}),
          ...(options.opClass ? { opclass: options.opClass } : {}),
        };
      }),
      ...(where ? { where: expressionText(where, refuse) } : {}),
    };
  });

  return {
    name: config.name,
    schema: config.schema ?? namespace,
    columns,
    constraints,
    indexes,
    sequences: columns.filter((c) => c.serial).map((c) => `${config.name}_${c.name}_seq`),
  };
}

export function describeTables(tables: TableSet, namespace?: string): TableShape[] {
  return tablesOf(tables).map((table) => describeTable(table, namespace));
}

/** Every relation name a table brings into its namespace: itself, its indexes, its sequences. */
export function relationNames(shape: TableShape): string[] {
  return [shape.name, ...shape.constraints.map((c) => c.name), ...shape.indexes.map((i) => i.name), ...shape.sequences];
}

/**
 * Refuses names Postgres would truncate or that would collide. A name over 63 bytes is cut
 * silently, so `idx_<jobs>_status` and `idx_<jobs>_delay_until` can end up the same name and
 * `IF NOT EXISTS` would skip an index; the error gives the longest table name that fits.
 */
export function checkDerivedNames(settingOf: Partial<Record<keyof AsyncmqSettings, PgTable>>): void {
  const owner = new Map<string, string>();
  for (const [key, table] of Object.entries(settingOf) as [keyof AsyncmqSettings, PgTable][]) {
    const shape = describeTable(table);
    const names = relationNames(shape);
    const longest = names.reduce((a, b) => (byteLength(b) > byteLength(a) ? b : a));
    const extra = byteLength(longest) - byteLength(shape.name);
    if (byteLength(longest) > MAX_IDENTIFIER_BYTES) {
      throw new AsyncmqPostgresError(
        'ASYNCMQ_INVALID_NAME',
        `${describeSetting(key)} is ${byteLength(shape.name)} bytes long, so the name ${longest} derived from it ` +
          `would exceed Postgres's ${MAX_IDENTIFIER_BYTES}-byte limit and be truncated; use at most ${MAX_IDENTIFIER_BYTES - extra} bytes`,
        { setting: key },
      );
    }
    for (const name of names) {
      const other = owner.get(name);
      if (other && other !== shape.name) {
        throw new AsyncmqPostgresError(
          'ASYNCMQ_INVALID_NAME',
          `${describeSetting(key)}: the name ${name} would be used by both ${other} and ${shape.name}`,
          { setting: key },
        );
      }
      owner.set(name, shape.name);
    }
  }
}

/** A constraint as `pg_get_constraintdef()` prints it: `PRIMARY KEY (id)`. */
export function constraintDefinition(c: ConstraintShape): string {
  return `${c.kind} (${c.columns.map(pgIdent).join(', ')})`;
}

/** An expression as an index definition shows it: bare when it reads as a function call, else in parentheses. */
export function indexExpression(sql: string, functionLike: boolean): string {
  return functionLike ? sql : `(${sql})`;
}

/** Whether `pg_get_indexdef()` would show an expression bare: a call whose parentheses close at its end. */
function readsAsCall(sql: string): boolean {
  const open = /^[A-Za-z_][A-Za-z0-9_$]*\(/.exec(sql);
  if (!open) return false;
  let depth = 0;
  let quoted = false;
  for (let i = open[0].length - 1; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'") quoted = !quoted;
    if (quoted) continue;
    if (c === '(') depth++;
    if (c === ')' && --depth === 0) return i === sql.length - 1;
  }
  return false;
}

/** One key as `pg_get_indexdef()` shows it: `created_at DESC`, `lower(job_id)`, `name text_pattern_ops`. */
export function indexKeyDefinition(key: IndexKey, options: { functionLike?: boolean; collation?: string } = {}): string {
  const base = key.column !== undefined ? pgIdent(key.column) : indexExpression(key.expression ?? '', options.functionLike ?? readsAsCall(key.expression ?? ''));
  const order = key.desc ? (key.nullsFirst === false ? ' DESC NULLS LAST' : ' DESC') : key.nullsFirst ? ' NULLS FIRST' : '';
  return `${base}${options.collation ? ` COLLATE ${options.collation}` : ''}${key.opclass ? ` ${key.opclass}` : ''}${order}`;
}

/**
 * What makes two indexes the same whatever their names, in `pg_get_indexdef()`'s words:
 * `USING btree (queue_name, created_at) WHERE (status = 'waiting'::text)`, with `UNIQUE ` in
 * front for a unique index.
 */
export function indexDefinition(i: IndexShape): string {
  return `${i.unique ? 'UNIQUE ' : ''}USING ${i.method} (${i.keys.map((k) => indexKeyDefinition(k)).join(', ')})${i.where ? ` WHERE ${i.where}` : ''}`;
}

export function renderCreateSchema(schema: string): string {
  return `CREATE SCHEMA ${quoteIdent(schema)}`;
}

/**
 * The statements name pg_catalog's types, functions and operators explicitly (schema/sql-text.ts),
 * so that they create the same columns, defaults and indexes whatever the search_path holds.
 */
export function renderCreateTable(shape: TableShape): string {
  const columns = shape.columns.map((c) => {
    const nullability = c.notNull ? ' NOT NULL' : '';
    const fallback = !c.serial && c.default !== undefined ? ` DEFAULT ${catalogQualified(c.default)}` : '';
    return `${quoteIdent(c.name)} ${catalogType(c.sqlType)}${nullability}${fallback}`;
  });
  const constraints = shape.constraints.map((c) => `CONSTRAINT ${quoteIdent(c.name)} ${c.kind} (${quoteList(c.columns)})`);
  return `CREATE TABLE ${qualifiedName(shape.schema, shape.name)} (\n  ${[...columns, ...constraints].join(',\n  ')}\n)`;
}

export function renderCreateIndex(
  shape: TableShape,
  index: IndexShape,
  options: { concurrently?: boolean; ifNotExists?: boolean } = {},
): string {
  const concurrently = options.concurrently ? 'CONCURRENTLY ' : '';
  const ifNotExists = options.ifNotExists ? 'IF NOT EXISTS ' : '';
  return (
    `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${concurrently}${ifNotExists}${quoteIdent(index.name)} ` +
    `ON ${qualifiedName(shape.schema, shape.name)} USING ${index.method} (${index.keys.map(renderKey).join(', ')})` +
    (index.where ? ` WHERE ${catalogQualified(index.where)}` : '')
  );
}

export function renderDropTable(shape: TableShape): string {
  // No CASCADE: an app's view or foreign key on these tables is not ours to drop.
  return `DROP TABLE IF EXISTS ${qualifiedName(shape.schema, shape.name)}`;
}

export function renderDropIndex(schema: string | undefined, name: string, options: { concurrently?: boolean } = {}): string {
  return `DROP INDEX ${options.concurrently ? 'CONCURRENTLY ' : ''}IF EXISTS ${qualifiedName(schema, name)}`;
}

/** One statement of a plan, with what it makes or removes (`table asyncmq_jobs`). */
export interface PlannedStatement {
  object: string;
  sql: string;
}

/**
 * What install runs, in order, given what exists: the schema if missing, then each missing
 * table followed by its indexes. Indexes missing from tables that already exist are not part
 * of the plan (see `planPendingIndexes`).
 */
export function planInstall(
  shapes: readonly TableShape[],
  existing: { namespace?: string | undefined; namespaceExists: boolean; tables: readonly string[] },
): PlannedStatement[] {
  const at = (name: string) => labelIn(existing.namespace, name);
  const plan: PlannedStatement[] = [];
  const schema = shapes[0]?.schema;
  if (!existing.namespaceExists && schema) plan.push({ object: `schema ${schema}`, sql: renderCreateSchema(schema) });
  for (const shape of inNamespace(shapes, existing.namespace)) {
    if (existing.tables.includes(shape.name)) continue;
    plan.push({ object: `table ${at(shape.name)}`, sql: renderCreateTable(shape) });
    for (const index of shape.indexes) plan.push({ object: `index ${at(index.name)}`, sql: renderCreateIndex(shape, index) });
  }
  return plan;
}

export function planDrop(shapes: readonly TableShape[], existing: { namespace?: string | undefined; tables: readonly string[] }): PlannedStatement[] {
  return inNamespace(shapes, existing.namespace)
    .filter((s) => existing.tables.includes(s.name))
    .map((s) => ({ object: `table ${labelIn(existing.namespace, s.name)}`, sql: renderDropTable(s) }));
}

/**
 * The shapes with unqualified names placed in `namespace`, once the catalog read has told which
 * namespace the session's search_path selects: what runs then names it, rather than leaving it
 * to the search_path again. Without a namespace (the SQL preview), the names stay unqualified.
 */
export function inNamespace(shapes: readonly TableShape[], namespace: string | undefined): TableShape[] {
  return shapes.map((shape) => (shape.schema !== undefined || namespace === undefined ? shape : { ...shape, schema: namespace }));
}

/** How a report names an object: `public.asyncmq_jobs`, or bare where the namespace is unknown. */
function labelIn(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}.${name}` : name;
}

/**
 * Builds an index on a table in use without blocking its writers: outside any transaction,
 * after dropping the INVALID leftover of an interrupted build if there is one. `IF NOT EXISTS`
 * lets a second builder, which waits on the table's lock, find the index made and stop.
 */
export function planConcurrentIndex({ shape, index, invalidName }: { shape: TableShape; index: IndexShape; invalidName?: string }): string[] {
  return [
    ...(invalidName ? [renderDropIndex(shape.schema, invalidName, { concurrently: true })] : []),
    renderCreateIndex(shape, index, { concurrently: true, ifNotExists: true }),
  ];
}

function renderKey(key: IndexKey): string {
  const base = key.column !== undefined ? quoteIdent(key.column) : `(${catalogQualified(key.expression ?? '')})`;
  const nulls = key.nullsFirst === undefined ? '' : key.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST';
  const opclass = key.opclass === undefined ? '' : ` ${key.opclass.includes('.') ? key.opclass : `pg_catalog.${key.opclass}`}`;
  return `${base}${opclass}${key.desc ? ' DESC' : ''}${nulls}`;
}

function quoteList(columns: readonly string[]): string {
  return columns.map(quoteIdent).join(', ');
}
