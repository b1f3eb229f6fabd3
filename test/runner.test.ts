/**
 * The test runner itself (test/run.ts): a file that never finishes ends the run once nothing has
 * been reported for the hang bound, and an interrupted run stops its files; either way nothing the
 * tests made is left in the temp directory and no process of theirs lives on.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('./run.ts', import.meta.url));
const hangs = fileURLToPath(new URL('./fixtures/runner/hangs.ts', import.meta.url));

/** The runner on the hanging file; `onMade` is called with the directory the file made. */
function run(env: Record<string, string>, onMade: (dir: string, pid: number) => void = () => {}) {
  // Without NODE_TEST_CONTEXT, which would make the inner test runner think it is nested in this one.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', runner, hangs], { env: { ...outer, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let made: string | undefined;
  child.stdout.on('data', (d: Buffer) => {
    output += d;
    const match = /made (\S+)/.exec(output);
    if (match && !made) {
      made = match[1]!;
      onMade(made, child.pid!);
    }
  });
  child.stderr.on('data', (d: Buffer) => void (output += d));
  return new Promise<{ code: number | null; output: string; made: string | undefined; left: string[] }>((resolve) =>
    child.on('close', (code) => resolve({ code, output, made, left: runDirsOf(child.pid!) })),
  );
}

/** The run directories (test/run.ts) that the runner of process `pid` left in the temp directory. */
function runDirsOf(pid: number): string[] {
  return readdirSync(tmpdir())
    .filter((name) => name.startsWith('asyncmq-test-'))
    .filter((name) => {
      try {
        return readFileSync(join(tmpdir(), name, 'pid'), 'utf8') === String(pid);
      } catch {
        return false;
      }
    });
}

/** Whether a process whose command line holds `text` is running. */
function running(text: string): boolean {
  return spawnSync('pgrep', ['-f', text]).status === 0;
}

test('a file that never finishes ends the run at the hang bound, with nothing left behind', async () => {
  // Four seconds of silence: on a loaded machine the file may not even have started by then,
  // which is a hang by the same rule, and ends the same way.
  const { code, output, made, left } = await run({ ASYNCMQ_TEST_HANG_MS: '4000' });
  assert.equal(code, 1, output);
  assert.match(output, /no test reported anything for .* minutes: a hang; ending the run/);
  assert.deepEqual(left, [], 'the run directory is gone');
  if (made) assert.equal(existsSync(made), false, `${made} is gone`);
  assert.equal(running(hangs), false, 'the file\'s process is gone');
});

test('SIGINT and SIGTERM stop the run and its files, with nothing left behind', async () => {
  for (const [signal, exit] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    const { code, output, made, left } = await run({}, (_dir, pid) => process.kill(pid, signal));
    assert.equal(code, exit, `${signal}: ${output}`);
    assert.ok(made, output);
    assert.deepEqual(left, [], `${signal}: the run directory is gone`);
    assert.equal(existsSync(made), false, `${signal}: ${made} is gone`);
    assert.equal(running(hangs), false, `${signal}: the file's process is gone`);
  }
});
