/**
 * The expression printer (src/catalog/node-tree.ts) against trees the server itself made:
 * random expressions are created as index expressions, index predicates, CHECK constraints and
 * generated columns on a real server, read back by the catalog read and printed. Each must
 * print exactly as Postgres's own deparser prints it, or as unreadable; never anything else,
 * and never an exception. The trees' text is then truncated and corrupted, and the printer
 * must still never throw (and never print a truncated tree).
 *
 * The expressions come from a seeded generator: ASYNCMQ_FUZZ_SEED replays a run, and every
 * failure names the seed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sql } from 'postgres';
import { readCatalog, UNREADABLE_EXPRESSION } from '../src/catalog/compare.js';
import { printTreeText, type TreeCatalog } from '../src/catalog/node-tree.js';
import { pgIdent } from '../src/schema/ddl.js';
import { normalizeSql } from '../src/schema/sql-text.js';
import { createDatabase } from './support/db.js';
import { queryable } from './support/queryable.js';

const SEED = Number(process.env.ASYNCMQ_FUZZ_SEED ?? 20261206);

/** mulberry32: a small seeded generator, so that a run can be replayed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}

type Rng = ReturnType<typeof random>;
type Kind = 'int' | 'bigint' | 'smallint' | 'text' | 'bool' | 'jsonb' | 'numeric';

const TABLE = `create table fuzz (
  id int not null, big bigint, n int2, amount numeric, ratio double precision, status text, tag varchar(20),
  flag boolean, data jsonb, created timestamp, tags text[])`;

const STRINGS = ['waiting', "it's", 'ünïcödé', 'a\\b', '%_', '', ' ', 'x"y', 'Ärger', '日本', 'tab\there', 'new\nline', '-1', 'é'];

/** A random SQL expression of the given kind, at most `depth` levels deep. */
function expression(rng: Rng, kind: Kind, depth: number): string {
  const leaf = depth <= 0 || rng.next() < 0.25;
  const sub = (k: Kind) => expression(rng, k, depth - 1);
  const str = () => `'${rng.pick(STRINGS).replace(/'/g, "''")}'`;
  switch (kind) {
    case 'int':
      if (leaf) return rng.pick(['id', String(rng.int(100)), String(-rng.int(100)), '2147483647', '(-2147483647 - 1)']);
      return rng.pick([
        () => `(${sub('int')} ${rng.pick(['+', '-', '*', '/', '%'])} ${sub('int')})`,
        () => `abs(${sub('int')})`,
        () => `length(${sub('text')})`,
        () => `coalesce(${sub('int')}, ${sub('int')})`,
        () => `(${sub('text')})::int`,
        () => `((data ->> ${str()})::int)`,
        () => `case when ${sub('bool')} then ${sub('int')} else ${sub('int')} end`,
        () => `(- ${sub('int')})`,
        () => `(${sub('smallint')})::int`,
        () => `greatest(${sub('int')}, ${sub('int')})`,
      ])();
    case 'bigint':
      if (leaf) return rng.pick(['big', `'${rng.int(1000)}'::bigint`, `(${-rng.int(5)})::bigint`]);
      return rng.pick([() => `(${sub('bigint')} + ${sub('int')})`, () => `(${sub('int')})::bigint`, () => `coalesce(big, ${sub('bigint')})`, () => `(${sub('bigint')} * ${sub('bigint')})`])();
    case 'smallint':
      if (leaf) return rng.pick(['n', `'${rng.int(30)}'::int2`]);
      return rng.pick([() => `(${sub('smallint')} + ${sub('smallint')})`, () => `(${sub('int')})::int2`])();
    case 'numeric':
      if (leaf) return rng.pick(['amount', '1.5', '(ratio)::numeric']);
      return rng.pick([() => `(${sub('numeric')} + ${sub('numeric')})`, () => `round(${sub('numeric')})`])();
    case 'text':
      if (leaf) return rng.pick(['status', 'tag', str(), '(tag)::text', `(data ->> ${str()})`]);
      return rng.pick([
        () => `lower(${sub('text')})`,
        () => `upper(${sub('text')})`,
        () => `(${sub('text')} || ${sub('text')})`,
        () => `coalesce(${sub('text')}, ${sub('text')})`,
        () => `(${sub('int')})::text`,
        () => `substr(${sub('text')}, ${sub('int')})`,
        () => `case when ${sub('bool')} then ${sub('text')} end`,
        () => `(${sub('text')} collate "C")`,
        () => `btrim(${sub('text')})`,
        () => `jsonb_typeof(${sub('jsonb')})`,
      ])();
    case 'jsonb':
      if (leaf) return rng.pick(['data', `'{"a": 1}'::jsonb`]);
      return rng.pick([() => `(data -> ${str()})`, () => `(${sub('jsonb')} -> ${rng.int(3)})`, () => `coalesce(${sub('jsonb')}, data)`])();
    case 'bool':
      if (leaf) return rng.pick(['flag', 'true', 'false', '(status is null)']);
      return rng.pick([
        () => `(${sub('text')} ${rng.pick(['=', '<>', '<', '>=', '~', '~~', '!~~'])} ${sub('text')})`,
        () => `(${sub('int')} ${rng.pick(['=', '<>', '<', '>', '<=', '>='])} ${sub('int')})`,
        () => `(${sub('bigint')} > ${sub('int')})`,
        () => `(${sub('bool')} and ${sub('bool')})`,
        () => `(${sub('bool')} or ${sub('bool')} or ${sub('bool')})`,
        () => `(not ${sub('bool')})`,
        () => `(${sub('text')} is ${rng.pick(['', 'not '])}null)`,
        () => `(${sub('bool')} is ${rng.pick(['true', 'not true', 'false', 'not false', 'unknown', 'not unknown'])})`,
        () => `(${sub('text')} in (${str()}, ${str()}))`,
        () => `(${sub('int')} not in (1, 2, ${rng.int(9)}))`,
        () => `(${sub('text')} = any (array[${str()}, ${sub('text')}]))`,
        () => `(data ? ${str()})`,
        () => `(data @> ${sub('jsonb')})`,
        () => `(${sub('int')} between 1 and ${sub('int')})`,
        () => `(${sub('numeric')} > 0)`,
        () => `(tags && array[${str()}])`,
        () => `(${sub('bool')} = ${sub('bool')})`,
      ])();
  }
}

interface Made {
  what: string;
  sql: string;
}

/** Creates what it can of `count` random objects; each in a savepoint, since many a random expression is refused. */
async function createRandom(sql: Sql, rng: Rng, count: number): Promise<Made[]> {
  const made: Made[] = [];
  const session = await sql.reserve();
  try {
    await session.unsafe('begin');
    for (let i = 0; i < count; i++) {
      const depth = 1 + rng.int(5);
      const variant = rng.int(9);
      const scalar = rng.pick<Kind>(['int', 'text', 'bigint', 'bool', 'jsonb', 'smallint']);
      // Generated columns first: adding one rewrites the table, and with it every index on it.
      const statement =
        i < count / 10
          ? `alter table fuzz add column f_${i} ${scalar === 'bool' ? 'boolean' : scalar} generated always as (${expression(rng, scalar, depth)}) stored`
          : variant < 4
            ? `create index f_${i} on fuzz ((${expression(rng, scalar, depth)}))`
            : variant < 7
              ? `create index f_${i} on fuzz (id) where ${expression(rng, 'bool', depth)}`
              : `alter table fuzz add constraint f_${i} check (${expression(rng, 'bool', depth)})`;
      await session.unsafe('savepoint one');
      try {
        await session.unsafe(statement);
        await session.unsafe('release savepoint one');
        made.push({ what: `f_${i}`, sql: statement });
      } catch {
        await session.unsafe('rollback to savepoint one');
      }
    }
    await session.unsafe('commit');
  } finally {
    session.release();
  }
  return made;
}

/** What Postgres prints for each object, and what the catalog read prints, by name. */
async function printedBoth(sql: Sql): Promise<{ name: string; ours: string; postgres: string }[]> {
  const state = await readCatalog(queryable(sql), [], { tables: ['fuzz'] });
  const table = state.tables[0]!;
  const ours = new Map<string, string>([
    ...table.indexes.map((i) => [i.name, i.definition] as const),
    ...table.constraints.map((c) => [c.name, c.definition] as const),
    ...table.columns.filter((c) => c.generated !== undefined).map((c) => [c.name, c.generated!] as const),
  ]);
  const theirs = await sql<{ name: string; definition: string }[]>`
    select c.relname as name, regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+ ', '\\1') as definition
      from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = 'fuzz'::regclass
    union all select conname, pg_get_constraintdef(oid) from pg_constraint where conrelid = 'fuzz'::regclass and contype = 'c'
    union all select a.attname, pg_get_expr(d.adbin, d.adrelid) from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
      where d.adrelid = 'fuzz'::regclass and a.attgenerated <> ''`;
  return theirs.map((t) => ({ name: t.name, ours: ours.get(t.name) ?? '(not read)', postgres: normalizeSql(t.definition) }));
}

// Text constants are stored in the database's encoding: UTF8 (the server's default here),
// LATIN1 (one byte a character), and SQL_ASCII (bytes with no encoding at all).
for (const encoding of [undefined, 'LATIN1', 'SQL_ASCII']) {
  test(`random expressions the server stored print as Postgres prints them, or as unreadable, in ${encoding ?? 'the default'} encoding (seed ${SEED})`, async () => {
    const db = await createDatabase(encoding ? { encoding } : {});
    await db.sql.unsafe(TABLE);
    const rng = random(SEED);
    const made = await createRandom(db.sql, rng, encoding ? 250 : 400);
    assert.ok(made.length >= 100, `only ${made.length} of the random objects were created (seed ${SEED})`);
    const rows = await printedBoth(db.sql);
    assert.equal(rows.length, made.length);
    const readable = rows.filter((r) => !r.ours.includes(UNREADABLE_EXPRESSION));
    for (const row of readable) {
      const statement = made.find((m) => m.what === row.name)?.sql;
      assert.equal(row.ours, row.postgres, `seed ${SEED}, ${row.name}: ${statement}`);
    }
    for (const row of rows.filter((r) => r.ours.includes(UNREADABLE_EXPRESSION))) assert.notEqual(row.ours, row.postgres);
    // The generator reaches well into what the printer prints, so the equality above is tested.
    assert.ok(readable.length >= rows.length / 4, `only ${readable.length} of ${rows.length} readable (seed ${SEED})`);
    if (encoding === 'LATIN1') assert.ok(readable.some((r) => /[^\x00-\x7f]/.test(r.ours)), 'a non-ASCII constant printed from LATIN1');
  });
}

/** The catalog the printer names things with, read whole from the server (the catalog read names only what trees refer to). */
async function wholeCatalog(sql: Sql, table: string, encoding: string): Promise<TreeCatalog> {
  const types = new Map((await sql`select oid::int as oid, format_type(oid, null) as name, typtype as kind, typcollation::int as collation from pg_type`).map((t) => [t.oid as number, t as never]));
  const operators = new Map(
    (await sql`select o.oid::int as oid, oprname as name, nspname as namespace, oprleft::int as left, oprright::int as right, oprresult::int as result
      from pg_operator o join pg_namespace n on n.oid = o.oprnamespace`).map((o) => [o.oid as number, o as never]),
  );
  const functions = new Map(
    (await sql`select p.oid::int as oid, quote_ident(proname) as name, nspname as namespace, proargtypes::int[] as args, prorettype::int as result,
        provariadic <> 0 as variadic, proretset as "returnsSet" from pg_proc p join pg_namespace n on n.oid = p.pronamespace`).map((f) => [f.oid as number, f as never]),
  );
  const columns = new Map(
    (await sql`select attnum::int as num, attname as name, atttypid::int as type, atttypmod as typmod, attcollation::int as collation
      from pg_attribute where attrelid = ${table}::regclass and attnum > 0`).map((c) => [c.num as number, { ...c, name: pgIdent(c.name as string) } as never]),
  );
  return { encoding, column: (n) => columns.get(n), type: (o) => types.get(o), operator: (o) => operators.get(o), func: (o) => functions.get(o) };
}

/** Ways to damage a tree's text: what a reader of text from the database must survive. */
function corruptions(rng: Rng, text: string): string[] {
  const tokens = text.split(/(\s+|[{}()])/).filter((t) => t !== '');
  const at = () => rng.int(tokens.length);
  const withTokens = (change: (t: string[]) => void) => {
    const copy = [...tokens];
    change(copy);
    return copy.join('');
  };
  return [
    text.slice(0, 1 + rng.int(Math.max(1, text.length - 1))),
    withTokens((t) => t.splice(at(), 1)),
    withTokens((t) => t.splice(at(), 0, rng.pick(['{', '}', '(', ')', '<>', ':args', '[', ']', '-129', '256', '99999999999999999999', 'true', '{CONST', ':constvalue']))),
    withTokens((t) => {
      const [i, j] = [at(), at()];
      [t[i], t[j]] = [t[j]!, t[i]!];
    }),
    withTokens((t) => {
      const i = t.findIndex((x, k) => k >= at() && /^-?\d+$/.test(x));
      if (i >= 0) t[i] = String(rng.pick([0, -1, 1, 16, 23, 25, 127, -128, 2147483647, 4294967295, rng.int(100000)]));
    }),
    withTokens((t) => {
      const i = t.findIndex((x, k) => k >= at() && /^[A-Z]+$/.test(x));
      if (i >= 0) t[i] = rng.pick(['OPEXPR', 'FUNCEXPR', 'CONST', 'VAR', 'BOOLEXPR', 'CASEEXPR', 'SUBLINK', 'ARRAYEXPR']);
    }),
    text.replace(/:constvalue (\d+) \[/, (_, n: string) => `:constvalue ${Number(n) + rng.int(5) - 2} [`),
    text + rng.pick([' }', ' (', ' x', '']),
  ];
}

test(`truncated and corrupted trees never make the printer throw, and a truncated one never prints (seed ${SEED})`, async () => {
  const db = await createDatabase();
  await db.sql.unsafe(TABLE);
  const rng = random(SEED + 1);
  await createRandom(db.sql, rng, 150);
  const trees = (
    await db.sql<{ tree: string }[]>`
      select indexprs::text as tree from pg_index where indrelid = 'fuzz'::regclass and indexprs is not null
      union all select indpred::text from pg_index where indrelid = 'fuzz'::regclass and indpred is not null
      union all select conbin::text from pg_constraint where conrelid = 'fuzz'::regclass and conbin is not null
      union all select adbin::text from pg_attrdef where adrelid = 'fuzz'::regclass`
  ).map((r) => r.tree);
  assert.ok(trees.length >= 50, String(trees.length));
  const catalog = await wholeCatalog(db.sql, 'fuzz', 'UTF8');
  let printed = 0;
  for (const tree of trees) {
    for (const [k, damaged] of corruptions(rng, tree).entries()) {
      let result: ReturnType<typeof printTreeText>;
      assert.doesNotThrow(() => void (result = printTreeText(damaged, catalog)), `seed ${SEED}: ${damaged.slice(0, 200)}`);
      assert.ok(Array.isArray(result!) && result.every((r) => r === undefined || typeof r.sql === 'string'));
      if (k === 0 && damaged.trim() !== tree.trim()) assert.deepEqual(result!, [undefined], `a truncated tree printed: ${damaged}`);
      printed += result!.filter(Boolean).length;
    }
    // The same trees in other encodings' terms: decoded as such, or unreadable.
    for (const encoding of ['LATIN1', 'SQL_ASCII', 'EUC_JP']) assert.doesNotThrow(() => printTreeText(tree, { ...catalog, encoding }));
  }
  assert.ok(printed > 0, 'some damaged trees are still trees, and print');
  // Nesting far deeper than any expression, and text that is no tree at all.
  for (const text of ['', '<>', '{', '}', '(', ')', '{CONST}', ':constvalue', '{CONST :constvalue 4 [ 1 2', '({'.repeat(100_000), `${'{BOOLEXPR :boolop not :args ('.repeat(5000)}{VAR}${'))}'.repeat(5000)}`]) {
    assert.deepEqual(printTreeText(text, catalog), [undefined], text.slice(0, 40));
  }
});
