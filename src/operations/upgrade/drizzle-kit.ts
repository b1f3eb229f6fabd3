/**
 * The upgrade for apps whose drizzle-kit migrations own the tables: the SQL body that replaces
 * what `drizzle-kit generate` wrote for a change of AsyncMQ schema version.
 *
 * What drizzle-kit generates for 0.2 → 0.8 (`DROP CONSTRAINT` the old key, `ADD CONSTRAINT` the
 * new) builds the new unique index under a lock that stops every writer, and its migrate runs
 * it in a transaction, where no index can be built concurrently. So the change itself is made
 * by this package's online upgrade (`asyncmq-postgres upgrade`: the new key's index built
 * concurrently, then attached while the old key is dropped, in one short transaction, so there
 * is always a key), run before `drizzle-kit migrate`. The migration drizzle-kit generated keeps
 * its snapshot, so a second `generate` finds nothing to do; its SQL is replaced by this body,
 * which changes nothing on a database the upgrade has moved and lets drizzle-kit record the
 * migration as applied:
 * - the tables already hold the new version: nothing to do;
 * - they hold the old one and the change only adds tables (0.1 to 0.2, 0.8 to 0.9), which
 *   locks nothing that exists, or the jobs table is empty (a database built from the
 *   migrations, in CI or on a new machine), where a new key builds at once: the change is made
 *   here, under the install lock;
 * - otherwise (a live queue the upgrade has not moved): it fails, changing nothing, with the
 *   command to run first, so drizzle-kit never records what did not happen.
 * One DO block, which drizzle-kit runs as one statement on both of its lines.
 */
import { AsyncmqPostgresError } from '../../errors.js';
import { resolveBackend } from '../../schema/backend.js';
import { planInstall, qualifiedName, renderCreateIndex, type TableShape } from '../../schema/ddl.js';
import { EQ, literal } from '../../schema/sql-text.js';
import { DEFAULT_NAMES, ENV_VARS, type ResolvedNames } from '../../config/settings.js';
import { compareVersions, parseSchemaVersion } from '../../config/versions.js';
import { lockKey } from '../locking.js';
import { planUpgrade, renderAttachKey, renderDropConstraint } from './plan.js';
import type { RenderSqlOptions } from '../render.js';

export interface DrizzleKitUpgradeOptions extends Pick<RenderSqlOptions, 'schema' | 'settings' | 'env'> {
  /** The version the migrations before this one made (`0.1`, or an AsyncMQ release such as `0.4.6`). */
  from: string;
}

const tableRef = (shape: TableShape) => `pg_catalog.to_regclass(${literal(qualifiedName(shape.schema, shape.name))})`;
const constraintExists = (shape: TableShape, name: string) =>
  `EXISTS (SELECT FROM pg_catalog.pg_constraint WHERE conrelid ${EQ} ${tableRef(shape)} AND conname ${EQ} ${literal(name)})`;

/** The upgrade command as the user runs it, with the flags that name these tables. */
function upgradeCommand(names: ResolvedNames): string {
  const flags: [string, string | undefined, string | undefined][] = [
    ['--schema-version', names.postgresSchemaVersion, undefined],
    ['--schema', names.postgresSchema, undefined],
    ['--jobs-table', names.postgresJobsTableName, DEFAULT_NAMES.postgresJobsTableName],
    ['--repeatables-table', names.postgresRepeatablesTableName, DEFAULT_NAMES.postgresRepeatablesTableName],
    ['--cancelled-jobs-table', names.postgresCancelledJobsTableName, DEFAULT_NAMES.postgresCancelledJobsTableName],
    ['--workers-heartbeat-table', names.postgresWorkersHeartbeatTableName, DEFAULT_NAMES.postgresWorkersHeartbeatTableName],
    ['--indexes', names.postgresIndexes, DEFAULT_NAMES.postgresIndexes],
  ];
  const given = flags.filter(([, value, fallback]) => value !== undefined && value !== fallback).map(([flag, value]) => `${flag} ${value}`);
  return `npx --no-install asyncmq-postgres upgrade ${given.join(' ')}`;
}

/** The body of drizzle-kit's migration for moving the tables from `from` to the configured version. */
export function renderDrizzleKitUpgradeSql(options: DrizzleKitUpgradeOptions): string {
  const backend = resolveBackend(options);
  const from = parseSchemaVersion(options.from, 'from (--from)');
  const to = backend.version;
  if (compareVersions(from, to) >= 0) {
    throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `from ${from} must be older than the configured ${to} (postgresSchemaVersion): there is nothing to upgrade`, {
      setting: 'postgresSchemaVersion',
    });
  }
  const steps = planUpgrade(backend, from, to);
  // Index changes between versions (the asyncmq-0.9 profile from 0.8 to 0.9) are install's
  // concurrent builds, not an upgrade step: not covered here, so refused rather than half done.
  for (const step of steps) {
    const before = backend.shapesOf(step.from) ?? [];
    for (const shape of backend.shapesOf(step.to) ?? []) {
      const old = before.find((s) => s.name === shape.name);
      if (old && JSON.stringify(old.indexes) !== JSON.stringify(shape.indexes)) {
        throw new AsyncmqPostgresError(
          'ASYNCMQ_USAGE',
          `the ${backend.names.postgresIndexes} index profile changes the indexes of ${shape.name} from ${step.from} to ${step.to}, which a drizzle-kit migration cannot build without blocking writers; ` +
            'upgrade with asyncmq-postgres upgrade and let drizzle-kit see the change with another profile, or use the seed or queue profile',
          { setting: 'postgresIndexes' },
        );
      }
    }
  }
  const jobs = backend.shapes.find((s) => s.name === backend.names.postgresJobsTableName)!;
  const added = steps.flatMap((s) => s.addTables);
  const keys = steps.flatMap((s) => s.addKeys);
  const dropped = steps.flatMap((s) => s.dropConstraints);
  const atTarget = [
    ...added.map((t) => `${tableRef(t)} IS NOT NULL`),
    ...keys.map((k) => constraintExists(k.table, k.constraint.name)),
    ...dropped.map((d) => `NOT ${constraintExists(d.table, d.name)}`),
  ];
  const atSource = [
    ...added.map((t) => `${tableRef(t)} IS NULL`),
    ...keys.map((k) => `NOT ${constraintExists(k.table, k.constraint.name)}`),
    ...dropped.map((d) => constraintExists(d.table, d.name)),
  ];
  // On an empty table a key's index builds at once: in the transaction, not concurrently.
  const change = steps.flatMap((step) => [
    ...planInstall(step.addTables, { namespaceExists: true, tables: [] }).map((s) => s.sql),
    ...step.addKeys.flatMap((key) => [renderCreateIndex(key.table, key.index), renderAttachKey(key)]),
    ...step.dropConstraints.map(({ table, name }) => renderDropConstraint(table, name)),
  ]);
  const namespace = backend.names.postgresSchema ?? 'public';
  const command = upgradeCommand(backend.names);
  // A new key on a table with rows is the online upgrade's: only an empty table takes it here.
  const onlyAdds = keys.length === 0 && dropped.length === 0;
  const message = onlyAdds
    ? `AsyncMQ's tables hold neither schema ${from} nor ${to}: bring them to ${to} before drizzle-kit migrate records this migration`
    : `AsyncMQ's tables hold schema ${from}, not ${to}, and the jobs table has rows: move them to ${to} online before drizzle-kit migrate records this migration`;
  const indent = (lines: string[], by: string) => lines.map((l) => `${by}${l}`).join('\n');
  return [
    `-- AsyncMQ schema ${from} to ${to}, written by asyncmq-postgres in place of what drizzle-kit generated: keep this`,
    "-- migration's snapshot, replace only its SQL. Run the online upgrade first on every database with a live queue,",
    `-- with ${ENV_VARS.asyncmqPostgresBackendUrl} set to it:`,
    `--   ${command}`,
    '-- then drizzle-kit migrate, which finds the change made and records the migration. On a database still at',
    `-- ${from}, a change that only adds tables, or one on an empty jobs table, is made here; anything else fails and`,
    '-- changes nothing.',
    'DO $asyncmq$',
    'DECLARE',
    "  lock_timeout_before pg_catalog.text := pg_catalog.current_setting('lock_timeout');",
    'BEGIN',
    `  IF ${atTarget.join(`\n     AND `)} THEN`,
    '    RETURN;',
    '  END IF;',
    `  IF ${atSource.join(`\n     AND `)}`,
    onlyAdds ? '  THEN' : `     AND NOT EXISTS (SELECT FROM ${qualifiedName(jobs.schema, jobs.name)}) THEN`,
    `    PERFORM pg_catalog.set_config('lock_timeout', '${backend.lockTimeoutMs}ms', true);`,
    `    PERFORM pg_catalog.pg_advisory_xact_lock(${lockKey(namespace)});`,
    indent(change.map((s) => `${s};`), '    '),
    "    PERFORM pg_catalog.set_config('lock_timeout', lock_timeout_before, true);",
    '    RETURN;',
    '  END IF;',
    `  RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state', MESSAGE = ${literal(message)},`,
    `    HINT = ${literal(`with ${ENV_VARS.asyncmqPostgresBackendUrl} set to this database, run: ${command}; then drizzle-kit migrate again`)};`,
    'END',
    '$asyncmq$;',
    '',
  ].join('\n');
}
