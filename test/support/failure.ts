/** The coded error a call rejects with; fails the test when it resolves or throws anything else. */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { AsyncmqPostgresError } from '../../src/index.js';

export async function failure(promise: Promise<unknown>): Promise<AsyncmqPostgresError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AsyncmqPostgresError, `not an AsyncmqPostgresError: ${inspect(error)}`);
  return error;
}
