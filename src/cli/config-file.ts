/**
 * The app's configuration, for the command: a file whose default export is the app's tables
 * (`createAsyncmqSchema(...)`, the very object its code queries) or an object of settings
 * (`{ postgresSchema: 'asyncmq', postgresSchemaVersion: '0.9' }`). Given by `--config`, or found
 * in the current directory as `asyncmq.config.ts` (or .mts, .cts, .js, .mjs, .cjs), as
 * drizzle-kit finds `drizzle.config.ts`.
 *
 * TypeScript is loaded by what the app already has, never by a dependency of this package:
 * the runtime itself when it reads TypeScript (Node 22.18 on, or 22.6 with
 * --experimental-strip-types; a loader already registered), else tsx, which drizzle-kit uses
 * for its own config and brings along, found from the config file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AsyncmqPostgresError } from '../errors.js';
import { ENV_VARS, type AsyncmqSettings } from '../config/settings.js';
import type { AsyncmqSchemaTables } from '../schema/backend.js';
import { didYouMean, nearest } from './suggest.js';

/** The names looked for in the current directory, first found first. */
export const CONFIG_NAMES = ['asyncmq.config.ts', 'asyncmq.config.mts', 'asyncmq.config.cts', 'asyncmq.config.js', 'asyncmq.config.mjs', 'asyncmq.config.cjs'];

export interface AppConfig {
  /** The file's absolute path. */
  path: string;
  /** The file as the user would write it: as given to --config, or its name in the current directory. */
  shown: string;
  /** True when --config named it (a printed command must name it too). */
  given: boolean;
  tables?: AsyncmqSchemaTables;
  settings?: AsyncmqSettings;
}

const usage = (message: string, cause?: unknown) => new AsyncmqPostgresError('ASYNCMQ_USAGE', message, cause === undefined ? {} : { cause });

/** The configuration `--config` names, or the one found in `cwd`; undefined when there is none. */
export async function readConfig(given: string | undefined, cwd: string): Promise<AppConfig | undefined> {
  const found = given === undefined ? CONFIG_NAMES.find((name) => existsSync(resolve(cwd, name))) : given;
  if (found === undefined) return undefined;
  const path = resolve(cwd, found);
  const shown = given ?? found;
  if (!existsSync(path)) throw usage(`--config ${shown}: no such file${isAbsolute(found) ? '' : ` in ${cwd}`}`);
  const exported = defaultExport(await load(path, shown));
  if (exported === undefined || exported === null || typeof exported !== 'object' || Array.isArray(exported)) {
    throw usage(
      `${shown} must export as default the app's tables (export default createAsyncmqSchema({ ... })) or its settings ` +
        `(export default { postgresSchemaVersion: '0.9', ... }); it exports ${exported === undefined ? 'no default' : describe(exported)}`,
    );
  }
  if ('jobs' in exported) return { path, shown, given: given !== undefined, tables: exported as AsyncmqSchemaTables };
  return { path, shown, given: given !== undefined, settings: checkSettings(exported as Record<string, unknown>, shown) };
}

/** Only settings the package has: a misspelt key would otherwise be ignored, and other tables meant. */
function checkSettings(settings: Record<string, unknown>, shown: string): AsyncmqSettings {
  const keys = Object.keys(ENV_VARS);
  for (const key of Object.keys(settings)) {
    if (keys.includes(key)) continue;
    throw usage(`${shown}: ${key} is not a setting${didYouMean(nearest(key, keys))}; the settings: ${keys.join(', ')}`);
  }
  return settings as AsyncmqSettings;
}

/**
 * The default export. A file compiled from ESM syntax to CommonJS (tsx does so where the app's
 * package.json does not say "type": "module") comes as its exports object, marked __esModule,
 * holding `default`.
 */
function defaultExport(module: { default?: unknown }): unknown {
  const value = module.default;
  if (value !== null && typeof value === 'object' && (value as { __esModule?: unknown }).__esModule) return (value as { default?: unknown }).default;
  return value;
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Errors that say the runtime reads no TypeScript, or not this TypeScript (tsx may). */
const NEEDS_A_LOADER = new Set(['ERR_UNKNOWN_FILE_EXTENSION', 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX', 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING']);

async function load(path: string, shown: string): Promise<{ default?: unknown }> {
  const url = pathToFileURL(path).href;
  const typescript = /\.[cm]?ts$/.test(path);
  let first: unknown;
  try {
    return (await import(url)) as { default?: unknown };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    // Node's type stripping does not map `./tables.js` to `./tables.ts`, which tsx does.
    const retry = typescript && (NEEDS_A_LOADER.has(String(code)) || code === 'ERR_MODULE_NOT_FOUND');
    if (!retry) throw usage(`${shown} failed to load: ${(error as Error)?.message ?? String(error)}`, error);
    first = error;
  }
  const tsx = findTsx(path);
  if (tsx === undefined) {
    if ((first as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') throw usage(`${shown} failed to load: ${(first as Error).message}`, first);
    throw usage(
      `${shown} is TypeScript, which this Node (${process.version}) does not load by itself, and no tsx was found from ` +
        `${relative(process.cwd(), path) || basename(path)} (drizzle-kit brings it): install it (npm install --save-dev tsx), ` +
        'run a Node that strips types (22.18 or later), or write the config as asyncmq.config.mjs',
      first,
    );
  }
  try {
    const { tsImport } = (await import(tsx)) as { tsImport: (specifier: string, parentURL: string) => Promise<{ default?: unknown }> };
    return await tsImport(url, url);
  } catch (error) {
    throw usage(`${shown} failed to load (through tsx): ${(error as Error)?.message ?? String(error)}`, error);
  }
}

/**
 * tsx's ESM API (its `import` export: the CommonJS build of it cannot register the ESM hooks),
 * from the app: its own tsx, or the one its drizzle-kit depends on.
 */
function findTsx(path: string): string | undefined {
  const app = createRequire(path);
  const attempts = [() => app.resolve('tsx/package.json'), () => createRequire(app.resolve('drizzle-kit')).resolve('tsx/package.json')];
  for (const attempt of attempts) {
    let manifest: string;
    try {
      manifest = attempt();
    } catch {
      continue; // not there: try the next place
    }
    const api = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, unknown> }).exports?.['./esm/api'] as
      | { import?: { default?: string } | string }
      | undefined;
    const target = typeof api?.import === 'string' ? api.import : api?.import?.default;
    if (target) return pathToFileURL(resolve(dirname(manifest), target)).href;
  }
  return undefined;
}
