/**
 * Drop: the package's own tables (their indexes and serial sequences go with them), in one
 * transaction under the namespace's lock, and nothing else: no CASCADE, no table of another shape.
 *
 * "Own" means every table under the configured names that has one of the known AsyncMQ
 * versions' shapes, whichever version is configured, so a database is emptied of the name set
 * it holds.
 *
 * Except what another AsyncMQ in the namespace may still use. Each AsyncMQ names its tables in
 * its own settings, which are not in the database: two apps configured with different jobs
 * tables and the default names for the rest share the repeatables, cancelled-jobs and
 * heartbeat tables, and nothing in the catalog tells them from two apps with name sets of
 * their own. So the rule is the one that loses nothing: while another jobs table (a table,
 * not of this name set, with every column of one) remains in the namespace, drop takes the
 * name set's jobs table only, and keeps each of its other tables, reported under `kept` with
 * the reason. `asyncmq_paused_queues` (AsyncMQ fixes its name) is certainly shared, by the same
 * rule. Once no other jobs table is left, a drop takes them all.
 */
import { compareCatalog, type CatalogState } from '../catalog/compare.js';
import { planDrop, type TableShape } from '../schema/ddl.js';
import { detectVersion, readBackendCatalog } from '../catalog/detect.js';
import { readTexts, type Link, type Queryable } from '../connection/drivers/index.js';
import { beginLocked } from './locking.js';
import { EQ, oneOf, op } from '../schema/sql-text.js';
import type { Step } from '../connection/call.js';
import { existingOf, namespaceOf, refuseReadOnly, refuseUnusable } from './refusals.js';
import { shapesByVersion, type ResolvedBackend } from '../schema/backend.js';
import { PAUSED_QUEUES_TABLE_NAME } from '../config/settings.js';
import type { SchemaVersion } from '../config/versions.js';

export async function drop(sql: Link, backend: ResolvedBackend, run: Step): Promise<{ namespace: string; dropped: string[]; kept: string[] }> {
  const before = await run('reading the catalog', () => readBackendCatalog(sql, backend));
  refuseReadOnly(before);
  const namespace = namespaceOf(before);
  const dropped: string[] = [];
  const kept: string[] = [];
  if (before.tables.length > 0) {
    await beginLocked(sql, backend.lockTimeoutMs, run, namespace, async (tx) => {
      const locked = await run('reading the catalog', () => readBackendCatalog(tx, backend));
      const shapes = ownTables(backend, locked);
      const jobs = backend.names.postgresJobsTableName;
      const mayShare = shapes.filter((s) => s.name !== jobs);
      const sharers = mayShare.length > 0 ? await run('reading the catalog', () => otherJobsTables(tx, backend, namespace)) : [];
      if (sharers.length > 0) for (const shape of mayShare) kept.push(`table ${namespace}.${shape.name} (${whyKept(shape.name, sharers, namespace)})`);
      const droppable = sharers.length > 0 ? shapes.filter((s) => s.name === jobs) : shapes;
      for (const statement of planDrop(droppable, existingOf(locked))) {
        await run(`dropping ${statement.object}`, () => tx.unsafe(statement.sql));
        dropped.push(statement.object);
      }
    });
  }
  return { namespace, dropped, kept };
}

/** Why a table of the name set stays while other jobs tables remain. */
function whyKept(table: string, sharers: readonly string[], namespace: string): string {
  const list = sharers.map((t) => `${namespace}.${t}`).join(', ');
  if (table === PAUSED_QUEUES_TABLE_NAME) return `still used by ${list}: AsyncMQ fixes its name`;
  return sharers.length === 1
    ? `${list} remains in ${namespace}, and the AsyncMQ that uses it may be configured with this table`
    : `${list} remain in ${namespace}, and an AsyncMQ that uses one of them may be configured with this table`;
}

/**
 * The shapes of the tables that are there, each in the version whose shape it has; refuses, with
 * the differences, a table under a configured name that has none of them (it may be someone's).
 */
function ownTables(backend: ResolvedBackend, state: CatalogState): TableShape[] {
  const versions = shapesByVersion(backend);
  const shapeIn = (version: SchemaVersion, name: string) => versions.find(([v]) => v === version)?.[1].find((s) => s.name === name);
  const own = detectVersion(backend, state).tables.flatMap(({ name, versions: matching }) => {
    // The configured version's shape where the table has it, else the newest it has.
    const version = matching.includes(backend.version) ? backend.version : matching.at(-1);
    const shape = version && shapeIn(version, name);
    if (shape) return [shape];
    // No known version's shape: refused, with its differences from the configured version (or the newest that has the table).
    const reference = shapeIn(backend.version, name) ?? [...versions].reverse().map(([v]) => shapeIn(v, name)).find(Boolean);
    if (reference) refuseUnusable(compareCatalog([reference], state), state, 'drop');
    // A table no version of these names has (asyncmq_paused_queues beside a jobs table name too
    // long for 0.9) is not the package's: left alone.
    return [];
  });
  // In the order of the newest version's tables: jobs first, as AsyncMQ drops them.
  const order = (versions.at(-1)?.[1] ?? backend.shapes).map((s) => s.name);
  return own.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/**
 * Other name sets' jobs tables in the namespace: tables, other than ours, that have every column
 * of a jobs table. Each of them may be an AsyncMQ that still uses the other tables of our set.
 */
async function otherJobsTables(tx: Queryable, backend: ResolvedBackend, namespace: string): Promise<string[]> {
  const jobs = backend.shapes.find((s) => s.name === backend.names.postgresJobsTableName)!;
  const columns = jobs.columns.map((c) => c.name);
  return readTexts(
    tx,
    `select c.relname::pg_catalog.text from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid ${EQ} c.relnamespace
     where n.nspname ${EQ} $1::pg_catalog.text and ${oneOf('c.relkind', ['r', 'p'], '"char"')}
       and not (c.relname ${EQ} any (pg_catalog.string_to_array($2::pg_catalog.text, ','::pg_catalog.text)))
       and (select pg_catalog.count(*) from pg_catalog.pg_attribute a
            where a.attrelid ${EQ} c.oid and a.attnum ${op('>')} 0 and not a.attisdropped
              and a.attname ${EQ} any (pg_catalog.string_to_array($3::pg_catalog.text, ','::pg_catalog.text))) ${EQ} $4::bigint
     order by 1`,
    [namespace, backend.catalogTables.join(','), columns.join(','), columns.length],
  );
}
