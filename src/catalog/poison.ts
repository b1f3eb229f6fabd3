/**
 * Poison jobs: rows of the jobs table whose `priority` or `delay_until` AsyncMQ's own statements
 * cannot cast. AsyncMQ 0.9 orders its dequeue by `COALESCE((data ->> 'priority')::int, 5)`,
 * and every AsyncMQ version finds due delayed jobs by `(data ->> 'delay_until')::float <= $3`;
 * Postgres computes these for every waiting (or delayed) job of the queue, so one job whose text
 * the cast refuses makes every dequeue (or every scan of due jobs) of its queue fail, for every
 * worker, until it is fixed or removed. AsyncMQ stores such a job without complaint.
 *
 * A job is poison exactly when the cast would raise: by Postgres's own input rules for `integer`
 * and `double precision`, decided here without raising (a statement that raised would stop the
 * check at the first bad row):
 * - Postgres 16 and later: `pg_input_is_valid()`, the same input functions the casts call.
 * - Before 16: the same rules written out (`unreadableBefore16`). `integer`: optional ASCII
 *   whitespace, a sign, decimal digits, whitespace, within -2147483648..2147483647 (16 added
 *   other bases and underscores, which the function covers there). `double precision`: what the
 *   C library's strtod() reads (decimal or hexadecimal, with an exponent; `inf`, `infinity`,
 *   `nan` and `nan(...)` in any case) between whitespace, refused only when a value that is not
 *   zero rounds to 0 or to infinity, which is when it is no larger than 2^-1075 or no smaller
 *   than 2^1024 - 2^970; the comparison is exact, on the digits. test/poison.test.ts holds both
 *   to the real casts on a corpus of edge cases, on each server it runs on.
 *
 * What reading for them costs: the check reads every row of the jobs table (a sequential scan,
 * `data` detoasted where it is stored out of line), at a rate measured in docs/performance.md.
 * It takes an ACCESS SHARE lock, the lock of any SELECT: AsyncMQ's writers (ROW EXCLUSIVE) go on
 * beside it; only ACCESS EXCLUSIVE (ALTER TABLE, VACUUM FULL, DROP) conflicts with it. `status`
 * therefore never waits for that lock (NOWAIT) and bounds the scan (POISON_SCAN_BUDGET_MS), and
 * skips it for a cast that a valid index of the profile already proves every row readable by.
 */
import { AsyncmqPostgresError } from '../errors.js';
import type { Link, Queryable, Session, Step } from '../connection/drivers/index.js';
import { compareVersions, type SchemaVersion } from '../config/versions.js';
import { inNamespace, qualifiedName, quoteIdent, type IndexShape, type TableShape } from '../schema/ddl.js';
import type { ResolvedBackend } from '../schema/backend.js';
import { compareTable, type CatalogState } from './compare.js';
import { EQ, literal, op } from '../schema/sql-text.js';

/** A field of `data` that AsyncMQ's statements cast, and the type they cast it to. */
export type PoisonField = 'priority' | 'delay_until';
const TYPE_OF: Record<PoisonField, 'integer' | 'double precision'> = { priority: 'integer', delay_until: 'double precision' };

/** The casts an AsyncMQ schema version's statements make: the priority from 0.9 on, the delay in all. */
export function poisonFields(version: SchemaVersion): PoisonField[] {
  return compareVersions(version, '0.9') >= 0 ? ['priority', 'delay_until'] : ['delay_until'];
}

/** The casts an index of the schema evaluates for every row, as `pg_get_expr()` prints them. */
const CAST_TEXT: Record<PoisonField, string> = {
  priority: `((data ->> 'priority'::text))::integer`,
  delay_until: `((data ->> 'delay_until'::text))::double precision`,
};

/** Which of AsyncMQ's casts an index of the schema holds: a build of it fails on a row they cannot read. */
export function castsOf(index: IndexShape): PoisonField[] {
  const texts = [...index.keys.map((k) => k.expression ?? ''), index.where ?? ''];
  return (Object.keys(CAST_TEXT) as PoisonField[]).filter((field) => texts.some((t) => t.includes(CAST_TEXT[field])));
}

/** At most this many jobs are listed per queue, and this many queues; the counts are whole. */
export const POISON_JOBS_LISTED = 10;
export const POISON_QUEUES_LISTED = 50;
/** How long `status` lets the scan run (a statement timeout of its own transaction). */
export const POISON_SCAN_BUDGET_MS = 30_000;
/** A field's text is shown cut to this many characters. */
const SHOWN = 40;

export interface PoisonJob {
  jobId: string;
  status: string | null;
  /** The text AsyncMQ's cast reads, where it cannot read it (cut to 40 characters). */
  priority?: string;
  delayUntil?: string;
}

export interface PoisonQueue {
  queue: string;
  /** Every poison job of the queue. */
  count: number;
  /** The fields that hold text the casts cannot read, in some job of the queue. */
  fields: PoisonField[];
  /** The first of them by id, at most POISON_JOBS_LISTED. */
  jobs: PoisonJob[];
  /**
   * Statements that fix them, one per field: a priority becomes AsyncMQ's default 5 (what its
   * dequeue gives a job without one), a delay becomes now (the job is due at once). Each changes
   * only the rows whose field the cast cannot read, in this queue.
   */
  fixes: string[];
  /** The statement that removes them instead. */
  remove: string;
}

export interface PoisonCheck {
  /** The jobs table, `namespace.name`. */
  table: string;
  /** The casts checked (those of the configured AsyncMQ version). */
  fields: PoisonField[];
  /**
   * `checked`: the table was read. `proven`: a valid index of the profile holds every checked
   * cast for every row, so no row can be poison, and the table was not read. `not-checked`:
   * see `reason`.
   */
  state: 'checked' | 'proven' | 'not-checked';
  /** Why the table was not read, or which indexes prove it clean. */
  reason?: string;
  /** The queues that hold poison jobs (at most POISON_QUEUES_LISTED), by name. */
  queues: PoisonQueue[];
  /** How many queues hold poison jobs in all. */
  queueCount: number;
}

// ---------------------------------------------------------------------------------------------
// Whether the cast would raise, in SQL that never raises

const call = (name: string, ...args: string[]) => `pg_catalog.${name}(${args.join(', ')})`;
const [AND, OR, NOT] = [' AND ', ' OR ', 'NOT '];
const [LT, GT, LE, GE, MATCH, IMATCH] = [op('<'), op('>'), op('<='), op('>='), op('~'), op('~*')];
const C = 'COLLATE pg_catalog."C"';
/** The whitespace C's isspace() skips around a number, as a regular expression class (E'' string). */
const WS = '[ \\\\t\\\\n\\\\r\\\\f\\\\v]';
const text = (s: string) => `${literal(s)}::pg_catalog.text`;
/** A whole number; a negative one as a typed literal, since `-1` reads as pg_catalog's `-` applied to 1 (safe, but not to the eye). */
const num = (n: number) => (n < 0 ? `'${n}'::integer` : String(n));
/** A regular expression literal; E'' so its backslashes mean the same whatever standard_conforming_strings says. */
const pattern = (re: string) => `E'${re.replace(/'/g, "''")}'::pg_catalog.text`;

/** 2^1024 - 2^970 and 2^-1075 as 0.DIGITS × 10^P: the least value that rounds to infinity, the greatest that rounds to 0. */
const HUGE = { digits: (2n ** 970n * (2n ** 54n - 1n)).toString().replace(/0+$/, ''), point: 309 };
const TINY = { digits: (5n ** 1075n).toString(), point: (5n ** 1075n).toString().length - 1075 };

/** Two digit strings, both read as 0.DIGITS, compared by `operator` (equal length, C collation). */
function digitsCompare(a: string, b: string, operator: string): string {
  const width = `GREATEST(${call('length', a)}, ${b.length})`;
  return `${call('rpad', a, width, text('0'))} ${C} ${operator} ${call('rpad', text(b), width, text('0'))}`;
}

/**
 * A decimal's magnitude out of float8's range: `int`, `frac` the digits around the point,
 * `exp` the exponent's text (or null). 0.S × 10^P, S without leading or trailing zeros.
 */
function decimalOutOfRange(int: string, frac: string, exp: string): string {
  const digits = `${int} ${op('||')} ${frac}`;
  const significant = call('rtrim', call('ltrim', digits, text('0')), text('0'));
  const leading = `(${call('length', digits)} ${op('-')} ${call('length', call('ltrim', digits, text('0')))})`;
  const point = `${call('length', int)}::bigint ${op('+')} ${exponent(exp)} ${op('-')} ${leading}`;
  return (
    `(SELECT s ${op('<>')} ''${AND}(p ${GT} ${num(HUGE.point)}${OR}p ${LT} ${num(TINY.point)}` +
    `${OR}(p ${EQ} ${num(HUGE.point)}${AND}${digitsCompare('s', HUGE.digits, GE)})` +
    `${OR}(p ${EQ} ${num(TINY.point)}${AND}${digitsCompare('s', TINY.digits, LE)}))` +
    ` FROM (SELECT ${significant} AS s, ${point} AS p) AS n)`
  );
}

/** A hexadecimal's magnitude out of float8's range: 0.B × 2^Q, B the bits from the first 1. */
function hexOutOfRange(int: string, frac: string, exp: string): string {
  const bits = `((${text('x')} ${op('||')} ${int} ${op('||')} ${frac})::pg_catalog.varbit)::pg_catalog.text`;
  return (
    `(SELECT f ${op('>')} 0${AND}(q ${GT} 1024${OR}q ${LT} ${num(-1074)}` +
    `${OR}(q ${EQ} 1024${AND}${call('left', call('substr', 'b', 'f'), '54')} ${EQ} ${call('repeat', text('1'), '54')})` +
    `${OR}(q ${EQ} ${num(-1074)}${AND}${call('rtrim', call('substr', 'b', 'f'), text('0'))} ${EQ} ${text('1')}))` +
    ` FROM (SELECT b, f, 4 ${op('*')} ${call('length', int)}::bigint ${op('-')} (f ${op('-')} 1) ${op('+')} ${exponent(exp)} AS q` +
    ` FROM (SELECT b, ${call('strpos', 'b', text('1'))} AS f FROM (SELECT ${bits} AS b) AS x) AS y) AS z)`
  );
}

/** An exponent's text (`-12`, `+0005`, null) as a bigint; one of more than 18 digits as ±10^18, beyond any reach. */
function exponent(exp: string): string {
  const magnitude = call('ltrim', call('ltrim', exp, text('+-')), text('0'));
  const sign = `CASE WHEN ${exp} ${MATCH} ${text('^-')} THEN ${num(-1)} ELSE 1 END`;
  return (
    `COALESCE(${sign} ${op('*')} CASE WHEN ${call('length', magnitude)} ${GT} 18 THEN 1000000000000000000` +
    ` ELSE (${call('concat', text('0'), magnitude)})::bigint END, 0)`
  );
}

/** `value` (a text, possibly null) is one the `type`'s input function refuses; Postgres before 16. */
export function unreadableBefore16(value: string, type: 'integer' | 'double precision'): string {
  if (type === 'integer') {
    const digits = call('ltrim', call('substring', value, text('[0-9]+')), text('0'));
    const limit = `CASE WHEN ${value} ${MATCH} ${text('-')} THEN ${text('2147483648')} ELSE ${text('2147483647')} END`;
    return (
      `CASE WHEN ${value} IS NULL THEN false` +
      ` WHEN ${value} ${MATCH} ${text('^-?[0-9]{1,9}$')} THEN false` +
      ` WHEN ${NOT}${value} ${MATCH} ${pattern(`^${WS}*[+-]?[0-9]+${WS}*$`)} THEN true` +
      ` ELSE ${call('length', digits)} ${GT} 10${OR}(${call('length', digits)} ${EQ} 10${AND}${digits} ${C} ${GT} ${limit}) END`
    );
  }
  const match = (re: string) => call('regexp_match', value, pattern(re), text('i'));
  const decimal = `^${WS}*[+-]?([0-9]+(?:\\\\.[0-9]*)?|\\\\.[0-9]+)(?:e([+-]?[0-9]+))?${WS}*$`;
  const hex = `^${WS}*[+-]?0x([0-9a-f]+(?:\\\\.[0-9a-f]*)?|\\\\.[0-9a-f]+)(?:p([+-]?[0-9]+))?${WS}*$`;
  const parts = (re: string, outOfRange: (int: string, frac: string, exp: string) => string) =>
    `(SELECT ${outOfRange(call('split_part', 'm[1]', text('.'), '1'), call('split_part', 'm[1]', text('.'), '2'), 'm[2]')} FROM (SELECT ${match(re)} AS m) AS r)`;
  return (
    `CASE WHEN ${value} IS NULL THEN false` +
    // The common case first: an epoch time, at least 1 and far below any limit.
    ` WHEN ${value} ${MATCH} ${pattern('^[1-9][0-9]{0,14}(\\\\.[0-9]*)?$')} THEN false` +
    ` WHEN ${value} ${IMATCH} ${pattern(`^${WS}*[+-]?(inf|infinity|nan|nan\\\\([0-9a-z_]*\\\\))${WS}*$`)} THEN false` +
    ` WHEN ${value} ${IMATCH} ${pattern(decimal)} THEN ${parts(decimal, decimalOutOfRange)}` +
    ` WHEN ${value} ${IMATCH} ${pattern(hex)} THEN ${parts(hex, hexOutOfRange)}` +
    ' ELSE true END'
  );
}

/** `value` (a text, possibly null) is one the cast to `type` refuses, on a server of this version. */
export function unreadable(value: string, type: 'integer' | 'double precision', serverVersion: number): string {
  if (serverVersion >= 160000) return `(${value} IS NOT NULL${AND}${NOT}${call('pg_input_is_valid', value, text(type))})`;
  return `(${unreadableBefore16(value, type)})`;
}

// ---------------------------------------------------------------------------------------------
// The scan and the statements that fix what it finds

/** The fields' text as AsyncMQ's casts read it, one column each, named by the field. */
const fieldText = (field: PoisonField) => `data ${op('->>')} ${text(field)} AS ${field}`;

/** The rows of `queue` (or all) with each checked field's text beside the id, for the predicates to read. */
function rowsWithFields(table: string, fields: readonly PoisonField[], queue?: string): string {
  return `SELECT id, queue_name, job_id, status, ${fields.map(fieldText).join(', ')} FROM ${table}${queue === undefined ? '' : ` WHERE queue_name ${EQ} ${text(queue)}`}`;
}

const badField = (field: PoisonField, serverVersion: number) => unreadable(field, TYPE_OF[field], serverVersion);

/** At most this many distinct texts of a field are named in a queue's statements; past it they name the rule. */
const TEXTS_NAMED = 20;
/** A text is named in a statement only if at most 1000 characters long and free of control characters. */
const NAMEABLE = /^[^\u0000-\u001f\u007f]{0,1000}$/;

/**
 * One statement: per queue with poison jobs (the first POISON_QUEUES_LISTED by name), a JSON
 * document of its count, its first jobs, and for each field the distinct texts that cannot be
 * cast (the first TEXTS_NAMED + 1, and how many there are); beside it, the number of such queues.
 */
export function renderPoisonScan(table: string, fields: readonly PoisonField[], serverVersion: number): string {
  const flags = fields.map((f) => `${badField(f, serverVersion)} AS bad_${f}`).join(', ');
  const shown = (f: PoisonField) => `CASE WHEN bad_${f} THEN ${call('left', f, String(SHOWN))} END`;
  const job = call(
    'json_build_object',
    text('jobId'),
    'job_id',
    text('status'),
    'status',
    ...fields.flatMap((f) => [text(f === 'priority' ? 'priority' : 'delayUntil'), shown(f)]),
  );
  const perField = fields.flatMap((f) => [
    text(`${f}_texts`),
    `(pg_catalog.array_agg(DISTINCT ${f}) FILTER (WHERE bad_${f}))[1:${TEXTS_NAMED + 1}]`,
    text(`${f}_distinct`),
    `pg_catalog.count(DISTINCT ${f}) FILTER (WHERE bad_${f})`,
  ]);
  return (
    `WITH bad AS (SELECT id, queue_name, job_id, status, ${fields.join(', ')}, ${fields.map((f) => `bad_${f}`).join(', ')},` +
    ` pg_catalog.row_number() OVER (PARTITION BY queue_name ORDER BY id) AS n` +
    ` FROM (SELECT id, queue_name, job_id, status, ${fields.join(', ')}, ${flags} FROM (${rowsWithFields(table, fields)}) AS j) AS flagged` +
    ` WHERE ${fields.map((f) => `bad_${f}`).join(OR)})` +
    ` SELECT ${call(
      'json_build_object',
      text('queue'),
      'queue_name',
      text('count'),
      'pg_catalog.count(*)',
      text('jobs'),
      `COALESCE(pg_catalog.json_agg(${job} ORDER BY id) FILTER (WHERE n ${LE} ${POISON_JOBS_LISTED}), '[]'::pg_catalog.json)`,
      ...perField,
    )}::pg_catalog.text, (pg_catalog.count(*) OVER ())::pg_catalog.text` +
    ` FROM bad GROUP BY queue_name ORDER BY queue_name ${C} LIMIT ${POISON_QUEUES_LISTED}`
  );
}

/**
 * The rows of `queue` whose `field` holds one of `texts`, all of which the cast refuses: every
 * row that held such a text when the table was read, and no other. Where the texts are too many
 * or too long to name (`texts` undefined), the rule itself: every row whose field the cast
 * cannot read (long before Postgres 16, where it is written out).
 */
function poisonRows(table: string, queue: string, field: PoisonField, texts: readonly string[] | undefined, serverVersion: number): string {
  if (texts) {
    return `queue_name ${EQ} ${text(queue)}${AND}(data ${op('->>')} ${text(field)}) ${C} ${EQ} ANY (ARRAY[${texts.map(literal).join(', ')}]::pg_catalog.text[])`;
  }
  return `id ${EQ} ANY (SELECT id FROM (${rowsWithFields(table, [field], queue)}) AS j WHERE ${badField(field, serverVersion)})`;
}

/** What a field is set to by its fix: AsyncMQ's default priority; for a delay, now (due at once). */
const REPAIR: Record<PoisonField, string> = {
  priority: `'5'::pg_catalog.jsonb`,
  delay_until: call('to_jsonb', call('date_part', text('epoch'), call('now'))),
};

/** The texts of a field found in a queue, if they can be named in a statement. */
type FoundTexts = Partial<Record<PoisonField, readonly string[] | undefined>>;

export function renderPoisonFix(table: string, queue: string, field: PoisonField, texts: FoundTexts, serverVersion: number): string {
  return (
    `UPDATE ${table} SET data = ${call('jsonb_set', 'data', `${literal(`{${field}}`)}::pg_catalog.text[]`, REPAIR[field])}` +
    ` WHERE ${poisonRows(table, queue, field, texts[field], serverVersion)}`
  );
}

export function renderPoisonRemoval(table: string, queue: string, fields: readonly PoisonField[], texts: FoundTexts, serverVersion: number): string {
  const rows = fields.map((f) => poisonRows(table, queue, f, texts[f], serverVersion));
  return `DELETE FROM ${table} WHERE ${rows.length === 1 ? rows[0] : rows.map((r) => `(${r})`).join(OR)}`;
}

/** The server's version number (`server_version_num`): which rules decide. */
export async function readServerVersion(sql: Queryable): Promise<number> {
  const rows = await sql.unsafe(`SELECT pg_catalog.current_setting('server_version_num')`);
  return Number(rows[0]?.[0]);
}

/**
 * Reads the table for poison jobs (the whole of it), on `sql` as it is: the caller decides the
 * session's deadline and lock waits. Takes an ACCESS SHARE lock on the table for the scan.
 */
export async function readPoisonJobs(sql: Queryable, shape: TableShape, fields: readonly PoisonField[]): Promise<PoisonCheck> {
  const table = qualifiedName(shape.schema, shape.name);
  const label = `${shape.schema ?? ''}${shape.schema ? '.' : ''}${shape.name}`;
  const version = await readServerVersion(sql);
  const rows = await sql.unsafe(renderPoisonScan(table, fields, version));
  const queues = rows.map((row): PoisonQueue => {
    const found = JSON.parse(String(row[0])) as { queue: string; count: number; jobs: PoisonJob[] } & Record<string, unknown>;
    const bad = fields.filter((f) => Number(found[`${f}_distinct`]) > 0);
    const texts: FoundTexts = Object.fromEntries(
      bad.map((f) => {
        const list = (found[`${f}_texts`] ?? []) as string[];
        return [f, Number(found[`${f}_distinct`]) <= TEXTS_NAMED && list.every((t) => NAMEABLE.test(t)) ? list : undefined];
      }),
    );
    return {
      queue: found.queue,
      count: found.count,
      fields: bad,
      jobs: found.jobs.map((j) => ({ jobId: j.jobId, status: j.status, ...(j.priority != null ? { priority: j.priority } : {}), ...(j.delayUntil != null ? { delayUntil: j.delayUntil } : {}) })),
      fixes: bad.map((field) => renderPoisonFix(table, found.queue, field, texts, version)),
      remove: renderPoisonRemoval(table, found.queue, bad, texts, version),
    };
  });
  return { table: label, fields: [...fields], state: 'checked', queues, queueCount: Number(rows[0]?.[1] ?? 0) };
}

/** Whether the error is a cast's refusal of a value: what a build of an index of AsyncMQ's casts fails with. */
export function isCastFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '22P02' || code === '22003';
}

const NOT_CHECKED: Record<string, string> = {
  '55P03': 'another session holds or waits for a lock that stops reads of the table (ACCESS EXCLUSIVE: ALTER TABLE, VACUUM FULL, ...); status does not queue behind it: run it again later',
  '57014': `reading the table took longer than ${POISON_SCAN_BUDGET_MS / 1000} s, status's budget for it`,
  '42501': 'the connecting role may not read the table (SELECT)',
};

/**
 * `status`'s check: on the call's session, in a transaction of its own with a statement timeout
 * of POISON_SCAN_BUDGET_MS, after taking the table's ACCESS SHARE lock with NOWAIT (so it never
 * queues behind an ALTER TABLE, nor makes anyone queue behind it while it waits). A cast that a
 * valid index of the profile holds (`proven`) needs no read: every row went through it.
 * What it cannot do (the lock taken, the budget spent, no privilege, no session) it reports
 * as `not-checked`, saying why.
 */
export async function checkPoisonJobs(
  sql: Link,
  run: Step,
  shape: TableShape,
  options: { fields: readonly PoisonField[]; provenBy: Partial<Record<PoisonField, string>>; budgetMs?: number },
): Promise<PoisonCheck> {
  const budgetMs = options.budgetMs ?? POISON_SCAN_BUDGET_MS;
  const label = `${shape.schema ?? ''}${shape.schema ? '.' : ''}${shape.name}`;
  const fields = options.fields.filter((f) => options.provenBy[f] === undefined);
  const proof = options.fields.map((f) => options.provenBy[f] && `${f} by the valid index ${options.provenBy[f]}`).filter(Boolean);
  const empty = { table: label, fields: [...options.fields], queues: [], queueCount: 0 };
  if (fields.length === 0) return { ...empty, state: 'proven', reason: `every row passed AsyncMQ's casts: ${proof.join(', ')}` };
  const notChecked = (reason: string): PoisonCheck => ({ ...empty, state: 'not-checked', reason });
  let session: Session;
  try {
    session = await sql.session('reading the jobs table for poison jobs within a deadline');
  } catch (error) {
    if (error instanceof AsyncmqPostgresError && error.code === 'ASYNCMQ_SESSION_REQUIRED') {
      return notChecked('the connection given runs each statement on its own, and the scan needs a transaction for its deadline');
    }
    throw error;
  }
  try {
    const found = await run(`reading ${label} for jobs whose ${fields.join(' or ')} AsyncMQ cannot cast`, () =>
      session.transaction(run, async (tx) => {
        await tx.unsafe(`SELECT pg_catalog.set_config('statement_timeout', '${budgetMs}', true)`);
        await tx.unsafe(`LOCK TABLE ${qualifiedName(shape.schema, shape.name)} IN ACCESS SHARE MODE NOWAIT`);
        return readPoisonJobs(tx, shape, fields);
      }),
      // A scan of the table, as long as the table is large: bounded by its own statement
      // timeout on the server, and watched, not timed, on the client.
      'long',
    );
    return { ...found, fields: [...options.fields], ...(proof.length ? { reason: `not read for ${proof.join(', ')}` } : {}) };
  } catch (error) {
    const code = String((error as { code?: unknown } | null)?.code ?? '');
    if (NOT_CHECKED[code] && !session.lost) return notChecked(code === '57014' ? `reading the table took longer than ${budgetMs / 1000} s, status's budget for it` : NOT_CHECKED[code]!);
    throw error;
  }
}

/** The columns the scan reads, as the jobs table of every version has them. */
const SCANNED = { id: 'integer', queue_name: 'text', job_id: 'text', status: 'text', data: 'jsonb' } as const;

/**
 * `status`'s check of the configured jobs table for the casts of the configured AsyncMQ version;
 * null where there is no such table to read (missing, not a table, or without the columns as
 * AsyncMQ has them, which the comparison reports on its own).
 */
export async function inspectPoisonJobs(sql: Link, run: Step, backend: ResolvedBackend, state: CatalogState): Promise<PoisonCheck | null> {
  if (state.namespace === null) return null;
  const [shape] = inNamespace(backend.shapes.filter((s) => s.name === backend.names.postgresJobsTableName), state.namespace);
  const table = shape && state.tables.find((t) => t.name === shape.name);
  if (!shape || !table || (table.kind !== 'r' && table.kind !== 'p')) return null;
  if (Object.entries(SCANNED).some(([name, type]) => table.columns.find((c) => c.name === name)?.type !== type)) return null;
  // A valid index whose every row went through a cast proves it: the profile's, present as the schema has it.
  const items = compareTable(shape, state).items;
  const provenBy: Partial<Record<PoisonField, string>> = {};
  for (const index of shape.indexes) {
    const item = items.find((i) => i.kind === 'index' && i.name === index.name && i.status === 'present');
    for (const field of item ? castsOf(index) : []) provenBy[field] ??= item!.foundName ?? item!.name;
  }
  return checkPoisonJobs(sql, run, shape, { fields: poisonFields(backend.version), provenBy });
}

/** A queue name as a report shows it. */
export const queueLabel = (queue: string) => (/^[\w.:-]+$/.test(queue) ? queue : quoteIdent(queue));
