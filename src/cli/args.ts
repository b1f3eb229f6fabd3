/**
 * Reading the command line into a command, its flags and their values. Node's parser words its
 * refusals for another program (an unknown flag gets advice about positional arguments, which
 * this command takes none of), so it only splits the words here, and every refusal is the
 * package's own, in the user's terms, with a suggestion for a near miss.
 */
import { parseArgs } from 'node:util';
import { AsyncmqPostgresError } from '../errors.js';
import { didYouMean, nearest } from './suggest.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

export type OptionValues<T extends Record<string, OptionSpec>> = { [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean };

const usage = (message: string) => new AsyncmqPostgresError('ASYNCMQ_USAGE', message);

/**
 * The flags and the words that are not flags, in order. `aliases` maps spellings users reach for
 * (`schemaVersion`, `postgres-schema-version`) to the flag they mean, for the suggestion.
 */
export function readCommandLine<T extends Record<string, OptionSpec>>(
  args: string[],
  options: T,
  aliases: Readonly<Record<string, string>> = {},
): { values: OptionValues<T>; positionals: string[] } {
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    const flag = token.rawName;
    if (!spec) {
      const known = Object.keys(options);
      const suggestions = nearest(normalize(token.name), known, aliases).map((name) => `--${name}`);
      throw usage(`unknown option ${flag}${didYouMean(suggestions)}${suggestions.length ? '' : '; asyncmq-postgres --help lists the options'}`);
    }
    if (Object.hasOwn(values, token.name)) throw usage(`${flag} is given twice; give it once`);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw usage(`${flag} takes no value (got ${JSON.stringify(token.value)})`);
      values[token.name] = true;
      continue;
    }
    if (token.value === undefined) throw usage(`${flag} needs a value: ${flag} <value>`);
    if (!token.inlineValue && token.value.startsWith('-')) {
      throw usage(`${flag} needs a value, but the next word is the option ${token.value}; a value that starts with - goes as ${flag}=<value>`);
    }
    values[token.name] = token.value;
  }
  return { values: values as OptionValues<T>, positionals };
}

/** `schemaVersion`, `schema_version`, `SCHEMA-VERSION` → `schema-version`, as flags are spelt. */
export function normalize(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/_/g, '-').toLowerCase();
}
