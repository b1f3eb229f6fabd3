export { installOrDropPostgresBackend, type InstallOrDropOptions, type PostgresBackendReport } from './install.js';
export type { PendingIndex } from './index-builds.js';
export { renderPostgresBackendSql, type RenderSqlOptions } from './render.js';
export {
  inspectPostgresBackend,
  type Impact,
  type InspectOptions,
  type ItemStatus,
  type PostgresBackendStatus,
  type PrivilegeCheck,
  type PrivilegeReport,
  type TableStatus,
} from './status.js';
export type { AsyncmqSchemaTables, BackendOptions } from './resolve.js';
export type { DrizzlePostgresDatabase, PostgresClient } from './drivers/index.js';
export { AsyncmqPostgresError, ERROR_CODES, isAsyncmqPostgresError, type AsyncmqErrorCode } from './errors.js';
export {
  DEFAULT_NAMES,
  ENV_VARS,
  INDEX_PROFILES,
  namesFromEnv,
  type AsyncmqNames,
  type AsyncmqSettings,
  type IndexProfile,
  type PoolOptions,
} from './settings.js';
export * from './tables.js';
