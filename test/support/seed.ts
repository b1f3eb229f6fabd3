/**
 * AsyncMQ's own SQL, verbatim from its documentation (fixtures/), with its
 * `{settings.postgres_*_table_name}` placeholders filled in: the reference every comparison
 * is made against, and the "seed's approach" the benchmarks measure.
 */
import { readFileSync } from 'node:fs';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

export interface SeedNames {
  jobs?: string;
  repeatables?: string;
  cancelledJobs?: string;
}

function fill(text: string, names: SeedNames): string {
  return text
    .replaceAll('{settings.postgres_jobs_table_name}', names.jobs ?? 'asyncmq_jobs')
    .replaceAll('{settings.postgres_repeatables_table_name}', names.repeatables ?? 'asyncmq_repeatables')
    .replaceAll('{settings.postgres_cancelled_jobs_table_name}', names.cancelledJobs ?? 'asyncmq_cancelled_jobs');
}

/** The seed's install SQL as one script (run with `sql.unsafe`, simple protocol). */
export function seedInstallSql(names: SeedNames = {}): string {
  return fill(fixture('seed-install.sql'), names);
}

export function seedDropSql(names: SeedNames = {}): string {
  return fill(fixture('seed-drop.sql'), names);
}

/** The seed's six statements, one by one, as AsyncMQ's installer executes them. */
export function seedInstallStatements(names: SeedNames = {}): string[] {
  return seedInstallSql(names)
    .split(';')
    .map((s) => s.replace(/--.*$/gm, '').trim())
    .filter(Boolean);
}
