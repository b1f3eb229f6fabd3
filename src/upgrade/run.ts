/**
 * Runs the upgrade steps against a live database. Every step reads the catalog again before it
 * acts and does only what is still missing, so an upgrade interrupted anywhere (between steps,
 * during the concurrent build, leaving an INVALID index) is finished by running it again, and
 * concurrent upgraders serialize and all succeed:
 * - a new unique key's index is built by one session at a time, under the namespace's
 *   session-level index-build lock, which the others wait for (bounded by the lock timeout);
 * - the rest of a step (new tables, attaching the key, dropping the old one) runs in one short
 *   transaction under the namespace's install lock, like any install.
 */
import type { Sql } from 'postgres';
import type { CatalogState, CatalogTable } from '../catalog.js';
import { constraintDefinition, indexDefinition, renderCreateIndex, renderCreateTable } from '../ddl.js';
import { readBackendCatalog } from '../detect.js';
import { AsyncmqPostgresError } from '../errors.js';
import { beginLocked } from '../locking.js';
import type { Step } from '../pool.js';
import { lockKey, type ResolvedBackend } from '../resolve.js';
import type { SchemaVersion } from '../versions.js';
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
  sql: Sql,
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
 * already. Returns whether this call built it.
 */
async function buildKeyIndex(sql: Sql, backend: ResolvedBackend, run: Step, namespace: string, step: UpgradeStep, key: AddedKey): Promise<boolean> {
  const needed = (state: CatalogState) => !keyAttached(state, key) && keyIndex(state, key)?.valid !== true;
  if (!needed(await run('reading the catalog', () => readBackendCatalog(sql, backend)))) return false;
  const session = await sql.reserve();
  const lock = lockKey(namespace, 'index-build');
  try {
    // The build waits for transactions in its way at most as long as any lock wait.
    await session.unsafe(`SELECT set_config('lock_timeout', '${backend.lockTimeoutMs}ms', false)`);
    // A role-level statement_timeout would cancel a long build and leave an INVALID index.
    await session.unsafe(`SELECT set_config('statement_timeout', '0', false)`);
    await run(`waiting for the index-build lock of namespace ${namespace} (another upgrade is building ${key.index.name})`, () =>
      pollLock(session, lock, backend.lockTimeoutMs),
    );
    try {
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
        await run(`upgrading to ${step.to}: ${statement}`, () => session.unsafe(statement));
      }
      return true;
    } finally {
      await session.unsafe(`SELECT pg_advisory_unlock(${lock})`);
    }
  } finally {
    session.release();
  }
}

/**
 * Takes a session-level advisory lock by polling. Not `pg_advisory_lock()`: a session waiting
 * inside that statement holds a snapshot, and the holder's CREATE INDEX CONCURRENTLY waits for
 * every such snapshot to end, a deadlock that Postgres resolves by failing one of them.
 */
async function pollLock(session: Sql, key: string, timeoutMs: number): Promise<void> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
    const [{ locked }] = (await session.unsafe(`SELECT pg_try_advisory_lock(${key}) AS locked`)) as unknown as [{ locked: boolean }];
    if (locked) return;
    if (Date.now() + pause > deadline) {
      throw Object.assign(new Error(`the lock was not free within ${timeoutMs} ms`), { code: '55P03' });
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** The step's transaction: new tables, the key attached, the old constraint dropped; nothing if all is done. */
async function finishStep(sql: Sql, backend: ResolvedBackend, run: Step, namespace: string, step: UpgradeStep, outcome: UpgradeOutcome): Promise<void> {
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
    for (const table of work.tables) {
      await run(`upgrading to ${step.to}: creating table ${namespace}.${table.name}`, () => tx.unsafe(renderCreateTable(table)));
      outcome.created.push(`table ${namespace}.${table.name}`);
      for (const index of table.indexes) {
        await run(`upgrading to ${step.to}: creating index ${namespace}.${index.name}`, () => tx.unsafe(renderCreateIndex(table, index)));
        outcome.created.push(`index ${namespace}.${index.name}`);
      }
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
