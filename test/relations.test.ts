/**
 * The relations of a job and its cancellation, with the relational query builder on a real
 * Postgres, on the drizzle-orm line installed (this checkout's 0.45; the 1.0 lane of .ci/run and
 * ASYNCMQ_TEST_DRIZZLE_MODULES run the 1.0 side): every schema version, a namespace of its own
 * and another name set. The key is the pair (queue_name, job_id), as AsyncMQ looks a
 * cancellation up at every release, so a cancellation of the same job id in another queue is
 * not this job's. Then the declared types, compiled under strict TypeScript against the packed
 * package on the same line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as orm from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { asyncmqRelations, asyncmqRelationsPart, createAsyncmqSchema, installOrDropPostgresBackend, type AsyncmqNames } from '../src/index.js';
import { SCHEMA_VERSIONS } from '../src/config/versions.js';
import { drizzleModules, installBuilt, root } from './support/apps.js';
import { createDatabase } from './support/db.js';
import { testTmp } from './support/tmp.js';
import { HANG_MS } from './support/patience.js';

const line: '0.x' | '1.0' = typeof (orm as Record<string, unknown>).defineRelationsPart === 'function' ? '1.0' : '0.x';
const clients: postgres.Sql[] = [];
after(() => Promise.all(clients.map((c) => c.end({ timeout: 5 }))));

// The relational API of either line, loosely typed so this file compiles on both; the types
// themselves are proven at the end, per line.
type Query = { findMany(config: object): Promise<Record<string, unknown>[]> };
type Db = { query: Record<string, Query> };

/** A database with the tables installed, a few jobs and cancellations, and a Drizzle db over it. */
async function setUp(names: AsyncmqNames, keys?: { jobs: string; cancelledJobs: string }) {
  const tables = createAsyncmqSchema(names);
  const database = await createDatabase();
  await installOrDropPostgresBackend({ connectionString: database.url, schema: tables, env: {} });
  const J = `${names.postgresSchema ?? 'public'}.${names.postgresJobsTableName ?? 'asyncmq_jobs'}`;
  const C = `${names.postgresSchema ?? 'public'}.${names.postgresCancelledJobsTableName ?? 'asyncmq_cancelled_jobs'}`;
  // j2 is cancelled in q1; the same id is cancelled in q9 too, a queue it is not in. j3 has
  // no cancellation; gone-1 was cancelled and deleted, as AsyncMQ 0.9's cancel_job does.
  await database.sql.unsafe(`
    insert into ${J} (queue_name, job_id, data, status) values
      ('q1', 'j1', '{"id":"j1","task":"t"}', 'waiting'),
      ('q1', 'j2', '{"id":"j2","task":"t"}', 'waiting'),
      ('q2', 'j3', '{"id":"j3","task":"t"}', 'delayed');
    insert into ${C} (queue_name, job_id) values ('q1', 'j2'), ('q9', 'j3'), ('q1', 'gone-1')`);
  const client = postgres(database.url, { max: 1, onnotice: () => {} });
  clients.push(client);
  const db = (
    line === '0.x'
      ? drizzle({ client, schema: { ...tables, ...asyncmqRelations(tables) } } as never)
      : drizzle({ client, relations: asyncmqRelationsPart(tables, keys) } as never)
  ) as unknown as Db;
  return { tables, db };
}

/** Each job with its cancellation, and each cancellation with its job, as compact rows. */
async function read(db: Db, keys = { jobs: 'jobs', cancelledJobs: 'cancelledJobs' }) {
  const byId = line === '0.x' ? { orderBy: (t: Record<string, unknown>, { asc }: { asc: (c: unknown) => unknown }) => [asc(t.id)] } : { orderBy: { id: 'asc' } };
  const jobs = await db.query[keys.jobs]!.findMany({ with: { cancellation: true }, ...byId });
  const byKey =
    line === '0.x'
      ? { orderBy: (t: Record<string, unknown>, { asc }: { asc: (c: unknown) => unknown }) => [asc(t.queueName), asc(t.jobId)] }
      : { orderBy: { queueName: 'asc', jobId: 'asc' } };
  const cancellations = await db.query[keys.cancelledJobs]!.findMany({ with: { job: { columns: { status: true } } }, ...byKey });
  return {
    jobs: jobs.map((j) => [j.queueName, j.jobId, j.cancellation]),
    cancellations: cancellations.map((c) => [c.queueName, c.jobId, c.job]),
  };
}

const expected = {
  jobs: [
    ['q1', 'j1', null],
    ['q1', 'j2', { queueName: 'q1', jobId: 'j2' }],
    ['q2', 'j3', null],
  ],
  cancellations: [
    ['q1', 'gone-1', null],
    ['q1', 'j2', { status: 'waiting' }],
    ['q9', 'j3', null],
  ],
};

for (const version of SCHEMA_VERSIONS) {
  test(`drizzle-orm ${line}, schema ${version}: a job's cancellation and a cancellation's job, by (queue_name, job_id)`, async () => {
    const { db } = await setUp({ postgresSchemaVersion: version });
    assert.deepEqual(await read(db), expected);
  });
}

for (const version of ['0.1', '0.9'] as const) {
  test(`drizzle-orm ${line}, schema ${version} in a namespace of its own under other names`, async () => {
    const names = { postgresSchema: 'queue', postgresJobsTableName: 'app_jobs', postgresCancelledJobsTableName: 'app_cancelled', postgresSchemaVersion: version };
    const { db } = await setUp(names);
    assert.deepEqual(await read(db), expected);
  });
}

if (line === '1.0') {
  test('drizzle-orm 1.0: the part under keys of the app\'s choosing', async () => {
    const keys = { jobs: 'asyncmqJobs', cancelledJobs: 'asyncmqCancelledJobs' };
    const { db } = await setUp({ postgresSchemaVersion: '0.9' }, keys);
    assert.deepEqual(await read(db, keys), expected);
    assert.equal(db.query.jobs, undefined);
  });
}

test(`drizzle-orm ${line}: the other line's function, or tables that are not the factory's, are refused in words`, () => {
  const tables = createAsyncmqSchema();
  const [other, name] = line === '0.x' ? [() => asyncmqRelationsPart(tables), /asyncmqRelationsPart needs drizzle-orm's 1\.0 defineRelationsPart\(\).*use asyncmqRelations$/] : [() => asyncmqRelations(tables), /asyncmqRelations needs drizzle-orm's 0\.x relations\(\).*use asyncmqRelationsPart$/];
  assert.throws(other, (e: { code?: string; message?: string }) => e.code === 'ASYNCMQ_USAGE' && name.test(e.message ?? ''));
  const own = (line === '0.x' ? asyncmqRelations : asyncmqRelationsPart) as (tables: never) => unknown;
  assert.throws(() => own({ jobs: tables.jobs } as never), (e: { code?: string; message?: string }) => e.code === 'ASYNCMQ_USAGE' && /takes the tables createAsyncmqSchema\(\) returns/.test(e.message ?? ''));
  if (line === '1.0') {
    assert.throws(() => asyncmqRelationsPart(tables, { jobs: 'same', cancelledJobs: 'same' }), /two different non-empty strings/);
  }
});

/** The app's query, typed by its own drizzle-orm through the package's declared types. */
const TYPE_CHECKS = {
  '0.x': `
    import { drizzle } from 'drizzle-orm/postgres-js';
    import postgres from 'postgres';
    import { asyncmqRelations, createAsyncmqSchema } from 'asyncmq-postgres';
    import { asyncmq01, type AsyncmqJob } from 'asyncmq-postgres/schema';
    const tables = createAsyncmqSchema({ postgresSchema: 'queue', postgresJobsTableName: 'app_jobs', postgresSchemaVersion: '0.9' });
    const db = drizzle({ client: postgres(''), schema: { ...tables, ...asyncmqRelations(tables) } });
    const seed = drizzle({ client: postgres(''), schema: { ...asyncmq01, ...asyncmqRelations(asyncmq01) } });
    export async function check() {
      const [job] = await db.query.jobs.findMany({ with: { cancellation: true } });
      const [cancelled] = await seed.query.cancelledJobs.findMany({ with: { job: { columns: { status: true } } } });
      return [job!.cancellation, cancelled!.job] as const;
    }
    type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
    type R = Awaited<ReturnType<typeof check>>;
    export const exact: [Equal<R[0], { queueName: string; jobId: string } | null>, Equal<R[1], { status: AsyncmqJob['status'] } | null>] = [true, true];`,
  '1.0': `
    import { drizzle } from 'drizzle-orm/postgres-js';
    import postgres from 'postgres';
    import { asyncmqRelationsPart, createAsyncmqSchema } from 'asyncmq-postgres';
    import { asyncmq01, type AsyncmqJob } from 'asyncmq-postgres/schema';
    const tables = createAsyncmqSchema({ postgresSchema: 'queue', postgresJobsTableName: 'app_jobs', postgresSchemaVersion: '0.9' });
    const db = drizzle({ client: postgres(''), relations: asyncmqRelationsPart(tables) });
    const seed = drizzle({ client: postgres(''), relations: asyncmqRelationsPart(asyncmq01, { jobs: 'asyncmqJobs', cancelledJobs: 'asyncmqCancelledJobs' }) });
    export async function check() {
      const [job] = await db.query.jobs.findMany({ with: { cancellation: true } });
      const [cancelled] = await seed.query.asyncmqCancelledJobs.findMany({ with: { job: { columns: { status: true } } } });
      return [job!.cancellation, cancelled!.job] as const;
    }
    type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
    type R = Awaited<ReturnType<typeof check>>;
    export const exact: [Equal<R[0], { queueName: string; jobId: string } | null>, Equal<R[1], { status: AsyncmqJob['status'] } | null>] = [true, true];`,
};

test(`drizzle-orm ${line}: the relational queries type-check against the packed types, cancellation and job typed as possibly null`, async () => {
  const app = await testTmp('asyncmq-relations-types-');
  try {
    await installBuilt(app, join(app, 'node_modules/asyncmq-postgres'));
    await symlink(join(drizzleModules, 'drizzle-orm'), join(app, 'node_modules/drizzle-orm'));
    for (const dep of ['postgres', '@types']) await symlink(join(root, 'node_modules', dep), join(app, 'node_modules', dep));
    await writeFile(join(app, 'package.json'), '{"type":"module"}');
    await writeFile(join(app, 'check.ts'), TYPE_CHECKS[line]);
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, noEmit: true, types: ['node'] }, files: ['check.ts'] }),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], { encoding: 'utf8', timeout: HANG_MS });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    // The check can fail: a wrong claim about the result is a compile error.
    await writeFile(join(app, 'check.ts'), TYPE_CHECKS[line].replace('Equal<R[0], { queueName: string; jobId: string } | null>', 'Equal<R[0], { queueName: string; jobId: string }>'));
    const wrong = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], { encoding: 'utf8', timeout: HANG_MS });
    assert.notEqual(wrong.status, 0, 'a non-null cancellation should not type-check');
  } finally {
    await rm(app, { recursive: true, force: true });
  }
});
