/**
 * Another role's code never runs through the package (CVE-2018-1058's pattern): every SQL text
 * it sends names pg_catalog's functions, operators, types and relations, whatever the session's
 * search_path holds.
 *
 * Two proofs, both derived from the SQL the package really sends, so that a new statement is
 * covered as soon as it exists:
 * - Lexically: every statement of every path, captured from the driver, is read token by token;
 *   a function call, a cast, an operator or a catalog relation that is not pg_catalog's by name
 *   fails the test.
 * - On a real server: a schema placed before pg_catalog in a superuser's search_path holds a
 *   copy of every pg_catalog function and operator those statements name (same argument types,
 *   so it hides pg_catalog's for an unqualified call), a domain for every type they cast to, and
 *   a view for every catalog they read. Each copy counts its calls and raises. Every path then
 *   runs as that superuser, through each driver, and must succeed with no call counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drizzle } from 'drizzle-orm/postgres-js';
import pg from 'pg';
import postgres, { type Sql } from 'postgres';
import { renderPoisonFix, renderPoisonScan } from '../src/catalog/poison.js';
import { main } from '../src/cli.js';
import { inspectPostgresBackend, installOrDropPostgresBackend, type InstallOrDropOptions } from '../src/index.js';
import { adminSql, createDatabase, type TestDatabase } from './support/db.js';
import { createRole } from './support/roles.js';
import { at } from './support/versions.js';

type Connection = Pick<InstallOrDropOptions, 'connectionString' | 'pool' | 'db' | 'client'>;

/**
 * Every path of the package on one connection: a first install, a no-op, status, the check-only
 * mode, an index missing from a table in use built concurrently (the build session's settings
 * saved, lifted and restored), the upgrade 0.1 → 0.9 with rows (a concurrent build, the key
 * swap), the poison check (status's read of the jobs table, the builds of the asyncmq-0.9
 * profile's indexes refused and then made, the fix and remove statements status prints), status
 * of a role, and drop.
 */
async function everyPath(connection: Connection, sql: Sql): Promise<void> {
  assert.ok((await installOrDropPostgresBackend({ ...connection, ...at('0.1') })).created.length > 0);
  assert.deepEqual((await installOrDropPostgresBackend({ ...connection, ...at('0.1') })).created, []);
  assert.equal((await inspectPostgresBackend({ ...connection, ...at('0.1') })).ok, true);
  await installOrDropPostgresBackend({ ...connection, ...at('0.1'), verifyOnly: true });
  await sql.unsafe(`insert into public.asyncmq_jobs (queue_name, job_id, data) values ('q', 'j1', '{}'), ('q', 'j2', '{}')`);
  await sql.unsafe('drop index public.idx_asyncmq_jobs_status');
  const built = await installOrDropPostgresBackend({ ...connection, ...at('0.1'), concurrentIndexes: true });
  assert.deepEqual(built.created, ['index public.idx_asyncmq_jobs_status']);
  assert.equal((await installOrDropPostgresBackend({ ...connection, ...at('0.9'), upgrade: true })).upgradedFrom, '0.1');
  // Jobs AsyncMQ 0.9's casts cannot read: status reads the table for them, the asyncmq-0.9
  // profile's index builds are refused over them, the statements status prints fix one queue
  // (named texts) and remove the other (a text that cannot be named: the rule itself), and the
  // builds then go through, after which status needs no read (the indexes prove it).
  await sql.unsafe(`insert into public.asyncmq_jobs (queue_name, job_id, data, status) values
    ('q', 'bad', '{"priority": "high", "delay_until": "soon"}', 'waiting'), ('r', 'worse', '{"priority": "1e3", "delay_until": "soon\\u0001"}', 'delayed')`);
  const poisoned = (await inspectPostgresBackend({ ...connection, ...at('0.9') })).poisonJobs!;
  assert.deepEqual([poisoned.state, poisoned.queueCount], ['checked', 2]);
  const profile = { ...connection, env: {}, settings: { postgresSchemaVersion: '0.9', postgresIndexes: 'asyncmq-0.9' } } as const;
  const refused = await installOrDropPostgresBackend({ ...profile, concurrentIndexes: true });
  assert.deepEqual(refused.pendingIndexes.map((p) => p.reason), ['poison-jobs', 'poison-jobs']);
  for (const statement of poisoned.queues[0]!.fixes) await sql.unsafe(statement);
  await sql.unsafe(poisoned.queues[1]!.remove);
  assert.deepEqual((await installOrDropPostgresBackend({ ...profile, concurrentIndexes: true })).created, [
    'index public.idx_asyncmq_jobs_by_priority',
    'index public.idx_asyncmq_jobs_by_delay',
  ]);
  assert.equal((await inspectPostgresBackend(profile)).poisonJobs?.state, 'proven');
  const status = await inspectPostgresBackend({ ...connection, ...at('0.9'), role: 'postgres' });
  assert.equal(status.ok, true, JSON.stringify(status.tables.flatMap((t) => t.items.filter((i) => i.status !== 'present'))));
  assert.equal((await installOrDropPostgresBackend({ ...connection, ...at('0.9'), drop: true })).dropped.length, 5);
}

// Words that may stand before a parenthesis without being a function of some schema: the
// grammar's own constructs, key words, and access methods.
const NOT_FUNCTIONS = new Set([
  'any', 'all', 'as', 'btree', 'coalesce', 'greatest', 'exists', 'in', 'join', 'key', 'operator', 'select', 'then', 'unique', 'values', 'array', 'using',
  'else', 'and', 'or', 'not', 'on', 'where', 'from', 'with', 'over', 'filter',
]);
// Type names the grammar maps to pg_catalog's itself.
const KEYWORD_TYPES = new Set(['int', 'integer', 'bigint', 'smallint', 'boolean', 'double', 'real', 'numeric', 'timestamp', 'serial']);

interface Reached {
  functions: Set<string>;
  operators: Set<string>;
  types: Set<string>;
  relations: Set<string>;
}

/** What one statement names, and where it names something that is not pg_catalog's by name. */
function scan(text: string, reached: Reached): string[] {
  const tokens = text.match(/'(?:[^']|'')*'|"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*|\$\d+|\d+|::|[+\-*/<>=~!@#%^&|`?]+|\s+|./gy) ?? [];
  const words = tokens.map((t, i) => ({ t, i })).filter(({ t }) => !/^\s+$/.test(t));
  const ctes = new Set([...text.matchAll(/(?:\bwith|,)\s+([a-z_]+) as \(/gi)].map((m) => m[1]!.toLowerCase()));
  const faults: string[] = [];
  words.forEach(({ t }, k) => {
    const before = words[k - 1]?.t ?? '';
    const qualified = before === '.' && words[k - 2]?.t === 'pg_catalog';
    const after = words[k + 1]?.t;
    if (/^[A-Za-z_]/.test(t) && t !== 'pg_catalog' && after !== '.') {
      const word = t.toLowerCase();
      if (before === '::') {
        if (qualified || KEYWORD_TYPES.has(word)) return;
        faults.push(`the type ${t}`);
      } else if (after === '(') {
        if (qualified) reached.functions.add(word);
        else if (!NOT_FUNCTIONS.has(word)) faults.push(`the function ${t}()`);
      } else if (/^(from|join)$/i.test(before) || (before === '.' && words[k - 2]?.t === 'pg_catalog')) {
        if (qualified) {
          if (word.startsWith('pg_')) reached.relations.add(word);
        } else if (!ctes.has(word) && !/^"/.test(t)) faults.push(`the relation ${t}`);
      } else if (qualified && before === '.' && words[k - 3]?.t === '::') reached.types.add(word);
    }
    if (/^[+\-*/<>=~!@#%^&|`?]+$/.test(t)) {
      const inOperator = before === '.' && words[k - 2]?.t === 'pg_catalog' && words[k - 4]?.t.toUpperCase() === 'OPERATOR';
      if (inOperator) reached.operators.add(t);
      // `count(*)`, and an UPDATE's `SET column =`: an argument list and an assignment, not operators.
      else if (!(t === '*' && before === '(' && after === ')') && !(t === '=' && words[k - 2]?.t.toUpperCase() === 'SET')) faults.push(`the operator ${t}`);
    }
  });
  // A cast to a qualified type: `::pg_catalog.text`.
  for (const m of text.matchAll(/::pg_catalog\.("?[a-z_]+"?)/g)) reached.types.add(m[1]!);
  return faults;
}

/** Runs `body` with every statement the package sends on a URL captured from the driver. */
async function captured(body: (connection: Connection) => Promise<void>): Promise<string[]> {
  const texts: string[] = [];
  await body({ pool: { debug: (_connection: number, text: string) => void texts.push(text) } });
  return texts;
}

/**
 * Plants, in `db`, a schema `evil` holding a copy of every pg_catalog function and operator
 * named in `reached` (each counts its call in evil.hits and raises), a domain over every type,
 * and a view over every catalog relation. Returns how many it made of each.
 */
async function plantShadows(db: TestDatabase, reached: Reached): Promise<Record<string, number>> {
  const sql = db.sql;
  await sql.unsafe(`
    create schema evil;
    grant usage on schema evil to public;
    create sequence evil.hits;
    grant usage on sequence evil.hits to public;
    create function evil.reached(what text) returns boolean language plpgsql as $$
      begin perform pg_catalog.nextval('evil.hits'); raise exception 'search_path hijack: % ran', what; end $$;`);
  const array = (names: Set<string>) => `array[${[...names].map((n) => `'${n.replace(/"/g, '')}'`).join(', ')}]::text[]`;
  // Functions and aggregates, with their exact argument lists; pseudo-types plpgsql cannot take
  // ("any", internal, cstring) are skipped: the lexical scan covers their calls.
  await sql.unsafe(`do $do$ declare p record; n int := 0; begin
    for p in select f.proname, f.prokind, pg_get_function_identity_arguments(f.oid) as args, pg_get_function_result(f.oid) as result,
        f.prorettype::regtype::text as rettype
      from pg_proc f where f.pronamespace = 'pg_catalog'::regnamespace and f.proname = any(${array(reached.functions)}) and f.prokind in ('f', 'a') loop
      n := n + 1;
      begin
        if p.prokind = 'f' then
          execute format('create function evil.%I(%s) returns %s language plpgsql as $b$ begin perform evil.reached(%L); end $b$',
            p.proname, p.args, p.result, p.proname || '(' || p.args || ')');
        else
          execute format('create function evil.%I(text%s) returns text language plpgsql as $b$ begin perform evil.reached(%L); return null; end $b$',
            'agg_step_' || n, case when p.args = '' then '' else ', ' || p.args end, p.proname || '(' || p.args || ')');
          execute format('create function evil.%I(text) returns %s language plpgsql as $b$ begin perform evil.reached(%L); return null; end $b$',
            'agg_final_' || n, p.rettype, p.proname);
          execute format('create aggregate evil.%I(%s) (sfunc = evil.%I, stype = text, finalfunc = evil.%I, initcond = %L)',
            p.proname, case when p.args = '' then '*' else p.args end, 'agg_step_' || n, 'agg_final_' || n, '');
        end if;
      exception when others then null;
      end;
    end loop;
  end $do$`);
  // Operators: every pg_catalog operator of each name, with the same operand types.
  await sql.unsafe(`do $do$ declare o record; n int := 0; begin
    for o in select oprname, oprleft::regtype::text as l, oprright::regtype::text as r, oprresult::regtype::text as res
      from pg_operator where oprnamespace = 'pg_catalog'::regnamespace and oprname = any(${array(reached.operators)}) loop
      n := n + 1;
      begin
        execute format('create function evil.%I(%s) returns %s language plpgsql as $b$ begin perform evil.reached(%L); return null; end $b$',
          'op_' || n, case when o.l = '-' then o.r else o.l || ', ' || o.r end, o.res, 'operator ' || o.oprname);
        execute format('create operator evil.%s (%s rightarg = %s, function = evil.%I)', o.oprname,
          case when o.l = '-' then '' else 'leftarg = ' || o.l || ',' end, o.r, 'op_' || n);
      exception when others then null;
      end;
    end loop;
  end $do$`);
  const list = (names: Set<string>) => [...names].map((n) => n.replace(/"/g, ''));
  for (const type of list(reached.types)) {
    await sql.unsafe(`create domain evil."${type}" as pg_catalog."${type}" check (evil.reached('type ${type}'))`);
  }
  // A view cannot hold a column of a pseudo-type (pg_attribute.attmissingval is anyarray).
  await sql.unsafe(`do $do$ declare r text; begin
    foreach r in array ${array(reached.relations)} loop
      execute format('create view evil.%I as select %s from pg_catalog.%I where evil.reached(%L)', r,
        (select string_agg(quote_ident(attname), ', ' order by attnum) from pg_attribute
          where attrelid = ('pg_catalog.' || r)::regclass and attnum > 0 and not attisdropped and atttypid <> 'anyarray'::regtype),
        r, 'relation ' || r);
    end loop;
  end $do$`);
  const [counts] = await sql.unsafe<[Record<string, number>]>(`
    select (select count(*)::int from pg_proc where pronamespace = 'evil'::regnamespace and proname = any(${array(reached.functions)})) as functions,
           (select count(*)::int from pg_operator where oprnamespace = 'evil'::regnamespace) as operators,
           (select count(*)::int from pg_type where typnamespace = 'evil'::regnamespace and typtype = 'd') as types,
           (select count(*)::int from pg_class where relnamespace = 'evil'::regnamespace and relkind = 'v') as views`);
  return counts;
}

const hits = async (db: TestDatabase) => (await db.sql<[{ n: string }]>`select case when is_called then last_value else 0 end::text as n from evil.hits`)[0].n;

test("the package's SQL names only pg_catalog's functions, operators, types and catalogs, on every path", async () => {
  const db = await createDatabase();
  const texts = await captured((connection) => everyPath({ ...connection, connectionString: db.url }, db.sql));
  const reached: Reached = { functions: new Set(), operators: new Set(), types: new Set(), relations: new Set() };
  // The poison check's SQL is chosen by the server's version: both forms, whichever server this is.
  for (const version of [150000, 160000]) {
    texts.push(renderPoisonScan('"public"."asyncmq_jobs"', ['priority', 'delay_until'], version));
    for (const field of ['priority', 'delay_until'] as const) texts.push(renderPoisonFix('"public"."asyncmq_jobs"', 'q', field, {}, version));
  }
  const faults = texts.flatMap((text) => scan(text, reached).map((fault) => `${fault} in: ${text.slice(0, 160)}`));
  assert.deepEqual(faults, []);
  // The scan found what the package uses, so the planted shadows below cover it.
  for (const name of ['quote_ident', 'to_jsonb', 'unnest', 'has_database_privilege', 'set_config', 'now', 'count']) assert.ok(reached.functions.has(name), name);
  for (const name of ['=', '<>', '>', '->>', '~', '~*', '||']) assert.ok(reached.operators.has(name), name);
  for (const name of ['pg_input_is_valid', 'regexp_match', 'jsonb_set', 'rpad']) assert.ok(reached.functions.has(name), name);
});

test('a superuser whose search_path puts another schema before pg_catalog runs no function of it, on any path or driver', async () => {
  // The names to shadow, from the SQL itself.
  const probe = await createDatabase();
  const reached: Reached = { functions: new Set(), operators: new Set(), types: new Set(), relations: new Set() };
  for (const text of await captured((connection) => everyPath({ ...connection, connectionString: probe.url }, probe.sql))) scan(text, reached);

  const db = await createDatabase();
  const made = await plantShadows(db, reached);
  assert.ok(made.functions! >= 20 && made.operators! >= 50 && made.types! >= 3 && made.views! >= 10, JSON.stringify(made));
  const owner = await createRole();
  await adminSql().unsafe(`alter role ${owner.name} superuser`);
  await adminSql().unsafe(`alter role ${owner.name} in database ${db.name} set search_path = public, evil, pg_catalog`);
  const url = owner.url(db.name);
  // The shadows work: an unqualified call reaches one.
  const check = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
  await assert.rejects(check.unsafe('select quote_ident(current_schema())'), /search_path hijack/);
  assert.equal(await hits(db), '1');
  await db.sql`select setval('evil.hits', 1, false)`;

  try {
    await everyPath({ connectionString: url }, check);
    assert.equal(await hits(db), '0', 'a URL');

    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    // postgres.js's own type fetch is the driver's SQL, not the package's.
    const appSql = postgres(url, { max: 2, onnotice: () => {}, fetch_types: false });
    try {
      for (const [name, connection] of [
        ['a node-postgres Pool', { client: pool }],
        ['a node-postgres Client', { client }],
        ["the app's postgres.js", { client: appSql }],
        ['a Drizzle database', { db: drizzle({ client: appSql }) }],
      ] as const) {
        await everyPath(connection, check);
        assert.equal(await hits(db), '0', name);
      }
    } finally {
      await Promise.all([pool.end(), client.end(), appSql.end({ timeout: 5 })]);
    }

    // What `sql` prints, run as printed by a DBA whose search_path is the same.
    const printed: string[] = [];
    const io = { stdout: (t: string) => void printed.push(t), stderr: (t: string) => void printed.push(t), env: {} };
    for (const args of [['sql', '--schema-version', '0.1'], ['sql', '--schema', 'queue', '--schema-version', '0.9']]) {
      printed.length = 0;
      assert.equal(await main(args, io), 0, printed.join(''));
      await check.unsafe(printed.join('')).simple();
    }
    printed.length = 0;
    assert.equal(await main(['sql', '--upgrade', '--from', '0.1', '--schema-version', '0.9'], io), 0);
    // Each statement on its own: CREATE INDEX CONCURRENTLY refuses a multi-statement text.
    for (const statement of printed.join('').split(/;\n/).map((s) => s.replace(/^(--.*\n)+/gm, '').trim()).filter(Boolean)) await check.unsafe(statement);
    printed.length = 0;
    assert.equal(await main(['sql', '--drop', '--schema-version', '0.9'], io), 0);
    await check.unsafe(printed.join('')).simple();
    printed.length = 0;
    assert.equal(await main(['sql', '--drop', '--schema', 'queue', '--schema-version', '0.9'], io), 0);
    await check.unsafe(printed.join('')).simple();
    assert.equal(await hits(db), '0', 'the printed SQL');
  } finally {
    await check.end({ timeout: 5 });
  }
});
