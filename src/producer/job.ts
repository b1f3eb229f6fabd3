/**
 * Pure: a job as AsyncMQ writes it, from the producer's input, for one schema version: the job
 * dict (`Job.to_dict()` of that release, as `Queue.add` fills it) and the row's columns, with
 * the input checked the way AsyncMQ checks it and the way its SQL needs it.
 *
 * Facts read from AsyncMQ's source at its release tags (0.1.0 to 0.9.1; the code is AsyncMQ's
 * own and is not copied here):
 * - `Queue.add(task_id, args, kwargs, retries=0, ttl=None, backoff=None, priority=5, delay=None,
 *   job_id=None)` makes `Job(retries=0, max_retries=retries, ...)`; the id is a uuid4 unless a
 *   `job_id` is given (0.8 on), which must be non-empty, not only digits, and without `:`.
 * - `to_dict()` has 16 keys up to 0.7; 0.8 adds `deduplication`; 0.9 adds `last_error` and
 *   `error_traceback`. `created_at` is `time.time()`, seconds as a float.
 * - `enqueue` writes status `waiting`; `enqueue_delayed` status `delayed` and `delay_until`,
 *   `time.time() + delay`, in the dict only: the row's `delay_until` column stays NULL (the
 *   job store writes queue_name, job_id, data and status), and every release finds due jobs by
 *   `(data ->> 'delay_until')::float`.
 * - AsyncMQ 0.9 orders its dequeue by `COALESCE((data ->> 'priority')::int, 5)`, so a priority
 *   that is not a 32-bit integer stops every dequeue of the queue; and refuses a payload whose
 *   JSON (Python's `json.dumps`) exceeds `max_job_payload_bytes`, 1 MiB by default.
 */
import { AsyncmqPostgresError } from '../errors.js';
import { compareVersions, type SchemaVersion } from '../config/versions.js';

/** A JSON value as Python's `json.loads` gives it back unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What the app gives to enqueue a job: `Queue.add`'s parameters, by their Python names where they are AsyncMQ's. */
export interface AsyncmqJobInput {
  /** The queue (AsyncMQ's `queue_name`). */
  queue: string;
  /** The task id, as AsyncMQ's `@task` registers it: `<module>.<function>`. */
  task: string;
  args?: JsonValue[];
  kwargs?: { [key: string]: JsonValue };
  /** How many times a failed job is retried (`Queue.add(retries=...)`, stored as `max_retries`). Default 0. */
  retries?: number;
  /** Seconds from its creation after which the job expires. Default none. */
  ttl?: number | null;
  /** The retry delay's base (`backoff ** retries` seconds). Default none: retry at once. */
  backoff?: number | null;
  /** Lower runs first (AsyncMQ 0.9 orders by it). Default 5. */
  priority?: number;
  /** An id of the app's own, to enqueue at most once; default a random UUID, as AsyncMQ makes. */
  jobId?: string;
}

/** When to run a delayed job: `delay` seconds from now (`Queue.add(delay=...)`), or at `runAt`. */
export type AsyncmqDelay = { delay: number; runAt?: undefined } | { runAt: Date | number; delay?: undefined };

/** The job dict of a schema version, as AsyncMQ's `Job.to_dict()` writes it into `data`. */
export type AsyncmqJobDict<V extends SchemaVersion = SchemaVersion> = {
  id: string;
  task: string;
  args: JsonValue[];
  kwargs: { [key: string]: JsonValue };
  retries: number;
  max_retries: number;
  backoff: number | null;
  ttl: number | null;
  created_at: number;
  last_attempt: null;
  status: 'waiting' | 'delayed';
  result: null;
  delay_until: number | null;
  priority: number;
  depends_on: string[];
  repeat_every: null;
} & (V extends '0.8' | '0.9' ? { deduplication: null } : {}) &
  (V extends '0.9' ? { last_error: null; error_traceback: null } : {});

/** AsyncMQ 0.9's default `max_job_payload_bytes`. */
export const ASYNCMQ_MAX_PAYLOAD_BYTES = 1_048_576;

const INT32 = 2 ** 31;

function refuse(what: string): never {
  throw new AsyncmqPostgresError('ASYNCMQ_USAGE', what);
}

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') refuse(`${name} must be a non-empty string, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `a ${(value as object).constructor?.name ?? 'object'}` : `a ${typeof value}`;
}

/** JSON that Python reads back as the same value: no undefined, function, NaN, Infinity, BigInt, Date or class instance. */
function checkJson(value: unknown, path: string, seen: Set<object>): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) refuse(`${path} is ${value}, which JSON cannot hold`);
    return;
  }
  if (typeof value !== 'object') refuse(`${path} is ${describe(value)}, which JSON cannot hold`);
  if (seen.has(value)) refuse(`${path} refers to itself`);
  seen.add(value);
  if (Array.isArray(value)) value.forEach((item, i) => checkJson(item, `${path}[${i}]`, seen));
  else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) refuse(`${path} is ${describe(value)}: give plain JSON (a Date as an ISO string or epoch seconds)`);
    for (const [key, item] of Object.entries(value)) checkJson(item, `${path}.${key}`, seen);
  }
  seen.delete(value);
}

function optionalNumber(value: unknown, name: string, check: (n: number) => boolean, rule: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) refuse(`${name} must be ${rule}, got ${describe(value)}`);
  return value;
}

/** AsyncMQ's rules for an id the producer chooses (0.8 on), and a non-empty string before. */
export function checkJobId(jobId: unknown, version: SchemaVersion): string {
  const id = nonEmptyString(jobId, 'jobId');
  if (compareVersions(version, '0.8') >= 0) {
    if (/^[0-9]+$/.test(id)) refuse(`jobId ${describe(id)} is only digits, which AsyncMQ ${version} refuses for an id of the producer's choosing`);
    if (id.includes(':')) refuse(`jobId ${describe(id)} contains ':', which AsyncMQ ${version} refuses (its backends use ':' in their keys)`);
  }
  return id;
}

/** The job dict and row of a new job, checked; `delayUntil` (epoch seconds) makes it delayed. */
export function buildJob<V extends SchemaVersion>(
  input: AsyncmqJobInput,
  version: V,
  options: { delayUntil?: number; now?: number; maxPayloadBytes?: number | null } = {},
): { queue: string; jobId: string; status: 'waiting' | 'delayed'; dict: AsyncmqJobDict<V> } {
  if (input === null || typeof input !== 'object') refuse(`the job must be an object with queue and task, got ${describe(input)}`);
  const known = new Set(['queue', 'task', 'args', 'kwargs', 'retries', 'ttl', 'backoff', 'priority', 'jobId', 'delay', 'runAt']);
  const unknown = Object.keys(input).filter((key) => !known.has(key));
  if (unknown.length) refuse(`unknown job option ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the options are ${[...known].join(', ')}`);
  const queue = nonEmptyString(input.queue, 'queue');
  const task = nonEmptyString(input.task, 'task');
  const args = input.args ?? [];
  if (!Array.isArray(args)) refuse(`args must be an array, got ${describe(args)}`);
  const kwargs = input.kwargs ?? {};
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) refuse(`kwargs must be an object, got ${describe(kwargs)}`);
  checkJson(args, 'args', new Set());
  checkJson(kwargs, 'kwargs', new Set());
  const retries = optionalNumber(input.retries, 'retries', (n) => Number.isInteger(n) && n >= 0, 'a whole number from 0') ?? 0;
  const ttl = optionalNumber(input.ttl, 'ttl', (n) => Number.isInteger(n) && n > 0, 'a whole number of seconds above 0, or null');
  const backoff = optionalNumber(input.backoff, 'backoff', (n) => n >= 0, 'a number from 0, or null');
  const priority =
    optionalNumber(input.priority, 'priority', (n) => Number.isInteger(n) && n >= -INT32 && n < INT32, 'a whole number that fits in 32 bits (AsyncMQ 0.9 reads it as ::int)') ?? 5;
  const jobId = input.jobId === undefined ? globalThis.crypto.randomUUID() : checkJobId(input.jobId, version);
  const now = options.now ?? Date.now() / 1000;
  const status = options.delayUntil === undefined ? 'waiting' : 'delayed';

  const dict: Record<string, unknown> = {
    id: jobId,
    task,
    args,
    kwargs,
    retries: 0,
    max_retries: retries,
    backoff,
    ttl,
    created_at: now,
    last_attempt: null,
    status,
    result: null,
    ...(compareVersions(version, '0.9') >= 0 ? { last_error: null, error_traceback: null } : {}),
    delay_until: options.delayUntil ?? null,
    priority,
    depends_on: [],
    repeat_every: null,
    ...(compareVersions(version, '0.8') >= 0 ? { deduplication: null } : {}),
  };
  const limit = options.maxPayloadBytes === undefined ? (compareVersions(version, '0.9') >= 0 ? ASYNCMQ_MAX_PAYLOAD_BYTES : null) : options.maxPayloadBytes;
  if (limit !== null) {
    const size = pythonJsonBytes(dict);
    if (size > limit) refuse(`the job's payload is ${size} bytes as AsyncMQ measures it, over its limit of ${limit} (max_job_payload_bytes)`);
  }
  return { queue, jobId, status, dict: dict as AsyncmqJobDict<V> };
}

/** When a delayed job is due, in epoch seconds (AsyncMQ's `time.time() + delay`). */
export function delayUntilOf(delay: AsyncmqDelay, now = Date.now() / 1000): number {
  if (delay === null || typeof delay !== 'object') refuse('a delayed job needs delay (seconds) or runAt (a Date or epoch seconds)');
  const { delay: seconds, runAt } = delay as { delay?: unknown; runAt?: unknown };
  if ((seconds === undefined) === (runAt === undefined)) refuse('a delayed job needs one of delay (seconds) or runAt (a Date or epoch seconds)');
  if (seconds !== undefined) {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) refuse(`delay must be a number of seconds from 0, got ${describe(seconds)}`);
    return now + seconds;
  }
  const at = runAt instanceof Date ? runAt.getTime() / 1000 : runAt;
  if (typeof at !== 'number' || !Number.isFinite(at) || at < 0) refuse(`runAt must be a valid Date or epoch seconds, got ${describe(runAt)}`);
  return at;
}

/**
 * The length of Python's `json.dumps(value)` in UTF-8 bytes: `", "` and `": "` between items,
 * non-ASCII escaped as `\uXXXX`, numbers as Python prints what it read (`1e-07`). Both languages
 * print a float's shortest round-trip digits, so the count is exact for what `buildJob` admits.
 */
export function pythonJsonBytes(value: unknown): number {
  if (value === null) return 4;
  if (typeof value === 'boolean') return value ? 4 : 5;
  if (typeof value === 'number') return pythonNumber(value).length;
  if (typeof value === 'string') return pythonString(value);
  if (Array.isArray(value)) return 2 + value.reduce<number>((n, item, i) => n + (i ? 2 : 0) + pythonJsonBytes(item), 0);
  const entries = Object.entries(value as object);
  return 2 + entries.reduce<number>((n, [k, item], i) => n + (i ? 2 : 0) + pythonString(k) + 2 + pythonJsonBytes(item), 0);
}

/** A number as Python prints what `json.loads` made of JavaScript's JSON text (an int stays an int). */
function pythonNumber(n: number): string {
  const text = Object.is(n, -0) ? '-0' : String(n);
  // Python pads a one-digit exponent: 1e-07, 1e+21.
  return text.replace(/e([+-])(\d)$/, 'e$10$2');
}

function pythonString(text: string): number {
  let n = 2;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\' || ch === '\n' || ch === '\r' || ch === '\t' || ch === '\b' || ch === '\f') n += 2;
    else if (code < 0x20 || (code > 0x7e && code <= 0xffff)) n += 6;
    else if (code > 0xffff) n += 12;
    else n += 1;
  }
  return n;
}
