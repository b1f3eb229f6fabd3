/**
 * The `asyncmq-postgres` command: install, drop, status and sql, over the same settings and
 * environment variables as the library; flags override them.
 *
 * Exit codes: 0 done (status: installed and in shape); 1 status found something missing or
 * different; 2 usage or configuration error, nothing attempted; 3 the database refused or failed.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AsyncmqPostgresError } from './errors.js';
import type { PendingIndex } from './index-builds.js';
import { installOrDropPostgresBackend, type PostgresBackendReport } from './install.js';
import { renderLockStatements } from './locking.js';
import { renderPostgresBackendSql } from './render.js';
import { resolveBackend } from './resolve.js';
import { ENV_VARS, parseLockTimeout, type AsyncmqSettings } from './settings.js';
import { inspectPostgresBackend, type PostgresBackendStatus } from './status.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

const COMMANDS = {
  install: 'create the tables and indexes that are missing (safe at every start: a no-op when all is in place)',
  drop: "drop the package's tables, with their rows and indexes (needs --yes)",
  status: 'report each table, column, constraint and index as present, missing or different',
  sql: 'print the install SQL (or --drop SQL) for the configured names, without connecting',
} as const;
type Command = keyof typeof COMMANDS;

const NAME_FLAGS = {
  schema: ['postgresSchema', 'Postgres schema (namespace) for the tables'],
  'jobs-table': ['postgresJobsTableName', 'jobs table name'],
  'repeatables-table': ['postgresRepeatablesTableName', 'repeatables table name'],
  'cancelled-jobs-table': ['postgresCancelledJobsTableName', 'cancelled jobs table name'],
  indexes: ['postgresIndexes', 'index profile: seed or queue'],
  'lock-timeout': ['postgresLockTimeout', 'milliseconds to wait for any lock'],
} as const satisfies Record<string, [keyof AsyncmqSettings, string]>;

const OPTIONS = {
  url: { type: 'string' },
  ...(Object.fromEntries(Object.keys(NAME_FLAGS).map((flag) => [flag, { type: 'string' }])) as Record<keyof typeof NAME_FLAGS, { type: 'string' }>),
  json: { type: 'boolean' },
  yes: { type: 'boolean' },
  drop: { type: 'boolean' },
  concurrently: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** The flags that belong to one command only. */
const COMMAND_FLAGS: Record<Command, Partial<Record<'yes' | 'drop' | 'concurrently', string>>> = {
  install: { concurrently: 'also build indexes missing from existing tables, with CREATE INDEX CONCURRENTLY' },
  drop: { yes: 'really drop (without it, say what would be dropped and exit 2)' },
  status: {},
  sql: { drop: 'the drop SQL instead of the install SQL' },
};

function usage(command?: Command): string {
  const head = command
    ? `Usage: asyncmq-postgres ${command} [options]\n\n${COMMANDS[command]}\n\n${Object.entries(COMMAND_FLAGS[command])
        .map(([flag, text]) => `  --${flag.padEnd(14)} ${text}\n`)
        .join('')}`
    : `Usage: asyncmq-postgres <command> [options]\n\nCommands:\n${Object.entries(COMMANDS)
        .map(([name, text]) => `  ${name.padEnd(8)} ${text}`)
        .join('\n')}\n\nRun asyncmq-postgres <command> --help for a command's own options.\n`;
  const names = Object.entries(NAME_FLAGS)
    .map(([flag, [key, text]]) => `  --${`${flag} <value>`.padEnd(30)} ${text} (${ENV_VARS[key]})`)
    .join('\n');
  return `${head}
Options:
  --url <url>                      Postgres URL (${ENV_VARS.asyncmqPostgresBackendUrl}; prefer the variable:
                                   a --url shows the password in the process list and shell history)
${names}
  --json                           print one JSON document
  --verbose                        print stack traces of errors
  -h, --help                       this help
  --version                        the package version

Exit codes: 0 done; 1 status found something missing or different; 2 usage or configuration
error, nothing attempted; 3 the database refused or failed.
`;
}

function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

type Values = ReturnType<typeof parse>['values'];

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `${(error as Error).message}; see asyncmq-postgres --help`);
  }
}

function settingsFrom(values: Values): AsyncmqSettings {
  const settings: Record<string, unknown> = {};
  for (const [flag, [key]] of Object.entries(NAME_FLAGS)) {
    const value = values[flag as keyof typeof NAME_FLAGS];
    if (value === undefined) continue;
    settings[key] = key === 'postgresLockTimeout' ? parseLockTimeout(value, `--${flag}`) : value;
  }
  return settings as AsyncmqSettings;
}

/**
 * The library's own no-URL error speaks of connectionString and settings, which a command-line
 * user cannot set: here the URL comes from the variable or --url. Checked after the settings,
 * as the library checks them first.
 */
function requireUrl(options: { connectionString?: string; settings: AsyncmqSettings; env: Record<string, string | undefined> }): void {
  resolveBackend(options);
  if (options.connectionString || options.env[ENV_VARS.asyncmqPostgresBackendUrl]) return;
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
    if (!(command in COMMANDS)) throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(', ')}`);
    if (values.help) {
      io.stdout(usage(command as Command));
      return 0;
    }
    if (extra.length > 0) throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `unexpected argument ${JSON.stringify(extra[0])}`);
    const misplaced = (['yes', 'drop', 'concurrently'] as const).find((flag) => values[flag] && !(flag in COMMAND_FLAGS[command as Command]));
    if (misplaced) throw new AsyncmqPostgresError('ASYNCMQ_USAGE', `--${misplaced} does not apply to ${command}`);

    const options = { settings: settingsFrom(values), env: io.env, ...(values.url ? { connectionString: values.url } : {}) };
    const out = (value: unknown, text: string) => io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : text);
    switch (command as Command) {
      case 'sql': {
        const statements = renderPostgresBackendSql({ ...options, drop: values.drop === true });
        const { names, lockTimeoutMs } = resolveBackend(options);
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
          const { shapes } = resolveBackend(options);
          const tables = shapes.map((s) => (s.schema ? `${s.schema}.${s.name}` : s.name));
          throw new AsyncmqPostgresError(
            'ASYNCMQ_USAGE',
            `drop would remove the tables ${tables.join(', ')} with all their rows and indexes; nothing was dropped. Re-run with --yes to drop them`,
          );
        }
        requireUrl(options);
        const report = await installOrDropPostgresBackend({ ...options, drop: true });
        out(report, describeReport(report));
        return 0;
      }
      case 'install': {
        requireUrl(options);
        const report = await installOrDropPostgresBackend({ ...options, concurrentIndexes: values.concurrently === true });
        out(report, describeReport(report));
        return 0;
      }
      case 'status': {
        requireUrl(options);
        const status = await inspectPostgresBackend(options);
        out(status, describeStatus(status));
        return status.ok ? 0 : 1;
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

function describeReport(report: PostgresBackendReport): string {
  const lines: string[] = [];
  if (report.action === 'drop') {
    lines.push(report.dropped.length ? `Dropped in ${report.namespace}: ${report.dropped.join(', ')}.` : `Nothing to drop in ${report.namespace}.`);
  } else {
    lines.push(report.created.length ? `Created: ${report.created.join(', ')}.` : `Nothing to do: every table is in place in ${report.namespace}.`);
    const pending = (reason: PendingIndex['reason']) => report.pendingIndexes.filter((p) => p.reason === reason);
    const statements = (list: PendingIndex[]) => list.flatMap((p) => p.sql.map((statement) => `  ${statement};`));
    if (pending('building-elsewhere').length) {
      lines.push(`Another session is building indexes in ${report.namespace}; left to it: ${pending('building-elsewhere').map((p) => p.name).join(', ')}.`);
    }
    if (pending('table-busy').length) {
      lines.push(
        `Not rebuilt: ${pending('table-busy').map((p) => p.name).join(', ')}. An INVALID leftover is in the way and another session holds its table`,
        '(an index build or a vacuum); run install --concurrently again later, or these statements once it is done:',
        ...statements(pending('table-busy')),
      );
    }
    if (pending('not-requested').length) {
      lines.push(
        `${pending('not-requested').length} index(es) missing from existing tables were not built, so as not to block the queue's writers.`,
        'Build them with `asyncmq-postgres install --concurrently`, or run each statement outside a transaction:',
        ...statements(pending('not-requested')),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function describeStatus(status: PostgresBackendStatus): string {
  const lines = [`namespace ${status.namespace ?? '(none selected)'}${status.namespaceExists ? '' : ' (missing)'}, index profile ${status.indexes}`];
  for (const table of status.tables) {
    lines.push(`table ${table.name}: ${table.status}`);
    for (const item of table.items) {
      const detail =
        item.status === 'present'
          ? item.foundName ? ` (as ${item.foundName})` : ''
          : [item.expected && `expected ${item.expected}`, item.actual && `found ${item.actual}`].filter(Boolean).join('; ');
      lines.push(`  ${item.kind.padEnd(10)} ${item.name.padEnd(32)} ${item.status}${detail && item.status !== 'present' ? `: ${detail}` : detail}`);
    }
    for (const fix of table.fixes) lines.push(`  fix: ${fix};`);
  }
  const problems = status.tables.flatMap((t) => t.items).filter((i) => i.status !== 'present').length;
  lines.push(status.ok ? 'OK: installed and in shape.' : `NOT OK: ${problems} item(s) missing or different.`);
  return `${lines.join('\n')}\n`;
}
