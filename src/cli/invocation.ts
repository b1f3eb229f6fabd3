/**
 * One run's settings and where each came from: a flag, the environment, the app's config file,
 * or the default (flags first, then the environment, then the config). From that: what the
 * library is given, how errors name a setting (as the user gave it: `--schema-version`, not the
 * variable), and the commands the output prints, complete with the flags that led to them, so
 * that each runs as printed.
 */
import { ENV_VARS, parseLockTimeout, settingsFromEnv, type AsyncmqSettings } from '../config/settings.js';
import type { Remedies } from '../catalog/detect.js';
import type { SettingLabels, TableSelection } from '../schema/backend.js';
import { describeReleases, type SchemaVersion } from '../config/versions.js';
import { readConfig, type AppConfig } from './config-file.js';

/** The flags that set a setting, with their help text. */
export const SETTING_FLAGS = {
  schema: ['postgresSchema', 'Postgres schema (namespace) for the tables'],
  'jobs-table': ['postgresJobsTableName', 'jobs table name'],
  'repeatables-table': ['postgresRepeatablesTableName', 'repeatables table name'],
  'cancelled-jobs-table': ['postgresCancelledJobsTableName', 'cancelled jobs table name'],
  'workers-heartbeat-table': ['postgresWorkersHeartbeatTableName', 'workers heartbeat table name (schema 0.2 on)'],
  'schema-version': ['postgresSchemaVersion', 'AsyncMQ schema: 0.1, 0.2, 0.8, 0.9, or an AsyncMQ release'],
  indexes: ['postgresIndexes', 'index profile: seed, queue or asyncmq-0.9'],
  'lock-timeout': ['postgresLockTimeout', 'milliseconds to wait for any lock'],
} as const satisfies Record<string, [keyof AsyncmqSettings, string]>;
export type SettingFlag = keyof typeof SETTING_FLAGS;

const FLAG_OF = Object.fromEntries(Object.entries(SETTING_FLAGS).map(([flag, [key]]) => [key, flag])) as Partial<Record<keyof AsyncmqSettings, SettingFlag>>;

export type Source = 'flag' | 'environment' | 'config' | 'default';

export type Overrides = Partial<Record<SettingFlag, string>> & { 'no-index-builds'?: boolean };

export interface Invocation {
  /** What the library is given. */
  options: TableSelection & { connectionString?: string };
  labels: SettingLabels;
  sourceOf(key: keyof AsyncmqSettings): Source;
  config: AppConfig | undefined;
  /**
   * `npx --no-install asyncmq-postgres <command> <words>` with the flags that led here,
   * `overrides` replacing theirs.
   */
  rerun(command: string, overrides?: Overrides, words?: string[]): string;
  /** Advice about another schema version, worded as commands and flags. */
  remedies: Remedies;
  /** Where the version came from, in a sentence's words: `from --schema-version`, or the default's warning. */
  describeVersion(version: SchemaVersion): string;
}

interface Given {
  values: Partial<Record<SettingFlag | 'url' | 'config', string>> & { 'no-index-builds'?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
}

export async function readInvocation({ values, env, cwd }: Given): Promise<Invocation> {
  const flags: AsyncmqSettings = {};
  for (const [flag, [key]] of Object.entries(SETTING_FLAGS) as [SettingFlag, (typeof SETTING_FLAGS)[SettingFlag]][]) {
    const value = values[flag];
    if (value !== undefined) Object.assign(flags, { [key]: key === 'postgresLockTimeout' ? parseLockTimeout(value, `--${flag}`) : value });
  }
  const fromEnv = settingsFromEnv(env);
  const config = await readConfig(values.config, cwd);
  const sourceOf = (key: keyof AsyncmqSettings): Source =>
    flags[key] !== undefined ? 'flag' : fromEnv[key] !== undefined ? 'environment' : config?.settings?.[key] !== undefined || (config?.tables && isNaming(key)) ? 'config' : 'default';

  // The library puts `settings` over the environment, so the config's settings go in only where
  // no variable is set: flags, then the environment, then the config.
  const settings: AsyncmqSettings = { ...flags };
  for (const [key, value] of Object.entries(config?.settings ?? {}) as [keyof AsyncmqSettings, unknown][]) {
    if (flags[key] === undefined && fromEnv[key] === undefined) Object.assign(settings, { [key]: value });
  }
  const options = {
    settings,
    env,
    ...(config?.tables ? { schema: config.tables } : {}),
    ...(values.url !== undefined ? { connectionString: values.url } : {}),
  };

  const labels: SettingLabels = {
    setting: (key) => {
      switch (sourceOf(key)) {
        case 'flag':
          return `--${FLAG_OF[key]}`;
        case 'environment':
          return ENV_VARS[key];
        case 'config':
          return `${key} in ${config!.shown}`;
        default:
          return undefined;
      }
    },
    tables: config?.tables ? `the tables ${config.shown} exports` : 'the tables passed as schema',
  };

  const rerun: Invocation['rerun'] = (command, overrides = {}, extra = []) => {
    const words = ['npx', '--no-install', 'asyncmq-postgres', command, ...extra.map(quote)];
    if (config?.given) words.push('--config', quote(config.shown));
    for (const [flag, [key]] of Object.entries(SETTING_FLAGS) as [SettingFlag, (typeof SETTING_FLAGS)[SettingFlag]][]) {
      const source = sourceOf(key);
      const value = overrides[flag] ?? (source === 'flag' ? values[flag] : source === 'environment' ? env[ENV_VARS[key]] : undefined);
      if (typeof value === 'string') words.push(`--${flag}`, quote(value));
    }
    if ((overrides['no-index-builds'] ?? values['no-index-builds']) === true && (command === 'install' || command === 'upgrade')) words.push('--no-index-builds');
    // Never the URL itself: it holds the password. The variable is the way the README gives.
    if (values.url !== undefined) words.push('--url', '<URL>');
    return words.join(' ');
  };

  const versionSource = sourceOf('postgresSchemaVersion');
  const setVersion = (version: SchemaVersion) => {
    switch (versionSource) {
      case 'environment':
        return `${ENV_VARS.postgresSchemaVersion}=${version}`;
      case 'config':
        return config?.tables
          ? `createAsyncmqSchema({ postgresSchemaVersion: '${version}', ... }) in ${config.shown}`
          : `postgresSchemaVersion: '${version}' in ${config!.shown}`;
      default:
        return `--schema-version ${version}`;
    }
  };
  const remedies: Remedies = {
    // The config's tables decide the version: the command names the file, not a flag that would contradict it.
    upgrade: (to) => `\`${rerun('upgrade', versionSource === 'config' ? {} : { 'schema-version': to })}\``,
    configure: setVersion,
    versionSetting: versionSource === 'default' ? 'the default; choose with --schema-version' : labels.setting('postgresSchemaVersion')!,
  };

  const describeVersion = (version: SchemaVersion) =>
    versionSource === 'default'
      ? `AsyncMQ schema ${version} (AsyncMQ ${describeReleases(version)}), the default: nothing chose a version. ` +
        `AsyncMQ 0.8 and 0.9 workers fail on its tables on their first job: choose yours with --schema-version, ` +
        `${ENV_VARS.postgresSchemaVersion}, or postgresSchemaVersion in asyncmq.config.ts.`
      : `AsyncMQ schema ${version} (AsyncMQ ${describeReleases(version)}), from ${versionSource === 'config' ? config!.shown : labels.setting('postgresSchemaVersion')}.`;

  return { options, labels, sourceOf, config, rerun, remedies, describeVersion };
}

const NAMING = new Set<keyof AsyncmqSettings>([
  'postgresSchema',
  'postgresJobsTableName',
  'postgresRepeatablesTableName',
  'postgresCancelledJobsTableName',
  'postgresWorkersHeartbeatTableName',
  'postgresSchemaVersion',
  'postgresIndexes',
]);
/** What the config's tables decide: every naming setting. */
function isNaming(key: keyof AsyncmqSettings): boolean {
  return NAMING.has(key);
}

/** A word as a POSIX shell reads it back: plain when it is safe, single-quoted otherwise. */
function quote(word: string): string {
  return /^[\w.,:/@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
