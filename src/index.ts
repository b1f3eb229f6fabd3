export {
  dropPostgresBackend,
  installOrDropPostgresBackend,
  installPostgresBackend,
  upgradePostgresBackend,
  verifyPostgresBackend,
  type DropOptions,
  type InstallModeOptions,
  type InstallOptions,
  type InstallOrDropModeOptions,
  type InstallOrDropOptions,
  type PostgresBackendReport,
  type UpgradeOptions,
  type VerifyModeOptions,
  type VerifyOptions,
} from './operations/install.js';
export type { PendingIndex } from './operations/index-builds.js';
export type { PoisonField, PoisonJob, PoisonQueue } from './catalog/poison.js';
export { renderPostgresBackendSql, type RenderSqlOptions } from './operations/render.js';
export {
  inspectPostgresBackend,
  type Impact,
  type InspectOptions,
  type ItemStatus,
  type PoisonCheck,
  type PostgresBackendStatus,
  type PrivilegeCheck,
  type SchemaVersionStatus,
  type PrivilegeReport,
  type TableStatus,
} from './operations/status.js';
export type { AsyncmqSchemaTables } from './schema/backend.js';
export type { BackendOptions } from './operations/options.js';
export type { DrizzlePostgresDatabase, PostgresClient } from './connection/drivers/index.js';
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
} from './config/settings.js';
export * from './schema/tables.js';
export * from './schema/relations.js';
export { renderDrizzleKitUpgradeSql, type DrizzleKitUpgradeOptions } from './operations/upgrade/drizzle-kit.js';
export {
  createAsyncmqProducer,
  type AsyncmqProducer,
  type Cancelled,
  type DrizzleWriter,
  type Enqueued,
  type EnqueueOptions,
  type SchemaVersionOfTables,
} from './producer/producer.js';
export { ASYNCMQ_MAX_PAYLOAD_BYTES, type AsyncmqDelay, type AsyncmqJobDict, type AsyncmqJobInput, type JsonValue } from './producer/job.js';
