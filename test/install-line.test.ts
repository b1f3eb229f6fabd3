/**
 * The README's install line, run as an app runs it, against the registry's current releases:
 * the package packed from this checkout, then `npm install asyncmq-postgres drizzle-orm
 * postgres` in an empty app with the tarball in the package's place, and nothing else (no
 * --legacy-peer-deps, no --force). npm refuses the line with ERESOLVE as soon as a peer range
 * of the package shuts out the release the registry calls `latest` (postgres.js 4 against a
 * `^3` range did), so this fails on the day a new major ships that the ranges do not admit.
 *
 * Needs the npm registry. Self-contained: its own build and pack in a temporary directory
 * (never the checkout's dist/), removed at the end however the test ends.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The README's app install line, as written. */
async function installLine(): Promise<string[]> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const shell = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'));
  const line = shell.find((l) => l.startsWith('npm install asyncmq-postgres'));
  assert.ok(line, 'the README shows how an app installs the package');
  return line.trim().split(/\s+/);
}

/**
 * npm's environment without configuration inherited from whoever runs the tests (`npm test`
 * passes its own as npm_config_*): a legacy-peer-deps or force there would hide the failure.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

/**
 * npm, bounded: a registry that stops answering fails the test (and the temporary directory
 * goes) well before the runner's 120 s for the file would kill it.
 */
function npm(args: string[], cwd: string, timeout: number): { status: number | null; stdout: string; output: string } {
  const run = spawnSync('npm', args, { cwd, env: npmEnv(), encoding: 'utf8', timeout });
  return { status: run.status, stdout: run.stdout, output: `${run.stdout}\n${run.stderr}${run.error ? `\n${run.error.message}` : ''}` };
}

/** The package as npm would publish it, packed from a build of its own; returns the tarball's path. */
async function pack(work: string): Promise<string> {
  const staged = join(work, 'package');
  await mkdir(staged);
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(staged, 'dist')], { stdio: 'pipe' });
  for (const entry of ['package.json', 'README.md', 'LICENSE', 'drizzle', 'drizzle-1.0']) await cp(join(root, entry), join(staged, entry), { recursive: true });
  // --ignore-scripts: prepack would build into dist/ again.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: staged, env: npmEnv(), encoding: 'utf8', timeout: 20_000 }));
  return join(work, packed[0].filename as string);
}

test("the README's install line succeeds with the registry's latest drizzle-orm and postgres, and installs them", async () => {
  const work = await mkdtemp(join(tmpdir(), 'asyncmq-install-line-'));
  try {
    const tarball = await pack(work);
    const app = join(work, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);

    const [command, verb, ...packages] = await installLine();
    assert.deepEqual([command, verb], ['npm', 'install']);
    assert.deepEqual(packages.filter((p) => p.startsWith('-')), [], 'the line as an app types it, with no flag that would hide a conflict');
    const args = [verb!, ...packages.map((p) => (p === 'asyncmq-postgres' ? tarball : p))];
    const installed = npm(args, app, 70_000);
    assert.equal(installed.status, 0, `npm ${args.join(' ')} failed:\n${installed.output}`);

    for (const name of packages.filter((p) => p !== 'asyncmq-postgres')) {
      const latest = npm(['view', name, 'dist-tags.latest'], app, 10_000);
      assert.equal(latest.status, 0, latest.output);
      const version = JSON.parse(await readFile(join(app, 'node_modules', name, 'package.json'), 'utf8')).version;
      assert.equal(version, latest.stdout.trim(), `${name}: the line installed ${version}, the registry's latest is ${latest.stdout.trim()}`);
    }
    const own = JSON.parse(await readFile(join(app, 'node_modules/asyncmq-postgres/package.json'), 'utf8'));
    assert.equal(own.name, 'asyncmq-postgres');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
