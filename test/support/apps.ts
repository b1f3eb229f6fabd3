/**
 * The example apps (examples/drizzle-kit-owns, examples/installer-owns) set up as an app would
 * have them, with the package in their node_modules, and run: drizzle-kit with no terminal and
 * a deadline, the app's own functions in a process of their own.
 *
 * ASYNCMQ_TEST_DRIZZLE_MODULES names a node_modules holding another drizzle-orm and drizzle-kit
 * (the 1.0 lane of .ci/run); by default the apps use this checkout's.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HANG_MS } from './patience.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const drizzleModules = process.env.ASYNCMQ_TEST_DRIZZLE_MODULES ?? join(root, 'node_modules');
export const kitVersion: string = JSON.parse(
  execFileSync(process.execPath, ['-p', 'JSON.stringify(require("./drizzle-kit/package.json").version)'], { cwd: drizzleModules, encoding: 'utf8' }),
);

export const EXAMPLES = { kitOwns: 'drizzle-kit-owns', installerOwns: 'installer-owns' } as const;

/**
 * Copies an example into `work` and puts the package (`install(target)` fills
 * node_modules/asyncmq-postgres) and the app's dependencies beside it.
 */
export async function setUpApp(work: string, example: string, install: (target: string) => Promise<void> | void): Promise<string> {
  const app = join(work, example);
  await cp(join(root, 'examples', example), app, { recursive: true });
  const target = join(app, 'node_modules/asyncmq-postgres');
  await mkdir(target, { recursive: true });
  await install(target);
  // drizzle from the line under test, the rest from this checkout.
  for (const dep of ['drizzle-orm', 'drizzle-kit']) await symlink(join(drizzleModules, dep), join(app, 'node_modules', dep));
  for (const dep of ['postgres', 'tsx', '@types']) await symlink(join(root, 'node_modules', dep), join(app, 'node_modules', dep));
  return app;
}

/**
 * The package as npm would ship it, `npm pack`ed into `work` from a build of its own (never the
 * checkout's dist/, which another test file may be building at the same time). Returns the
 * tarball's path and the files it holds.
 */
export async function pack(work: string): Promise<{ tarball: string; files: string[] }> {
  const stage = join(work, 'stage');
  await installBuilt(work, stage);
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: stage, encoding: 'utf8' }));
  return { tarball: join(work, packed.filename), files: packed.files.map((f: { path: string }) => f.path) };
}

/** The package as `npm pack` lays it out, from a build of its own (so test files never share dist/). */
export async function installBuilt(work: string, target: string): Promise<void> {
  const out = join(work, 'build');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'pipe' });
  for (const entry of ['package.json', 'drizzle', 'drizzle-1.0', 'LICENSE', 'README.md']) await cp(join(root, entry), join(target, entry), { recursive: true });
  await cp(out, join(target, 'dist'), { recursive: true });
}

/** drizzle-kit with no terminal and no input (it would wait for an answer forever), bounded in time. */
export function kit(app: string, args: string[], url: string): Promise<{ code: number | null; output: string }> {
  const env = { ...process.env, DATABASE_URL: url };
  const child = spawn(process.execPath, [join(app, 'node_modules/drizzle-kit/bin.cjs'), ...args], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve({ code, output }))));
}

export async function kitOk(app: string, args: string[], url: string): Promise<string> {
  const { code, output } = await kit(app, args, url);
  assert.equal(code, 0, `drizzle-kit ${args.join(' ')}:\n${output}`);
  return output;
}

export interface AppResult {
  ok: boolean;
  value?: unknown;
  error?: { code?: string; message: string };
}

/** Runs one of the app's exported functions in a process of its own, the way the app runs. */
export function runApp(app: string, fn: 'startup' | 'enqueueAndFetch', url: string): AppResult {
  const script = `import(${JSON.stringify(join(app, 'app.ts'))}).then((m) => m.${fn}(${JSON.stringify(url)}))
    .then((value) => console.log(JSON.stringify({ ok: true, value: value ?? null })),
          (e) => console.log(JSON.stringify({ ok: false, error: { code: e.code, message: e.message } })))`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: app, encoding: 'utf8', timeout: HANG_MS });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!);
}

/** Every SQL file drizzle-kit wrote (0.x: drizzle/NNNN_x.sql; 1.0: drizzle/<stamp>_x/migration.sql). */
export async function migrationSql(app: string): Promise<string[]> {
  const entries = await readdir(join(app, 'drizzle'), { recursive: true }).catch(() => [] as string[]);
  const sqlFiles = entries.filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(sqlFiles.map((f) => readFile(join(app, 'drizzle', f), 'utf8')));
}

/** Type-checks an app with the given TypeScript package of this checkout; the compiler's output on failure. */
export function typecheck(app: string, typescriptPackage: 'typescript' | 'typescript7'): { major: string; status: number | null; output: string } {
  const tsc = join(root, 'node_modules', typescriptPackage, 'bin/tsc');
  const major = /Version (\d+)\./.exec(execFileSync(process.execPath, [tsc, '--version'], { encoding: 'utf8' }))?.[1] ?? '?';
  const result = spawnSync(process.execPath, [tsc, '-p', app], { encoding: 'utf8' });
  return { major, status: result.status, output: result.stdout + result.stderr };
}
