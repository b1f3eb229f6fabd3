/**
 * Runs the upgrade steps against a live database. Every step reads the catalog again before it
 * acts and does only what is still missing, so an upgrade interrupted anywhere (between steps,
 * during the concurrent build, leaving an INVALID index) is finished by running it again, and
 * concurrent upgraders serialize and all succeed:
 * - a new unique key's index is built by one session at a time, the namespace's index-building
 *   session (see index-builds.ts), which the others wait for (bounded by the lock timeout);
 * - the rest of a step (new tables, attaching the key, dropping the old one) runs in one short
 *   transaction under the namespace's install lock, like any install.
 */
import type { CatalogState, CatalogTable } from '../../catalog/compare.js';
import { constraintDefinition, indexDefinition, planInstall } from '../../schema/ddl.js';
import { readBackendCatalog } from '../../catalog/detect.js';
import type { Link } from '../../connection/drivers/index.js';
import { AsyncmqPostgresError } from '../../errors.js';
import { withBuildSession } from '../index-builds.js';
import { beginLocked } from '../locking.js';
import type { Step } from '../../connection/call.js';
import type { ResolvedBackend } from '../../schema/backend.js';
import type { SchemaVersion } from '../../config/versions.js';
import { planUpgrade, renderAttachKey, renderBuildKeyIndex, renderDropConstraint, type AddedKey, type UpgradeStep } from './plan.js';

export interface UpgradeOutcome {
  created: string[];
  dropped: string[];
}

const tableIn = (state: CatalogState, name: string): CatalogTable | undefined => state.tables.find((t) => t.name === name);

function keyAttached(state: CatalogState, key: AddedKey): boolean {
  return tableIn(state, key.table.name)?.constraints.some((c) => c.name === key.constraint.name && c.definition === constraintDefinition(key.constraint)) ?? false;
}

function keyIndex(state: CatalogState, key: AddedKey) {
  return tableIn(state, key.table.name)?.indexes.find((i) => i.name === key.index.name);
}

export async function upgradeInPlace(
  sql: Link,
  backend: ResolvedBackend,
  run: Step,
  namespace: string,
  from: SchemaVersion,
): Promise<UpgradeOutcome> {
  const outcome: UpgradeOutcome = { created: [], dropped: [] };
  for (const step of planUpgrade(backend, from, backend.version)) {
    for (const key of step.addKeys) {
      if (await buildKeyIndex(sql, backend, run, namespace, step, key)) outcome.created.push(`index ${namespace}.${key.index.name}`);
    }
    await finishStep(sql, backend, run, namespace, step, outcome);
  }
  return outcome;
}

/**
 * Builds the unique index that will carry a new key, unless the key or a valid index is there
 * already, as the namespace's one index-building session (withBuildSession: its lock, the role's
 * timeouts lifted for the build). Another upgrader holding that session is waited for, by
 * polling, at most the lock timeout. Returns whether this call built it.
 */
async function buildKeyIndex(sql: Link, backend: ResolvedBackend, run: Step, namespace: string, step: UpgradeStep, key: AddedKey): Promise<boolean> {
  const needed = (state: CatalogState) => !keyAttached(state, key) && keyIndex(state, key)?.valid !== true;
  const deadline = backend.lockTimeoutMs > 0 ? Date.now() + backend.lockTimeoutMs : Infinity;
  for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
    if (!needed(await run('reading the catalog', () => readBackendCatalog(sql, backend)))) return false;
    const outcome = await withBuildSession(sql, run, namespace, async (session) => {
      const state = await run('reading the catalog', () => readBackendCatalog(session, backend));
      if (!needed(state)) return false;
      const invalid = keyIndex(state, key);
      if (invalid && invalid.definition !== indexDefinition(key.index)) {
        throw new AsyncmqPostgresError(
          'ASYNCMQ_NAME_CONFLICT',
          `upgrading to ${step.to} needs the index name ${namespace}.${key.index.name} for ${indexDefinition(key.index)}, but an index of ` +
            `another definition holds it (${invalid.definition}); drop or rename it, then run the upgrade again`,
        );
      }
      for (const statement of renderBuildKeyIndex(key, invalid ? { dropInvalid: invalid.name } : {})) {
        await run(`upgrading to ${step.to}: ${statement}`, () => session.unsafe(statement), 'long');
      }
      return true;
    });
    if (outcome.locked) return outcome.value;
    // Not pg_advisory_lock(): a session waiting inside it holds a snapshot, and the holder's
    // CREATE INDEX CONCURRENTLY waits for every such snapshot to end, a deadlock.
    if (Date.now() + pause > deadline) {
      throw new AsyncmqPostgresError(
        'ASYNCMQ_LOCK_TIMEOUT',
        `timed out after ${backend.lockTimeoutMs} ms (postgresLockTimeout) waiting for another session's index builds in ${namespace} ` +
          `(upgrading to ${step.to} needs ${key.index.name}); run the upgrade again once they are done`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** The step's transaction: new tables, the key attached, the old constraint dropped; nothing if all is done. */
async function finishStep(sql: Link, backend: ResolvedBackend, run: Step, namespace: string, step: UpgradeStep, outcome: UpgradeOutcome): Promise<void> {
  const todo = (state: CatalogState) => ({
    tables: step.addTables.filter((t) => !tableIn(state, t.name)),
    keys: step.addKeys.filter((key) => !keyAttached(state, key)),
    drops: step.dropConstraints.filter(({ table, name }) => tableIn(state, table.name)?.constraints.some((c) => c.name === name)),
  });
  const empty = (work: ReturnType<typeof todo>) => work.tables.length + work.keys.length + work.drops.length === 0;
  if (empty(todo(await run('reading the catalog', () => readBackendCatalog(sql, backend))))) return;

  await beginLocked(sql, backend.lockTimeoutMs, run, namespace, async (tx) => {
    const state = await run('reading the catalog', () => readBackendCatalog(tx, backend));
    const work = todo(state);
    // New tables with their indexes, from the plan install runs too.
    for (const statement of planInstall(work.tables, { namespace, namespaceExists: true, tables: [] })) {
      await run(`upgrading to ${step.to}: creating ${statement.object}`, () => tx.unsafe(statement.sql));
      outcome.created.push(statement.object);
    }
    for (const key of work.keys) {
      if (keyIndex(state, key)?.valid !== true) {
        throw new AsyncmqPostgresError(
          'ASYNCMQ_DATABASE_ERROR',
          `upgrading to ${step.to}: the index ${namespace}.${key.index.name} that carries the new key is gone or INVALID; run the upgrade again`,
        );
      }
      await run(`upgrading to ${step.to}: attaching ${key.constraint.name}`, () => tx.unsafe(renderAttachKey(key)));
      outcome.created.push(`constraint ${namespace}.${key.constraint.name}`);
    }
    for (const { table, name } of work.drops) {
      await run(`upgrading to ${step.to}: dropping constraint ${name}`, () => tx.unsafe(renderDropConstraint(table, name)));
      outcome.dropped.push(`constraint ${namespace}.${name}`);
    }
  });
}
