/** The driver seam: what the rest of the package uses of a connection, and the drivers behind it. */
export type { DatabaseSource, DrizzlePostgresDatabase, Link, NodePostgresClient, Param, PgliteClient, PostgresClient, PostgresJsClient, Queryable, Row, Session, Step, Wait } from './types.js';
export { openLink } from './open.js';
export { readJson, readTexts } from './rows.js';
