/**
 * Drop: the package's own tables (their indexes and serial sequences go with them), in one
 * transaction under the namespace's lock, and nothing else: no CASCADE, no table of another shape.
 */
import type { Sql } from 'postgres';
import { compareCatalog, readCatalog } from './catalog.js';
import { planDrop } from './ddl.js';
import { beginLocked } from './locking.js';
import type { Step } from './pool.js';
import { existingOf, namespaceOf, refuseUnusable } from './refusals.js';
import type { ResolvedBackend } from './resolve.js';

export async function drop(sql: Sql, backend: ResolvedBackend, run: Step): Promise<{ namespace: string; dropped: string[] }> {
  const { shapes } = backend;
  const before = await run('reading the catalog', () => readCatalog(sql, shapes));
  const namespace = namespaceOf(before);
  const dropped: string[] = [];
  if (before.tables.length > 0) {
    await beginLocked(sql, backend.lockTimeoutMs, run, namespace, async (tx) => {
      const locked = await run('reading the catalog', () => readCatalog(tx, shapes));
      refuseUnusable(compareCatalog(shapes, locked), locked, 'drop');
      for (const statement of planDrop(shapes, existingOf(locked))) {
        await run(`dropping ${statement.object}`, () => tx.unsafe(statement.sql));
        dropped.push(statement.object);
      }
    });
  }
  return { namespace, dropped };
}
