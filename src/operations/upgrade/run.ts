/**
 * Runs the upgrade steps against a live database. Every step reads the catalog again before it
 * acts and does only what is still missing, so an upgrade interrupted anywhere (between steps,
 * during the concurrent build, leaving an INVALID index) is finished by running it again.
 *
 * - One upgrader at a time: the whole upgrade runs under the namespace's index build lock (see
 *   index-builds.ts), which concurrent upgraders wait for, bounded by the lock timeout. One that
 *   finds the work done by the session it waited for changes nothing and says so; it never
 *   reports an upgrade it did not make.
 * - A new unique key is built as a unique index with CREATE INDEX CONCURRENTLY (writers go on),
 *   its session's timeouts lifted for the build only.
 * - The rest of a step (new tables, attaching the key, dropping the old one) runs in one short
 *   transaction under the namespace's install lock, like any install. The key swap needs an
 *   ACCESS EXCLUSIVE lock on the table for a moment, and every writer that comes after a
 *   waiting lock request queues behind it: so the lock is asked for in tries of at most
 *   SWAP_TRY_MS, each given up (rolled back to a savepoint) when it cannot be had, with pauses
 *   between them while writers go on, within the lock timeout in all.
 * - An index that already bears the new key's name is used only when it is exactly the key's
 *   (its definition: uniqueness, method, columns, order, operator classes, collations,
 *   predicate). Anything else there is refused before anything is changed, with the statement
 *   that clears the way; and the old key is dropped only after the new one, attached, is read
 *   back as the key in the same transaction.
 */
import type { CatalogState, CatalogTable } from '../../catalog/compare.js';
import { constraintDefinition, indexDefinition, inNamespace, planInstall, qualifiedName, quoteIdent } from '../../schema/ddl.js';
import { readBackendCatalog } from '../../catalog/detect.js';
import type { Link, Queryable, Session } from '../../connection/drivers/index.js';
import { AsyncmqPostgresError } from '../../errors.js';
import { awaitBuildLock, withLiftedTimeouts } from '../index-builds.js';
import { beginLocked } from '../locking.js';
import type { Step } from '../../connection/call.js';
import type { ResolvedBackend } from '../../schema/backend.js';
import type { SchemaVersion } from '../../config/versions.js';
import { planUpgrade, renderAttachKey, renderBuildKeyIndex, renderDropConstraint, type AddedKey, type UpgradeStep } from './plan.js';
import { lockTablesInTries } from './swap-lock.js';

export interface UpgradeOutcome {
  /** What this call created (`index x.y`, `constraint x.y`, `table x.y`); empty when another session did it all. */
  created: string[];
  /** What this call dropped (`constraint x.y`). */
  dropped: string[];
}

const tableIn = (state: CatalogState, name: string): CatalogTable | undefined => state.tables.find((t) => t.name === name);

function keyAttached(state: CatalogState, key: AddedKey): boolean {
  return tableIn(state, key.table.name)?.constraints.some((c) => c.name === key.constraint.name && c.definition === constraintDefinition(key.constraint)) ?? false;
}

function keyIndex(state: CatalogState, key: AddedKey) {
  return tableIn(state, key.table.name)?.indexes.find((i) => i.name === key.index.name);
}

/** What a step still has to do on the database as read. */
function stepWork(state: CatalogState, step: UpgradeStep) {
  return {
    tables: step.addTables.filter((t) => !tableIn(state, t.name)),
    keys: step.addKeys.filter((key) => !keyAttached(state, key)),
    drops: step.dropConstraints.filter(({ table, name }) => tableIn(state, table.name)?.constraints.some((c) => c.name === name)),
  };
}

const nothingLeft = (work: ReturnType<typeof stepWork>) => work.tables.length + work.keys.length + work.drops.length === 0;

export async function upgradeInPlace(
  sql: Link,
  backend: ResolvedBackend,
  run: Step,
  namespace: string,
  from: SchemaVersion,
): Promise<UpgradeOutcome> {
  // What runs names the namespace the catalog read resolved, not the search_path again.
  const placed = {
    shapesOf: (version: SchemaVersion) => {
      const shapes = backend.shapesOf(version);
      return shapes && inNamespace(shapes, namespace);
    },
  };
  const steps = planUpgrade(placed, from, backend.version);
  const read = (on: Queryable, relations = false) => run('reading the catalog', () => readBackendCatalog(on, backend, { relations }));
  // Before anything changes, and before waiting for anyone: a name the new keys need that
  // something else holds stops the upgrade here, with every table as it was.
  refuseKeyNameHolders(await read(sql, true), steps, namespace);

  const outcome: UpgradeOutcome = { created: [], dropped: [] };
  const needed = async () => {
    const state = await read(sql);
    return steps.some((step) => !nothingLeft(stepWork(state, step)));
  };
  const awaited = await awaitBuildLock(sql, run, namespace, { budgetMs: backend.lockTimeoutMs, needed }, async (session) => {
    // Another upgrader may have done part of it while this one waited, or left something in the way.
    refuseKeyNameHolders(await read(session, true), steps, namespace);
    for (const step of steps) {
      for (const key of step.addKeys) {
        if (await buildKeyIndex(session, backend, run, namespace, step, key)) outcome.created.push(`index ${namespace}.${key.index.name}`);
      }
      await finishStep(sql, backend, run, namespace, step, outcome);
    }
  });
  if (awaited.state === 'busy') {
    throw new AsyncmqPostgresError(
      'ASYNCMQ_LOCK_TIMEOUT',
      `timed out after ${backend.lockTimeoutMs} ms (postgresLockTimeout) waiting for another session's upgrade or index builds in ` +
        `${namespace} (upgrading to ${backend.version}); this call changed nothing. Run the upgrade again once they are done`,
    );
  }
  return outcome;
}

/**
 * Refuses, changing nothing, when a name a new key needs is held by anything but that key or
 * the unique index that is exactly the key's (built by an earlier run, or by a DBA): another
 * index (other columns, not unique, partial, another order or operator class, another method),
 * a constraint of another definition, or a relation of another table. Attached as the key,
 * such an index would give the table another key than AsyncMQ's ON CONFLICT needs, and the
 * old key would then be dropped. An INVALID index of the key's own definition is the leftover
 * of an interrupted build: it is dropped and built again, not refused.
 */
function refuseKeyNameHolders(state: CatalogState, steps: readonly UpgradeStep[], namespace: string): void {
  for (const step of steps) {
    for (const key of step.addKeys) {
      const table = `${namespace}.${key.table.name}`;
      const tableName = qualifiedName(namespace, key.table.name);
      const name = key.index.name;
      const needs =
        `upgrading to ${step.to} needs the name ${namespace}.${name} for the key ${constraintDefinition(key.constraint)} of ${table}, ` +
        `built as the unique index ${indexDefinition(key.index)}`;
      const refuse = (held: string, clear: string, keep?: string): never => {
        throw new AsyncmqPostgresError(
          'ASYNCMQ_NAME_CONFLICT',
          `${needs}; it is held by ${held}, which is not that key. Used as the key, it would give ${table} another key than AsyncMQ's ` +
            `ON CONFLICT (${key.constraint.columns.join(', ')}) needs, so nothing was changed. Clear the way, then run the upgrade again: ` +
            `${clear};${keep ? ` (or, to keep it under another name: ${keep};)` : ''}`,
        );
      };
      const actual = tableIn(state, key.table.name);
      const constraint = actual?.constraints.find((c) => c.name === name);
      if (constraint) {
        if (constraint.definition === constraintDefinition(key.constraint)) continue;
        refuse(
          `the constraint ${constraint.definition} of ${table}`,
          `ALTER TABLE ${tableName} DROP CONSTRAINT ${quoteIdent(name)}`,
          `ALTER TABLE ${tableName} RENAME CONSTRAINT ${quoteIdent(name)} TO ${quoteIdent(`${name}_old`)}`,
        );
      }
      const index = actual?.indexes.find((i) => i.name === name);
      if (index) {
        if (index.definition === indexDefinition(key.index)) continue;
        refuse(
          `the ${index.valid ? '' : 'INVALID '}index ${index.definition} of ${table}`,
          `DROP INDEX CONCURRENTLY IF EXISTS ${qualifiedName(namespace, name)}`,
          `ALTER INDEX ${qualifiedName(namespace, name)} RENAME TO ${quoteIdent(`${name}_old`)}`,
        );
      }
      const other = state.relations.find((r) => r.name === name);
      if (other) {
        const kind = RELATION_KINDS[other.kind] ?? { word: `relation (relkind ${other.kind})`, alter: 'ALTER TABLE' };
        const held = `the ${kind.word} ${namespace}.${name}${other.owner ? ` of table ${other.owner}` : ''}`;
        const rename = `${kind.alter} ${qualifiedName(namespace, name)} RENAME TO ${quoteIdent(`${name}_old`)}`;
        if (other.kind === 'i') refuse(held, `DROP INDEX CONCURRENTLY IF EXISTS ${qualifiedName(namespace, name)}`, rename);
        refuse(held, rename);
      }
    }
  }
}

/** How a relation that holds a name is called, and the statement that renames it. */
const RELATION_KINDS: Record<string, { word: string; alter: string }> = {
  r: { word: 'table', alter: 'ALTER TABLE' },
  p: { word: 'table', alter: 'ALTER TABLE' },
  i: { word: 'index', alter: 'ALTER INDEX' },
  I: { word: 'index', alter: 'ALTER INDEX' },
  S: { word: 'sequence', alter: 'ALTER SEQUENCE' },
  v: { word: 'view', alter: 'ALTER VIEW' },
  m: { word: 'materialized view', alter: 'ALTER MATERIALIZED VIEW' },
  f: { word: 'foreign table', alter: 'ALTER FOREIGN TABLE' },
  c: { word: 'type', alter: 'ALTER TYPE' },
};

/**
 * Builds the unique index that will carry a new key, unless the key or a valid index of its
 * definition is there already, on the build session (its lock held by upgradeInPlace), with
 * the session's timeouts lifted for the build. Returns whether this call built it.
 */
async function buildKeyIndex(session: Session, backend: ResolvedBackend, run: Step, namespace: string, step: UpgradeStep, key: AddedKey): Promise<boolean> {
  const state = await run('reading the catalog', () => readBackendCatalog(session, backend));
  if (keyAttached(state, key) || keyIndex(state, key)?.valid === true) return false;
  // Refused by refuseKeyNameHolders unless of the key's definition: an INVALID one is the
  // leftover of an interrupted build, dropped first.
  const invalid = keyIndex(state, key);
  await withLiftedTimeouts(session, run, async () => {
    for (const statement of renderBuildKeyIndex(key, invalid ? { dropInvalid: invalid.name } : {})) {
      // Watched, not timed: a build waits for other transactions and may run for hours.
      await run(`upgrading to ${step.to}: ${statement}`, () => session.unsafe(statement), 'long');
    }
  });
  return true;
}

/**
 * The step's transaction: new tables, the key attached, the old constraint dropped; nothing if
 * all is done. The table's lock is taken first, in tries (lockTablesInTries), and the catalog
 * read again under it, so that what is checked is what is changed.
 */
async function finishStep(sql: Link, backend: ResolvedBackend, run: Step, namespace: string, step: UpgradeStep, outcome: UpgradeOutcome): Promise<void> {
  if (nothingLeft(stepWork(await run('reading the catalog', () => readBackendCatalog(sql, backend)), step))) return;

  await beginLocked(sql, backend.lockTimeoutMs, run, namespace, async (tx) => {
    const read = (relations = false) => run('reading the catalog', () => readBackendCatalog(tx, backend, { relations }));
    let state = await read();
    let work = stepWork(state, step);
    if (nothingLeft(work)) return;
    const swapped = [...new Set([...work.keys.map((k) => k.table.name), ...work.drops.map((d) => d.table.name)])];
    if (swapped.length > 0) {
      await lockTablesInTries(tx, run, {
        namespace,
        tables: swapped,
        budgetMs: backend.lockTimeoutMs,
        purpose: `upgrading to ${step.to}: the key swap`,
      });
      state = await read(true);
      work = stepWork(state, step);
      refuseKeyNameHolders(state, [step], namespace);
    }
    // New tables with their indexes, from the plan install runs too.
    for (const statement of planInstall(work.tables, { namespace, namespaceExists: true, tables: [] })) {
      await run(`upgrading to ${step.to}: creating ${statement.object}`, () => tx.unsafe(statement.sql));
      outcome.created.push(statement.object);
    }
    for (const key of work.keys) {
      if (keyIndex(state, key)?.valid !== true) {
        throw new AsyncmqPostgresError(
          'ASYNCMQ_DATABASE_ERROR',
          `upgrading to ${step.to}: the index ${namespace}.${key.index.name} that carries the new key is gone or INVALID; nothing was changed, run the upgrade again`,
        );
      }
      await run(`upgrading to ${step.to}: attaching ${key.constraint.name}`, () => tx.unsafe(renderAttachKey(key)));
    }
    if (work.keys.length > 0) {
      // The old key goes only once the new one is read back as the key, in this transaction.
      const attached = await read();
      const wrong = work.keys.filter((key) => !keyAttached(attached, key));
      if (wrong.length > 0) {
        const found = (key: AddedKey) => tableIn(attached, key.table.name)?.constraints.find((c) => c.name === key.constraint.name)?.definition ?? 'nothing';
        throw new AsyncmqPostgresError(
          'ASYNCMQ_DATABASE_ERROR',
          `upgrading to ${step.to}: after attaching, ${wrong.map((key) => `${namespace}.${key.constraint.name} reads as ${found(key)}, not ${constraintDefinition(key.constraint)}`).join('; ')}; ` +
            'the transaction was rolled back and the old key kept',
        );
      }
      outcome.created.push(...work.keys.map((key) => `constraint ${namespace}.${key.constraint.name}`));
    }
    for (const { table, name } of work.drops) {
      await run(`upgrading to ${step.to}: dropping constraint ${name}`, () => tx.unsafe(renderDropConstraint(table, name)));
      outcome.dropped.push(`constraint ${namespace}.${name}`);
    }
  });
}
