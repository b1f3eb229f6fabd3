/**
 * Two installed copies of the package in one process (a monorepo where two workspaces resolve
 * their own, or a dependency that brings its own): each copy's errors are recognised by the
 * other's `isAsyncmqPostgresError` and `instanceof`, both ways, and nothing else is.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { after, before, test } from 'node:test';
import { installBuilt, root } from './support/apps.js';
import { testTmp } from './support/tmp.js';

type Entry = typeof import('../src/index.js');
let work: string;
let a: Entry;
let b: Entry;

before(async () => {
  work = await testTmp('asyncmq-two-copies-');
  const built = join(work, 'package');
  await installBuilt(work, built);
  // Two workspaces, each with its own copy, sharing one drizzle-orm higher up.
  await mkdir(join(work, 'node_modules'));
  await symlink(join(root, 'node_modules/drizzle-orm'), join(work, 'node_modules/drizzle-orm'));
  const load = async (workspace: string): Promise<Entry> => {
    const target = join(work, workspace, 'node_modules/asyncmq-postgres');
    await cp(built, target, { recursive: true });
    return import(pathToFileURL(join(target, 'dist/index.js')).href);
  };
  a = await load('a');
  b = await load('b');
});

after(() => rm(work, { recursive: true, force: true }));

/** The error a copy raises for a name AsyncMQ's SQL would misread, raised by the copy itself. */
function raisedBy(copy: Entry): unknown {
  try {
    copy.renderPostgresBackendSql({ settings: { postgresJobsTableName: 'Not A Name' }, env: {} });
  } catch (error) {
    return error;
  }
  assert.fail('the copy accepted an invalid name');
}

test("each copy recognises the other's errors, by isAsyncmqPostgresError and by instanceof", () => {
  assert.notEqual(a.AsyncmqPostgresError, b.AsyncmqPostgresError, 'two copies, two classes');
  const fromA = raisedBy(a);
  const fromB = raisedBy(b);
  for (const [error, own, other] of [
    [fromA, a, b],
    [fromB, b, a],
  ] as const) {
    assert.equal(own.isAsyncmqPostgresError(error), true);
    assert.equal(other.isAsyncmqPostgresError(error), true);
    assert.ok(error instanceof own.AsyncmqPostgresError);
    assert.ok(error instanceof other.AsyncmqPostgresError);
    // The narrowed type is usable: the code, the kind and the setting are the error's own.
    if (!other.isAsyncmqPostgresError(error)) assert.fail('narrowing');
    assert.equal(error.code, 'ASYNCMQ_INVALID_NAME');
    assert.equal(error.kind, 'config');
    assert.equal(error.setting, 'postgresJobsTableName');
  }
  // So is one built directly by the other copy's class.
  assert.equal(a.isAsyncmqPostgresError(new b.AsyncmqPostgresError('ASYNCMQ_USAGE', 'x')), true);
});

test('a lookalike is not an AsyncmqPostgresError, and the brand shows nowhere in the error', () => {
  const lookalike = Object.assign(new Error('x'), { name: 'AsyncmqPostgresError', code: 'ASYNCMQ_USAGE' });
  for (const value of [lookalike, { code: 'ASYNCMQ_USAGE' }, new Error('x'), null, undefined, 'ASYNCMQ_USAGE', 0]) {
    assert.equal(a.isAsyncmqPostgresError(value), false, inspect(value));
    assert.equal(value instanceof a.AsyncmqPostgresError, false, inspect(value));
  }
  const error = raisedBy(a) as Error;
  for (const symbol of Object.getOwnPropertySymbols(error)) assert.equal(Object.getOwnPropertyDescriptor(error, symbol)?.enumerable, false);
  assert.doesNotMatch(inspect(error), /Symbol\(/);
  assert.doesNotMatch(JSON.stringify(error), /asyncmq-postgres\./);
});
