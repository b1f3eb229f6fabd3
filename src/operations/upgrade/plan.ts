/**
 * Pure: the upgrade from one AsyncMQ schema version to the next, derived from the two
 * versions' Drizzle tables (what the newer one adds or drops), and rendered to SQL.
 *
 * Each step is written so that nothing blocks the queue's writers for longer than a catalog
 * update: a new unique key is first built as a unique index with CREATE INDEX CONCURRENTLY,
 * outside any transaction, then attached as the constraint (`ADD CONSTRAINT ... USING INDEX`,
 * which only records it) in a short transaction that also drops the old one.
 */
import {
  columnIndex,
  qualifiedName,
  quoteIdent,
  renderCreateIndex,
  planInstall,
  renderDropIndex,
  type ConstraintShape,
  type IndexShape,
  type PlannedStatement,
  type TableShape,
} from '../../schema/ddl.js';
import { AsyncmqPostgresError } from '../../errors.js';
import type { ResolvedBackend } from '../../schema/backend.js';
import { SCHEMA_VERSIONS, versionsBetween, type SchemaVersion } from '../../config/versions.js';

/** A unique key a version adds to a table that already exists, and the index that carries it. */
export interface AddedKey {
  table: TableShape;
  constraint: ConstraintShape;
  index: IndexShape;
}

export interface UpgradeStep {
  from: SchemaVersion;
  to: SchemaVersion;
  /** Tables the version adds, created in the step's transaction. */
  addTables: TableShape[];
  /** Unique keys added to existing tables: built concurrently, then attached. */
  addKeys: AddedKey[];
  /** Constraints the version no longer has, dropped in the step's transaction. */
  dropConstraints: { table: TableShape; name: string }[];
}

function previousVersion(version: SchemaVersion): SchemaVersion {
  return SCHEMA_VERSIONS[SCHEMA_VERSIONS.indexOf(version) - 1]!;
}

function unsupported(from: SchemaVersion, to: SchemaVersion, what: string): never {
  throw new AsyncmqPostgresError('ASYNCMQ_INVALID_SETTING', `no upgrade step from schema ${from} to ${to}: ${what}`, {
    setting: 'postgresSchemaVersion',
  });
}

/** One step: what `to`'s tables have that `from`'s do not, for the same names. */
export function planStep(from: SchemaVersion, fromShapes: readonly TableShape[], to: SchemaVersion, toShapes: readonly TableShape[]): UpgradeStep {
  const step: UpgradeStep = { from, to, addTables: [], addKeys: [], dropConstraints: [] };
  for (const table of toShapes) {
    const before = fromShapes.find((s) => s.name === table.name);
    if (!before) {
      step.addTables.push(table);
      continue;
    }
    if (JSON.stringify(before.columns) !== JSON.stringify(table.columns)) unsupported(from, to, `the columns of ${table.name} change`);
    for (const constraint of table.constraints) {
      const old = before.constraints.find((c) => c.name === constraint.name);
      if (old && JSON.stringify(old) === JSON.stringify(constraint)) continue;
      if (old || constraint.kind === 'PRIMARY KEY') unsupported(from, to, `constraint ${constraint.name} of ${table.name} changes`);
      step.addKeys.push({
        table,
        constraint,
        index: columnIndex(constraint.name, constraint.columns, true),
      });
    }
    for (const constraint of before.constraints) {
      if (!table.constraints.some((c) => c.name === constraint.name)) step.dropConstraints.push({ table, name: constraint.name });
    }
  }
  if (fromShapes.some((s) => !toShapes.some((t) => t.name === s.name))) unsupported(from, to, 'a table is removed');
  return step;
}

/** The steps from `from` to `to`, oldest first. */
export function planUpgrade(backend: Pick<ResolvedBackend, 'shapesOf'>, from: SchemaVersion, to: SchemaVersion): UpgradeStep[] {
  return versionsBetween(from, to).map((version) => {
    const previous = previousVersion(version);
    const fromShapes = backend.shapesOf(previous);
    const toShapes = backend.shapesOf(version);
    if (!fromShapes || !toShapes) unsupported(previous, version, 'the configured names do not fit both versions');
    return planStep(previous, fromShapes, version, toShapes);
  });
}

/** Builds a key's index without blocking writers; `IF NOT EXISTS` lets a second builder stop. */
export function renderBuildKeyIndex(key: AddedKey, options: { dropInvalid?: string } = {}): string[] {
  return [
    ...(options.dropInvalid ? [renderDropIndex(key.table.schema, options.dropInvalid, { concurrently: true })] : []),
    renderCreateIndex(key.table, key.index, { concurrently: true, ifNotExists: true }),
  ];
}

export function renderAttachKey(key: AddedKey): string {
  const name = quoteIdent(key.constraint.name);
  return `ALTER TABLE ${qualifiedName(key.table.schema, key.table.name)} ADD CONSTRAINT ${name} ${key.constraint.kind} USING INDEX ${name}`;
}

export function renderDropConstraint(table: TableShape, name: string): string {
  return `ALTER TABLE ${qualifiedName(table.schema, table.name)} DROP CONSTRAINT ${quoteIdent(name)}`;
}

/** A step as statements: those to run first, each on its own outside a transaction, then the transaction's. */
export interface RenderedStep {
  from: SchemaVersion;
  to: SchemaVersion;
  concurrent: string[];
  transaction: PlannedStatement[];
}

/** The whole step on a database that holds exactly `from`'s tables. */
export function renderStep(step: UpgradeStep): RenderedStep {
  return {
    from: step.from,
    to: step.to,
    concurrent: step.addKeys.flatMap((key) => renderBuildKeyIndex(key)),
    transaction: [
      ...planInstall(step.addTables, { namespaceExists: true, tables: [] }),
      ...step.addKeys.map((key) => ({ object: `constraint ${key.constraint.name}`, sql: renderAttachKey(key) })),
      ...step.dropConstraints.map(({ table, name }) => ({ object: `constraint ${name} (dropped)`, sql: renderDropConstraint(table, name) })),
    ],
  };
}
