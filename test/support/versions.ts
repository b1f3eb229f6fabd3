/**
 * For the version tests: databases made by AsyncMQ's own installer SQL, filled with rows, their
 * rows read back, and each version's reference catalog (made once per test file).
 */
import type { SchemaVersion } from '../../src/config/versions.js';
import { createDatabase, type TestDatabase } from './db.js';
import { asyncmqInstallSql } from './seed.js';
import { snapshot, type Snapshot } from './snapshot.js';
export { failure } from './failure.js';

export const at = (version: SchemaVersion) => ({ env: {}, settings: { postgresSchemaVersion: version } });


/** A database made by AsyncMQ's own installer SQL of `version`, in `namespace` when given. */
export async function asyncmqDatabase(version: SchemaVersion, names = {}, namespace?: string): Promise<TestDatabase> {
  const db = await createDatabase();
  const script = asyncmqInstallSql(version, names);
  await db.sql.unsafe(namespace ? `create schema ${namespace}; set search_path to ${namespace}; ${script}; reset search_path` : script);
  return db;
}

/** Jobs in two queues, a repeatable, a cancellation and, where the table exists, a heartbeat and a paused queue. */
export async function fill(db: TestDatabase, version: SchemaVersion): Promise<void> {
  await db.sql.unsafe(`
    insert into asyncmq_jobs (queue_name, job_id, data, status)
      select 'q' || (i % 2), 'job-' || i, jsonb_build_object('id', 'job-' || i, 'task', 't'), 'waiting' from generate_series(1, 50) i;
    insert into asyncmq_repeatables (queue_name, job_def, next_run) values ('q0', '{"task_id": "t", "every": 60}', now());
    insert into asyncmq_cancelled_jobs (queue_name, job_id) values ('q0', 'job-2')`);
  if (version !== '0.1') await db.sql.unsafe(`insert into asyncmq_workers_heartbeat values ('w1', '{q0,q1}', 4, extract(epoch from now()))`);
  if (version === '0.9') await db.sql.unsafe(`insert into asyncmq_paused_queues (queue_name) values ('q1')`);
}

/** Every row of every table, as text, so that "nothing lost" compares contents, not counts. */
export async function rows(db: TestDatabase, namespace = 'public'): Promise<Record<string, string[]>> {
  const tables = await db.sql<{ name: string }[]>`select relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where nspname = ${namespace} and relkind = 'r' order by 1`;
  const out: Record<string, string[]> = {};
  for (const { name } of tables) {
    const result = await db.sql.unsafe(`select t::text as row from ${namespace}.${name} t order by 1`);
    out[name] = result.map((r) => r.row as string);
  }
  return out;
}


const references = new Map<SchemaVersion, Promise<Snapshot>>();

/** The catalog AsyncMQ's own installer makes for `version` with default names. */
export function reference(version: SchemaVersion): Promise<Snapshot> {
  if (!references.has(version)) references.set(version, asyncmqDatabase(version).then((db) => snapshot(db.sql)));
  return references.get(version)!;
}
