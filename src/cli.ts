/**
 * The `asyncmq-postgres` command: install, upgrade, drop, status and sql, over the same settings and
 * environment variables as the library; flags override them.
 *
 * Exit codes: 0 done (status: installed and in shape); 1 install or upgrade did its work but
 * the schema is still not complete (an index left pending), or status found something missing,
 * breaking AsyncMQ, or a privilege the role lacks; 2 usage or configuration error, nothing
 * attempted; 3 the database refused or failed; 4 status found only differences AsyncMQ works
 * with (warnings).
 *
 * Unlike the API, which runs in every replica at startup and only reports an index missing
 * from a table in use, `install` builds it (CREATE INDEX CONCURRENTLY, which does not block the
 * queue's writers): whoever runs the command, a person or a deploy step, wants the schema complete.
 */
import { readFileSync } from 'node:fs';
import { AsyncmqPostgresError, printable } from './errors.js';
import type { PendingIndex } from './operations/index-builds.js';
import { runBackend, type PostgresBackendReport } from './operations/install.js';
import { renderLockStatements } from './operations/locking.js';
import { renderPostgresBackendSql, renderUpgradeSql } from './operations/render.js';
import { renderDrizzleKitUpgradeSql } from './operations/upgrade/drizzle-kit.js';
import { describeMatch } from './catalog/detect.js';
import { resolveBackend } from './schema/backend.js';
import { ENV_VARS, type AsyncmqSettings } from './config/settings.js';
import { describeKnown } from './config/versions.js';
import { inspect, readHeldVersion, type ItemStatus, type PostgresBackendStatus } from './operations/status.js';
import { normalize, readCommandLine } from './cli/args.js';
import { CONFIG_NAMES } from './cli/config-file.js';
import { readInvocation, SETTING_FLAGS, type Invocation } from './cli/invocation.js';
import { didYouMean, nearest } from './cli/suggest.js';
import { describePoison } from './cli/poison-report.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Where asyncmq.config.* is looked for, and --config is resolved from. Default process.cwd(). */
  cwd?: string;
}

const COMMANDS = {
  install: 'create the tables and indexes that are missing (safe at every start: a no-op when all is in place)',
  upgrade: 'move the tables from the AsyncMQ schema version they hold to the one chosen (--schema-version, its variable or the config), keeping every row',
  drop: "drop the package's tables, with their rows and indexes (needs --yes)",
  status: "report each table, column, constraint and index as present, missing or different, and the role's privileges",
  sql: 'print the install SQL (or --drop or --upgrade SQL) for the configured names, without connecting',
} as const;
type Command = keyof typeof COMMANDS;

const OPTIONS = {
  url: { type: 'string' },
  config: { type: 'string' },
  from: { type: 'string' },
  ...(Object.fromEntries(Object.keys(SETTING_FLAGS).map((flag) => [flag, { type: 'string' }])) as Record<keyof typeof SETTING_FLAGS, { type: 'string' }>),
  json: { type: 'boolean' },
  yes: { type: 'boolean' },
  drop: { type: 'boolean' },
  upgrade: { type: 'boolean' },
  'drizzle-kit': { type: 'boolean' },
  concurrently: { type: 'boolean' },
  role: { type: 'string' },
  // parseArgs on Node 20 has no negated options: the opt-out is a flag of its own.
  'no-index-builds': { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;


/** The flags that belong to one command only. */
const COMMAND_FLAGS: Record<Command, Partial<Record<CommandFlag, string>>> = {
  install: {
    'no-index-builds':
      'report indexes missing from tables that already exist, and exit 1, instead of\n' +
      "building them with CREATE INDEX CONCURRENTLY (the default: it does not block the\nqueue's writers)",
    concurrently: 'the former spelling of the default; accepted, changes nothing',
  },
  upgrade: {
    'no-index-builds': 'as for install',
    concurrently: 'the former spelling of the default; accepted, changes nothing',
  },
  drop: { yes: 'really drop (without it, say what would be dropped and exit 2)' },
  status: { role: 'check the privileges of this role, the one AsyncMQ runs as (default: the connecting role)' },
  sql: {
    drop: 'the drop SQL instead of the install SQL',
    upgrade: 'the upgrade SQL, from the version given by --from to the configured one',
    from: 'with --upgrade: the schema version the database holds (0.1, 0.2, 0.8 or an AsyncMQ release)',
    'drizzle-kit':
      'with --upgrade: the SQL to put in place of what drizzle-kit generate wrote for the\n' +
      'version change, in an app whose drizzle-kit migrations own the tables (see docs/drizzle.md)',
  },
};
const COMMAND_FLAG_NAMES = ['yes', 'drop', 'upgrade', 'from', 'drizzle-kit', 'concurrently', 'no-index-builds', 'role'] as const;
type CommandFlag = (typeof COMMAND_FLAG_NAMES)[number];

function usage(command?: Command): string {
  const head = command
    ? `Usage: asyncmq-postgres ${command} [options]\n\n${COMMANDS[command]}\n\n${Object.entries(COMMAND_FLAGS[command])
        .map(([flag, text]) => {
          const name = `${flag}${OPTIONS[flag as keyof typeof OPTIONS].type === 'string' ? ' <name>' : ''}`;
          return `  --${name.padEnd(16)} ${text.replaceAll('\n', `\n${' '.repeat(21)}`)}\n`;
        })
        .join('')}`
    : `Usage: asyncmq-postgres <command> [options]\n\nCommands:\n${Object.entries(COMMANDS)
        .map(([name, text]) => `  ${name.padEnd(8)} ${text}`)
        .join('\n')}\n\nRun asyncmq-postgres <command> --help for a command's own options.\n`;
  const names = Object.entries(SETTING_FLAGS)
    .map(([flag, [key, text]]) => `  --${`${flag} <value>`.padEnd(30)} ${text} (${ENV_VARS[key]})`)
    .join('\n');
  return `${head}
Options:
  --url <url>                      Postgres URL (${ENV_VARS.asyncmqPostgresBackendUrl}; prefer the variable:
                                   a --url shows the password in the process list and shell history)
  --config <file>                  the app's tables or settings: a file whose default export is
                                   createAsyncmqSchema(...) or { postgresSchemaVersion: '0.9', ... }
                                   (default: ${CONFIG_NAMES.slice(0, 2).join(', ')}, ... in the current directory);
                                   flags and ASYNCMQ_* variables override its settings
${names}
  --json                           print one JSON document
  --verbose                        print stack traces of errors
  -h, --help                       this help
  --version                        the package version

Exit codes: 0 done; 1 install or upgrade: done, but the schema is not complete (an index still
missing: --no-index-builds, another session building it, its table busy), status: something
missing, something that breaks AsyncMQ, or a privilege the role lacks; 2 usage or configuration
error, nothing attempted; 3 the database refused or failed; 4 status found only differences
AsyncMQ works with (warnings).
`;
}

function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Spellings users reach for, each to the flag it means: a setting's own name, with or without its prefix. */
const FLAG_ALIASES: Record<string, string> = Object.fromEntries(
  Object.entries(SETTING_FLAGS).flatMap(([flag, [key]]) => [normalize(key), normalize(key).replace(/^postgres-/, '')].map((alias) => [alias, flag])),
);

function parse(args: string[]) {
  return readCommandLine(args, OPTIONS, FLAG_ALIASES);
}

/**
 * The library's own no-URL error speaks of connectionString and settings, which a command-line
 * user cannot set: here the URL comes from the variable or --url. Checked after the settings,
 * as the library checks them first.
 */
function requireUrl(options: { connectionString?: string; settings?: AsyncmqSettings; env?: Record<string, string | undefined> }): void {
  if (options.connectionString || options.settings?.asyncmqPostgresBackendUrl || options.env?.[ENV_VARS.asyncmqPostgresBackendUrl]) return;
  throw new AsyncmqPostgresError(
    'ASYNCMQ_NO_URL',
    `no database URL: set ${ENV_VARS.asyncmqPostgresBackendUrl} (or pass --url, which shows the password in the process list and shell history)`,
    { setting: 'asyncmqPostgresBackendUrl' },
  );
}

/** Runs one command; returns the exit code. */
export async function main(args: string[], io: Io): Promise<number> {
  let json = args.includes('--json');
  let verbose = args.includes('--verbose');
  try {
    const { values, positionals } = parse(args);
    json = values.json === true;
    verbose = values.verbose === true;
    if (values.version) {
      io.stdout(`${version()}\n`);
      return 0;
    }
    const [command, ...extra] = positionals;
    if (command === 'help' || (command === undefined && values.help)) {
      io.stdout(usage());
      return 0;
    }
    if (command === undefined) {
      if (json) throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `no command given; commands: ${Object.keys(COMMANDS).join(', ')}`);
      io.stderr(usage());
      return 2;
    }
    if (!Object.hasOwn(COMMANDS, command)) {
      const known = Object.keys(COMMANDS);
      const guess = nearest(command, known);
      throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `unknown command ${JSON.stringify(command)}${guess.length ? didYouMean(guess) : ';'} The commands: ${known.join(', ')}`);
    }
    if (values.help) {
      io.stdout(usage(command as Command));
      return 0;
    }
    if (extra.length > 0) throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `unexpected argument ${JSON.stringify(extra[0])}: ${command} takes options only`);
    const misplaced = COMMAND_FLAG_NAMES.find((flag) => values[flag] !== undefined && values[flag] !== false && !(flag in COMMAND_FLAGS[command as Command]));
    if (misplaced) throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `--${misplaced} does not apply to ${command}`);
    if (values.concurrently && values['no-index-builds']) {
      throw new AsyncmqPostgresError('ASYNCMQ_USAGE', '--concurrently asks for the index builds that --no-index-builds declines; give one of them');
    }

    const run = await readInvocation({ values, env: io.env, cwd: io.cwd ?? process.cwd() });
    const { options } = run;
    // Every setting checked first, each named as the user gave it (flag, variable, config file).
    const backend = resolveBackend(options, run.labels);
    const out = (value: unknown, text: string) => io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : text);
    switch (command as Command) {
      case 'sql': {
        if (values.from !== undefined && !values.upgrade) throw new AsyncmqPostgresError('ASYNCMQ_USAGE', '--from applies to sql --upgrade only');
        if (values.upgrade && values.drop) throw new AsyncmqPostgresError('ASYNCMQ_USAGE', 'give --upgrade or --drop, not both');
        if (values['drizzle-kit'] && !values.upgrade) throw new AsyncmqPostgresError('ASYNCMQ_USAGE', '--drizzle-kit applies to sql --upgrade only');
        if (values['drizzle-kit']) {
          if (values.from === undefined) throw new AsyncmqPostgresError('ASYNCMQ_USAGE', 'sql --upgrade --drizzle-kit needs --from, the schema version the earlier migrations made');
          const text = renderDrizzleKitUpgradeSql({ ...options, from: values.from });
          out({ sql: text }, text);
          return 0;
        }
        if (values.upgrade) {
          if (backend.versionIsDefault && values.from !== undefined) {
            throw noTarget('sql --upgrade needs the AsyncMQ schema version to upgrade to', run.rerun('sql', { 'schema-version': '0.9' }, ['--upgrade', '--from', values.from]));
          }
          const { names, lockTimeoutMs, version } = backend;
          const steps = renderUpgradeSql({ ...options, upgrade: true, ...(values.from === undefined ? {} : { from: values.from }) });
          const lock = renderLockStatements(names.postgresSchema ?? 'public', lockTimeoutMs);
          const framed = steps.map((step) => ({ ...step, transaction: ['BEGIN', ...lock, ...step.transaction.map((t) => t.sql), 'COMMIT'] }));
          const text = framed.map((step) => {
            const build = step.concurrent.length
              ? "-- Builds the new key's index without blocking writers: run it on its own, outside a transaction.\n" +
                '-- If it fails, it leaves an INVALID index: drop that (DROP INDEX CONCURRENTLY) and run it again.\n' +
                step.concurrent.map((statement) => `${statement};\n`).join('')
              : '';
            return `-- ${step.from} to ${step.to}\n${build}${step.transaction.map((statement) => `${statement};\n`).join('')}`;
          });
          out(
            { from: steps[0]?.from ?? version, to: version, steps: framed },
            `-- Upgrade to AsyncMQ ${version}'s schema, step by step; nothing here drops a row.\n` +
              (framed.length ? text.join('\n') : `-- Nothing to do: the database already holds ${version}.\n`),
          );
          return 0;
        }
        const statements = renderPostgresBackendSql({ ...options, drop: values.drop === true });
        const { names, lockTimeoutMs } = backend;
        const namespace = names.postgresSchema ?? 'public';
        const lock = renderLockStatements(namespace, lockTimeoutMs);
        const note = names.postgresSchema
          ? `-- The lock serializes this with asyncmq-postgres installs and drops in ${namespace}.`
          : '-- The names are unqualified: they land in the current_schema() of the session, and the lock below\n' +
            `-- serializes with asyncmq-postgres installs and drops in ${namespace}; if that is not your current_schema(),\n` +
            '-- set --schema to name it.';
        const script = [...lock, ...statements].map((s) => `${s};\n`).join('\n');
        out({ statements: ['BEGIN', ...lock, ...statements, 'COMMIT'] }, `${note}\nBEGIN;\n\n${script}\nCOMMIT;\n`);
        return 0;
      }
      case 'drop': {
        if (!values.yes) {
          const tables = backend.shapes.map((s) => (s.schema ? `${s.schema}.${s.name}` : s.name));
          throw new AsyncmqPostgresError(
            'ASYNCMQ_USAGE',
            `drop would remove the tables ${tables.join(', ')} with all their rows and indexes; nothing was dropped. ` +
              `Run \`${run.rerun('drop', {}, ['--yes'])}\` to drop them`,
          );
        }
        requireUrl(options);
        const report = await runBackend('drop', options, { remedies: run.remedies });
        out(report, describeReport(report, run));
        return 0;
      }
      case 'install':
      case 'upgrade': {
        requireUrl(options);
        if (command === 'upgrade' && backend.versionIsDefault) {
          // Naming what the database holds needs it read: one catalog read, no lock.
          const { namespace, match } = await readHeldVersion(options);
          throw noTarget(
            `upgrade needs the AsyncMQ schema version to move to; ${match.state === 'empty' ? `${namespace} holds none of the tables` : `the tables in ${namespace} hold ${describeMatch(match, namespace)}`}`,
            run.rerun('upgrade', { 'schema-version': '0.9' }),
          );
        }
        const report = await runBackend(command as 'install' | 'upgrade', { ...options, concurrentIndexes: values['no-index-builds'] !== true }, { remedies: run.remedies });
        out(report, `${run.describeVersion(report.schemaVersion)}\n${describeReport(report, run)}`);
        return report.pendingIndexes.length > 0 ? 1 : 0;
      }
      case 'status': {
        requireUrl(options);
        const status = await inspect({ ...options, ...(values.role !== undefined ? { role: values.role } : {}) }, run.remedies);
        out(status, describeStatus(status, run));
        return status.problems > 0 ? 1 : status.warnings > 0 ? 4 : 0;
      }
    }
  } catch (error) {
    const failure =
      error instanceof AsyncmqPostgresError ? error : new AsyncmqPostgresError('ASYNCMQ_DATABASE_ERROR', String((error as Error)?.message ?? error), { cause: error });
    if (json) io.stdout(`${JSON.stringify({ error: { code: failure.code, message: failure.message } }, null, 2)}\n`);
    else io.stderr(`asyncmq-postgres: ${failure.message} [${failure.code}]\n`);
    if (verbose) io.stderr(`${failure.stack}\n${failure.cause instanceof Error ? `caused by: ${failure.cause.stack}\n` : ''}`);
    return failure.kind === 'config' ? 2 : 3;
  }
  return 2;
}

/** An upgrade (or its SQL) asked for with no version chosen: the default, 0.1, is no target. */
function noTarget(why: string, example: string): AsyncmqPostgresError {
  return new AsyncmqPostgresError(
    'ASYNCMQ_USAGE',
    `${why}. Give your AsyncMQ's with --schema-version (or ${ENV_VARS.postgresSchemaVersion}, or postgresSchemaVersion in ` +
      `asyncmq.config.ts): ${describeKnown()}; for AsyncMQ 0.9, \`${example}\``,
    { setting: 'postgresSchemaVersion' },
  );
}

/**
 * The report as text, line by line. Names come from the database (a namespace from the
 * search_path, the tables drop kept), so each line is made printable as status's are.
 */
function describeReport(report: PostgresBackendReport, run: Invocation): string {
  return `${reportLines(report, run).map(printable).join('\n')}\n`;
}

function reportLines(report: PostgresBackendReport, run: Invocation): string[] {
  const { namespace, created, pendingIndexes } = report;
  if (report.action === 'drop') {
    return [
      report.dropped.length ? `Dropped in ${namespace}: ${report.dropped.join(', ')}.` : `Nothing to drop in ${namespace}.`,
      ...(report.kept?.length ? [`Kept, since another jobs table may use them: ${report.kept.join(', ')}.`] : []),
    ];
  }
  // Only the call that did the upgrade's work says "Upgraded"; a concurrent one that waited for it says whose it was.
  const upgraded = report.upgradedFrom
    ? [`Upgraded ${namespace} from AsyncMQ ${report.upgradedFrom}'s schema, keeping every row${report.dropped.length ? `; replaced: ${report.dropped.join(', ')}` : ''}.`]
    : report.foundUpgradedFrom
      ? [`Found ${namespace} upgraded from AsyncMQ ${report.foundUpgradedFrom}'s schema by another session, which this call waited for; this call changed nothing of it.`]
      : [];
  const createdLine = `Created: ${created.join(', ')}.`;
  if (pendingIndexes.length === 0) return [...upgraded, created.length ? createdLine : `Nothing to do: every table and index is in place in ${namespace}.`];

  // Something is still missing: the first line says what, whatever else was done.
  const names = (list: PendingIndex[]) => list.map((p) => p.name).join(', ');
  const count = pendingIndexes.length === 1 ? '1 index' : `${pendingIndexes.length} indexes`;
  const lines = [`Not complete: ${count} still missing in ${namespace}: ${names(pendingIndexes)}.`, ...upgraded];
  if (created.length) lines.push(createdLine);
  const pending = (reason: PendingIndex['reason']) => pendingIndexes.filter((p) => p.reason === reason);
  const statements = (list: PendingIndex[]) => list.flatMap((p) => p.sql.map((statement) => `  ${statement};`));
  if (pending('building-elsewhere').length) {
    lines.push(`Another session is building indexes in ${namespace}; left to it: ${names(pending('building-elsewhere'))}. Run install again once it has finished.`);
  }
  if (pending('table-busy').length) {
    lines.push(
      `Not rebuilt: ${names(pending('table-busy'))}. An INVALID leftover is in the way and another session holds its table`,
      '(an index build or a vacuum); run install again later, or these statements once it is done:',
      ...statements(pending('table-busy')),
    );
  }
  for (const refused of pending('poison-jobs')) {
    lines.push(`Not built: ${refused.name}, refused before it started: its build would fail on these rows. Fix or remove them, then run install again.`);
    if (refused.poison) lines.push(...describePoison(refused.poison, '  '));
  }
  if (pending('not-requested').length) {
    lines.push(
      `Not built (--no-index-builds): ${names(pending('not-requested'))}. Build them with \`${run.rerun('install', { 'no-index-builds': false })}\`, or run each statement outside a transaction:`,
      ...statements(pending('not-requested')),
    );
  }
  return lines;
}

/**
 * The status as text. Names, definitions and advice come from the database, so each line is made
 * printable (errors.ts): a name holding a newline or an escape sequence shows as escapes and
 * cannot forge a line of its own.
 */
function describeStatus(status: PostgresBackendStatus, run: Invocation): string {
  const lines = [
    `namespace ${status.namespace ?? '(none selected)'}${status.namespaceExists ? '' : ' (missing)'}, index profile ${status.indexes}`,
    describeVersion(status, run),
    run.describeVersion(status.schemaVersion.configured),
  ];
  if (status.readOnly) lines.push(`read-only: ${status.readOnly.advice}`);
  const moot = status.readOnly ? ' (but this database takes no writes)' : '';
  const impact = (item: ItemStatus) =>
    item.status === 'different' || item.status === 'extra' ? (item.impact === 'breaks' ? ' [breaks AsyncMQ]' : ' [warning]') : '';
  for (const table of status.tables) {
    lines.push(`table ${table.name}: ${table.status}${table.warnings ? `, ${table.warnings} warning(s)` : ''}`);
    for (const item of table.items) {
      const detail =
        item.status === 'present'
          ? item.foundName ? ` (as ${item.foundName})` : ''
          : [item.expected && `expected ${item.expected}`, item.actual && `found ${item.actual}`].filter(Boolean).join('; ');
      lines.push(`  ${item.kind.padEnd(10)} ${item.name.padEnd(32)} ${item.status}${impact(item)}${detail && item.status !== 'present' ? `: ${detail}` : detail}`);
      // A missing table's items need no advice each (install creates it), but what holds a name does.
      if (item.advice && (table.status !== 'missing' || item.status === 'conflict')) lines.push(`${' '.repeat(14)}${item.advice}`);
    }
    for (const fix of table.fixes) lines.push(`  fix: ${fix};`);
  }
  const installable =
    status.schemaVersion.verdict === 'compatible' &&
    status.tables.some((t) => t.status === 'missing' || t.fixes.length > 0 || t.items.some((i) => i.kind === 'index' && i.status === 'different'));
  if (installable) lines.push(`To create what is missing, building indexes without blocking writers: \`${run.rerun('install')}\``);
  const { privileges } = status;
  const lacking = privileges.objects.filter((o) => o.missing.length > 0);
  if (lacking.length === 0) {
    lines.push(`privileges of role ${privileges.role}: everything AsyncMQ needs on ${privileges.objects.map((o) => `${o.kind} ${o.name}`).join(', ')}${moot}`);
  } else {
    lines.push(`privileges of role ${privileges.role}: some that AsyncMQ needs are missing${moot}`);
    for (const o of lacking) lines.push(`  ${o.kind.padEnd(10)} ${o.name.padEnd(32)} missing ${o.missing.join(', ')}`);
    for (const fix of privileges.fixes) lines.push(`  fix: ${fix};`);
  }
  if (status.poisonJobs) lines.push(...describePoison(status.poisonJobs));
  const unchecked = status.poisonJobs?.state === 'not-checked' ? ' The jobs were not checked for poison (see above).' : '';
  if (status.problems > 0) {
    const kinds = status.poisonJobs?.queueCount
      ? 'missing, breaking AsyncMQ, privileges the role lacks, or queues stalled by poison jobs'
      : 'missing, breaking AsyncMQ, or privileges the role lacks';
    const what = status.readOnly ? `AsyncMQ cannot write to this database (and any others: ${kinds})` : kinds;
    lines.push(`NOT OK: ${status.problems} problem(s): ${what}${status.warnings ? `; and ${status.warnings} warning(s)` : ''}.${unchecked}`);
  } else if (status.warnings > 0) {
    lines.push(`OK, with ${status.warnings} warning(s): AsyncMQ works with these differences, and install accepts them.${unchecked}`);
  } else lines.push(`OK: installed and in shape.${unchecked}`);
  return `${lines.map(printable).join('\n')}\n`;
}

function describeVersion({ schemaVersion: v, namespace }: PostgresBackendStatus, run: Invocation): string {
  const holds = describeMatch(v, namespace);
  switch (v.verdict) {
    case 'upgrade-required':
      return `schema version ${v.configured} configured; the tables hold ${holds}: upgrade with ${run.remedies.upgrade(v.configured)} (from ${v.from})`;
    case 'newer':
      return `schema version ${v.configured} configured; the tables hold ${holds}, which is newer and cannot go back: configure ${v.held} (${run.remedies.configure(v.held!)})`;
    case 'mixed':
    case 'other-shape':
      return `schema version ${v.configured} configured; the tables hold ${holds}`;
    default:
      return v.held !== null && v.held !== v.configured
        ? `schema version ${v.configured} configured; the tables hold ${holds}, whose tables serve ${v.configured} as they are`
        : `schema version ${v.configured} configured; the tables hold ${holds}`;
  }
}
