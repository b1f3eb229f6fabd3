/**
 * AsyncMQ's own SQL, verbatim (fixtures/): the seed's (AsyncMQ 0.1, from its documentation) and
 * the installer's at the newest release of each later schema version, with AsyncMQ's
 * `{settings.postgres_*_table_name}` placeholders filled in. The reference every comparison is
 * made against, and the "seed's approach" the benchmarks measure.
 */
import { readFileSync } from 'node:fs';
import type { SchemaVersion } from '../../src/config/versions.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

export interface SeedNames {
  jobs?: string;
  repeatables?: string;
  cancelledJobs?: string;
  workersHeartbeat?: string;
}

function fill(text: string, names: SeedNames): string {
  return text
    .replaceAll('{settings.postgres_jobs_table_name}', names.jobs ?? 'asyncmq_jobs')
    .replaceAll('{settings.postgres_repeatables_table_name}', names.repeatables ?? 'asyncmq_repeatables')
    .replaceAll('{settings.postgres_cancelled_jobs_table_name}', names.cancelledJobs ?? 'asyncmq_cancelled_jobs')
    .replaceAll('{settings.postgres_workers_heartbeat_table_name}', names.workersHeartbeat ?? 'asyncmq_workers_heartbeat');
}

const file = (version: SchemaVersion, mode: 'install' | 'drop') => (version === '0.1' ? `seed-${mode}.sql` : `asyncmq-${version}-${mode}.sql`);

/** AsyncMQ's install SQL for a schema version as one script (run with `sql.unsafe`, simple protocol). */
export function asyncmqInstallSql(version: SchemaVersion, names: SeedNames = {}): string {
  return fill(fixture(file(version, 'install')), names);
}

export function asyncmqDropSql(version: SchemaVersion, names: SeedNames = {}): string {
  return fill(fixture(file(version, 'drop')), names);
}

/** The seed's install SQL as one script (run with `sql.unsafe`, simple protocol). */
export function seedInstallSql(names: SeedNames = {}): string {
  return asyncmqInstallSql('0.1', names);
}

export function seedDropSql(names: SeedNames = {}): string {
  return asyncmqDropSql('0.1', names);
}

/** The seed's six statements, one by one, as AsyncMQ's installer executes them. */
export function seedInstallStatements(names: SeedNames = {}): string[] {
  return seedInstallSql(names)
    .split(';')
    .map((s) => s.replace(/--.*$/gm, '').trim())
    .filter(Boolean);
}
