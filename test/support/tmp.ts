/**
 * Where a test makes its files: the run's own directory (test/run.ts), which the runner removes
 * whatever happens to the file that made them, even when it was cancelled or the run interrupted.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function testTmp(prefix: string): Promise<string> {
  return mkdtemp(join(process.env.ASYNCMQ_TEST_TMP ?? tmpdir(), prefix));
}
