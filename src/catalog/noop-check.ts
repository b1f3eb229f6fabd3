/**
 * The startup's fast path: whether the catalog holds exactly the configured tables, so that a
 * restart, the common case, returns after its one catalog read without the full comparison.
 *
 * Pure, and deliberately written apart from the full comparison (src/catalog.ts) and its
 * judgements: it answers yes only to an exact match (every column's type, collation,
 * nullability, default and identity, every constraint, every index of the schema under its own
 * name with its definition, valid; a logged table with no trigger, no rule and no row-level
 * security) and no to anything else, even to a difference AsyncMQ works with, and
 * install then goes on to the full comparison. So it can never say "in shape" where the full
 * comparison would not; test/noop-check.test.ts plants each kind of difference to hold it to that.
 */
import { serialDefault, type CatalogState, type CatalogTable } from './compare.js';
import { constraintDefinition, indexDefinition, type TableShape } from '../schema/ddl.js';

export function exactlyInShape(shapes: readonly TableShape[], state: CatalogState): boolean {
  return state.namespaceExists && state.namespace !== null && shapes.every((shape) => tableInShape(shape, state));
}

function tableInShape(shape: TableShape, state: CatalogState): boolean {
  const table = state.tables.find((t) => t.name === shape.name);
  if (!table || table.kind !== 'r') return false;
  // What the schema never has, and the full comparison judges one by one.
  if (table.persistence !== 'p' || table.rowSecurity.enabled || table.hasTriggers || table.hasRules) return false;
  return columnsInShape(shape, table, state.namespace) && constraintsInShape(shape, table) && indexesInShape(shape, table);
}

function columnsInShape(shape: TableShape, table: CatalogTable, namespace: string | null): boolean {
  if (table.columns.length !== shape.columns.length) return false;
  return shape.columns.every((want) => {
    const have = table.columns.find((c) => c.name === want.name);
    if (!have || have.type !== want.type || have.collation !== undefined || have.notNull !== want.notNull || have.identity || have.generated !== undefined) return false;
    return want.serial ? serialDefault(namespace, `${shape.name}_${want.name}_seq`).test(have.default ?? '') : (have.default ?? undefined) === want.default;
  });
}

function constraintsInShape(shape: TableShape, table: CatalogTable): boolean {
  if (table.constraints.length !== shape.constraints.length) return false;
  return shape.constraints.every((want) => table.constraints.some((c) => c.name === want.name && c.definition === constraintDefinition(want)));
}

/**
 * Each index of the schema under its name, with its definition and valid. Other indexes only
 * speed queries up, unless unique: those are accepted only where a key of the schema stands behind them.
 */
function indexesInShape(shape: TableShape, table: CatalogTable): boolean {
  const wanted = shape.indexes.every((want) => table.indexes.some((i) => i.name === want.name && i.valid && i.definition === indexDefinition(want)));
  const keys = new Set(shape.constraints.map((c) => c.name));
  const uniqueExtra = table.indexes.some((i) => i.definition.startsWith('UNIQUE ') && !keys.has(i.name) && !shape.indexes.some((w) => w.name === i.name));
  return wanted && !uniqueExtra;
}
