export {
  installOrDropPostgresBackend,
  renderPostgresBackendSql,
  type InstallOrDropOptions,
  type PendingIndex,
  type PostgresBackendReport,
  type RenderSqlOptions,
} from './install.js';
export { inspectPostgresBackend, type ItemStatus, type PostgresBackendStatus, type TableStatus } from './status.js';
export type { BackendOptions } from './resolve.js';
export { AsyncmqPostgresError, ERROR_CODES, isAsyncmqPostgresError, type AsyncmqErrorCode } from './errors.js';
export {
  DEFAULT_NAMES,
  ENV_VARS,
  INDEX_PROFILES,
  type AsyncmqNames,
  type AsyncmqSettings,
  type IndexProfile,
  type PoolOptions,
} from './settings.js';
export * from './tables.js';
