/**
 * Pure: what each difference between the database and the schema means for AsyncMQ. A
 * difference either breaks AsyncMQ (its statements fail, or store or find the wrong rows), and
 * install refuses the table; or AsyncMQ works with it, and `status` only warns. Each comes with
 * what to do about it.
 *
 * The judgements rest on how AsyncMQ uses its tables (its statements are summarised in the
 * README's sources; 0.1 to 0.9 alike):
 * - Its INSERTs name their columns and leave out exactly those the schema gives a default
 *   (`id`, `created_at`, `updated_at`; `paused` in some releases). Every other column of the
 *   schema is written with a value, or with NULL where the schema allows it (`status` is the
 *   job's status, possibly absent; `delay_until` is never written: delays live in `data`).
 * - Its upserts name the key's columns (`ON CONFLICT (job_id)`), never a constraint name.
 * - It orders the queue by `created_at` and purges by its age, so what the default puts there
 *   matters.
 * - Indexes only make its queries faster; none of its statements needs one to succeed.
 * - It tells jobs, queues and workers apart by their exact text (`job_id`, `queue_name`,
 *   `worker_id`, and the statuses it writes), in its keys and its WHERE clauses.
 * - It writes with INSERT ... ON CONFLICT, UPDATE and DELETE (some with RETURNING), and takes a
 *   committed INSERT as the job enqueued: nothing in its statements checks that a row it wrote
 *   is there afterwards, so whatever drops or changes a row on the way loses the job silently.
 *
 * Beyond columns, keys and indexes, what Postgres does with those writes is judged too:
 * - Collation: a nondeterministic one (an ICU collation with `deterministic = false`, say
 *   case-insensitive `und-u-ks-level2`) on a column AsyncMQ compares or keys on breaks it: values
 *   that differ compare equal, so its upsert of `j-1` after `J-1` lands on `J-1`'s row and one
 *   job is lost, and its lookups find another job's row. Every text column of the schema is
 *   such a column except `queues` (a text[] it stores and reads back whole). A deterministic
 *   collation other than the default (`"C"`) is harmless: under it, equal means byte-for-byte
 *   equal, as under the default; only the order of sorts on that column changes, and AsyncMQ
 *   orders by times and priorities, not by these.
 * - Row-level security enabled breaks AsyncMQ unless the role it runs as bypasses it (a
 *   superuser, BYPASSRLS, or the table's owner when not FORCEd): the policies then decide which
 *   rows its statements may write and see. With none, every INSERT is refused; one that hides a
 *   waiting job from the dequeue leaves it waiting forever. The policies are the app's
 *   expressions, which AsyncMQ cannot know to keep to (as with a CHECK constraint), so they are
 *   not judged one by one. Which role: install judges the role it connects as, which is
 *   AsyncMQ's own when it reads AsyncMQ's URL setting; status the `role` it is given. Bypassed,
 *   it is a warning: another role would be held to it.
 * - A trigger that fires BEFORE each row of an INSERT, UPDATE or DELETE breaks AsyncMQ: its
 *   function decides what Postgres stores, and returning NULL skips the row (`INSERT 0 0`: the
 *   job is gone, with no error). What the function does cannot be read from the catalog, so
 *   even one that only sets a column counts. Any other trigger (AFTER, per statement, on
 *   TRUNCATE, which AsyncMQ never runs) only adds work to AsyncMQ's writes and cannot change or
 *   skip its rows: a warning. A trigger disabled, or firing only in replica sessions
 *   (`session_replication_role = replica`, which AsyncMQ's are not), does not fire: a warning.
 * - A rule on INSERT or UPDATE breaks AsyncMQ, ALSO or INSTEAD: Postgres refuses INSERT ... ON
 *   CONFLICT on a table with such rules (one with an action), and AsyncMQ enqueues with it; an
 *   INSTEAD rule replaces the write (`DO INSTEAD NOTHING` drops every job, with no error: the
 *   one case ON CONFLICT does not refuse). An INSTEAD rule on DELETE replaces
 *   AsyncMQ's acks and removals (finished jobs stay, and are run again); an ALSO rule on DELETE
 *   only adds a statement to them: a warning. A disabled or replica-only rule does not fire and
 *   does not stop ON CONFLICT: a warning.
 * - An UNLOGGED table breaks AsyncMQ: Postgres empties it after a crash, and a standby has none of
 *   its rows (a failover starts with an empty queue). AsyncMQ takes a committed INSERT as an
 *   enqueued job, so every waiting job is lost, silently, on the next crash. (A temporary table
 *   is gone at the end of its session.)
 */
import { constraintDefinition, quoteIdent, type ColumnShape, type ConstraintShape } from '../schema/ddl.js';

/** `breaks`: AsyncMQ fails or misbehaves with it, and install refuses the table. `harmless`: it works. */
export type Impact = 'breaks' | 'harmless';

export interface Judgement {
  impact: Impact;
  /** Why, and what to do about it. */
  advice: string;
}

/** A column as the catalog has it. */
export interface ColumnFacts {
  type: string;
  /** A collation other than the type's default. */
  collation?: { name: string; deterministic: boolean } | undefined;
  notNull: boolean;
  default: string | null | undefined;
  /** `pg_attribute.attidentity`: `a` always, `d` by default, empty or absent for none. */
  identity?: string | null | undefined;
  /** A generated column's expression. */
  generated?: string | undefined;
}

const breaks = (advice: string): Judgement => ({ impact: 'breaks', advice });
const harmless = (advice: string): Judgement => ({ impact: 'harmless', advice });

/** An identity or generated column fills itself on insert as a default would. */
const fillsItself = (c: ColumnFacts) => Boolean(c.default) || Boolean(c.identity) || Boolean(c.generated);

// Defaults that all give the time of the insert, as Postgres prints them: AsyncMQ orders and
// purges by that time, so one may stand in for another (a zone shifts it, as the server's
// TimeZone does for now() already). Any other default would put something else in the column
// AsyncMQ leaves to it.
const NOW = String.raw`(?:now\(\)|CURRENT_TIMESTAMP(?:\(\d\))?|LOCALTIMESTAMP(?:\(\d\))?|transaction_timestamp\(\)|statement_timestamp\(\)|clock_timestamp\(\))`;
const INSERT_TIME = new RegExp(
  String.raw`^(?:${NOW}|\(${NOW} AT TIME ZONE '[^']*'::text\)|timezone\('[^']*'::text, ${NOW}\)|\(${NOW}\)::timestamp(?:\(\d\))? with(?:out)? time zone)$`,
);

/**
 * A column of the schema whose type, nullability or default differs.
 * - Another type breaks AsyncMQ: it writes and compares values of the schema's type.
 * - NOT NULL where the schema allows NULL breaks it, unless the schema and the database both
 *   give the column a default: AsyncMQ leaves such a column out and the default fills it
 *   (`created_at`), but it leaves `delay_until` NULL and may write a NULL `status`.
 * - Nullable where the schema says NOT NULL is harmless: AsyncMQ always gives it a value.
 * - A default dropped breaks it: AsyncMQ's INSERTs leave those columns out, so they fail the
 *   NOT NULL or store NULL (a NULL `created_at` takes the job out of the queue's order).
 * - A default changed breaks it where it changes what AsyncMQ stores: AsyncMQ never writes
 *   those columns, so the default is the value. Another insert-time expression for a timestamp,
 *   another sequence or an identity for the serial id are harmless.
 * - A default where the schema has none is harmless: AsyncMQ writes those columns itself, or
 *   (`delay_until`) never reads them.
 * - Another collation: see the module's comment (`judgeCollation`).
 */
export function judgeColumn(table: string, want: ColumnShape, have: ColumnFacts): Judgement {
  const column = `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(want.name)}`;
  const broken: string[] = [];
  const fine: string[] = [];
  if (have.type !== want.type) {
    broken.push(`AsyncMQ writes and compares ${want.type} values here; change the type back (${column} TYPE ${want.type})`);
  }
  if (have.generated) {
    broken.push(`a generated column refuses the values AsyncMQ's statements write or leave to the default (${column} DROP EXPRESSION)`);
  }
  if (have.collation) {
    const judged = judgeCollation(want.type, have.collation);
    if (judged.impact === 'breaks') broken.push(`${judged.advice} (${column} TYPE ${want.type} COLLATE "default")`);
    else fine.push(judged.advice);
  }
  if (want.notNull && !have.notNull) {
    fine.push('nullable where the schema says NOT NULL: AsyncMQ always writes a value here');
  } else if (!want.notNull && have.notNull) {
    if (want.default !== undefined && fillsItself(have)) fine.push('NOT NULL: AsyncMQ leaves this column to its default, which fills it');
    else broken.push(`AsyncMQ leaves this column NULL or writes NULL into it, which NOT NULL rejects (${column} DROP NOT NULL)`);
  }
  const haveDefault = have.default || undefined;
  if (haveDefault !== want.default || have.identity) {
    if (want.default === undefined) {
      fine.push("a default the schema does not have: AsyncMQ does not rely on this column's default");
    } else if (want.serial && (have.identity || haveDefault?.startsWith('nextval('))) {
      fine.push('another source of ids than the serial sequence: AsyncMQ only needs a new id for each row');
    } else if (!haveDefault) {
      broken.push(`AsyncMQ's INSERTs leave this column out and rely on its default (${column} SET DEFAULT ${want.default})`);
    } else if (INSERT_TIME.test(want.default) && INSERT_TIME.test(haveDefault)) {
      fine.push('another default that also gives the time of the insert');
    } else {
      broken.push(`AsyncMQ's INSERTs leave this column out, so its default decides what AsyncMQ stores (${column} SET DEFAULT ${want.default})`);
    }
  }
  return broken.length ? breaks(broken.join('; ')) : harmless(`AsyncMQ works with it: ${fine.join('; ')}`);
}

/**
 * A collation other than the column type's default (see the module's comment): a
 * nondeterministic one breaks AsyncMQ on any column it compares, which is every column but an
 * array it stores whole.
 */
function judgeCollation(type: string, collation: { name: string; deterministic: boolean }): Judgement {
  if (collation.deterministic) {
    return harmless(
      `the deterministic collation ${collation.name}: values equal under it only when they are the same text, as under the default, so AsyncMQ's keys and lookups work; only the order of sorts on this column changes`,
    );
  }
  if (type.endsWith('[]')) return harmless(`the nondeterministic collation ${collation.name}: AsyncMQ stores and reads this column whole, never compares it`);
  return breaks(
    `the nondeterministic collation ${collation.name} makes values that differ compare equal (J-1 and j-1 under a case-insensitive one): ` +
      "AsyncMQ's upsert of one job lands on another's row and one of the two is lost, and its lookups find the wrong row; give the column a deterministic collation",
  );
}

/** A column the schema lacks: harmless unless it is NOT NULL with nothing to fill it. */
export function judgeExtraColumn(table: string, name: string, have: ColumnFacts): Judgement {
  if (have.notNull && !fillsItself(have)) {
    return breaks(
      `NOT NULL without a default: AsyncMQ's INSERTs leave it out, so every one fails; give it a default or drop the NOT NULL (ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(name)} DROP NOT NULL)`,
    );
  }
  return harmless("AsyncMQ's statements name their columns, so it is left NULL or to its default");
}

export function judgeMissingColumn(): Judgement {
  return breaks('AsyncMQ writes or reads this column; add it as the schema has it, or drop the table if its rows are not needed');
}

/** A key of the schema that is missing, or holds another definition under its name. */
export function judgeKey(table: string, want: ConstraintShape, found: string | undefined): Judgement {
  const restore = `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(want.name)} ${constraintDefinition(want)}`;
  return breaks(
    `AsyncMQ finds and upserts its rows by this key (its ON CONFLICT names the key's columns, and fails without a unique key on exactly them); ` +
      (found === undefined ? `add it (${restore})` : `replace it (ALTER TABLE ${table} DROP CONSTRAINT ${quoteIdent(want.name)}, then ${restore})`),
  );
}

/** The schema's key under another name: AsyncMQ names columns, never constraints. */
export function judgeRenamedKey(table: string, want: ConstraintShape, foundName: string): Judgement {
  return harmless(
    `AsyncMQ names the key's columns, not the constraint; only tools that compare names (drizzle-kit) see a difference. To match: ALTER TABLE ${table} RENAME CONSTRAINT ${quoteIdent(foundName)} TO ${quoteIdent(want.name)}`,
  );
}

/**
 * A constraint the schema lacks: unique, check, exclusion and foreign key constraints (and
 * constraint triggers) are all checked on AsyncMQ's writes and can reject them, and AsyncMQ
 * cannot know the rule to keep to it. A foreign key from `queue_name` to a table of queues, for
 * one, fails every job of a queue not listed there.
 */
export function judgeExtraConstraint(table: string, name: string): Judgement {
  return breaks(`Postgres checks it on AsyncMQ's writes and can reject them; drop it (ALTER TABLE ${table} DROP CONSTRAINT ${quoteIdent(name)}) and keep the rule elsewhere`);
}

/** An index of the schema that is missing, or an INVALID leftover: AsyncMQ works, more slowly. */
export function judgeMissingIndex(invalid: boolean): Judgement {
  return harmless(
    `${invalid ? 'an interrupted build: ' : ''}AsyncMQ works without it but scans the table instead; install builds it without blocking writers, or run the fix below`,
  );
}

/**
 * The schema's index name, held by an index of the same table with another definition (a DBA
 * rebuilt it with one more column). Install does not build the schema's (the name is taken)
 * and does not refuse the table: an index only speeds AsyncMQ up. A unique one, though, can
 * reject AsyncMQ's writes.
 */
export function judgeDifferentIndex(schemaQualified: string, unique: boolean): Judgement {
  if (unique) return judgeExtraUniqueIndex(schemaQualified);
  return harmless(
    `AsyncMQ works with it (indexes only speed its queries up), so install leaves it alone. To have the schema's index instead: DROP INDEX CONCURRENTLY ${schemaQualified}, then install, which builds it without blocking writers`,
  );
}

/**
 * A unique index or constraint the schema lacks whose columns include every column of one of
 * the schema's keys: whatever it rejects, that key rejects already. The unique key an upgrade
 * to AsyncMQ 0.8 builds, `(queue_name, job_id)` beside `(job_id)`, is one.
 */
export function judgeImpliedUnique(key: ConstraintShape): Judgement {
  return harmless(`it rejects nothing that the key ${key.name} (${key.columns.join(', ')}) does not reject already`);
}

/** A unique index the schema lacks, not behind a constraint: it rejects writes as a unique constraint does. */
export function judgeExtraUniqueIndex(schemaQualified: string): Judgement {
  return breaks(`a unique index can reject AsyncMQ's writes; drop it (DROP INDEX CONCURRENTLY ${schemaQualified})`);
}

export function judgeNotATable(what: string): Judgement {
  return breaks(`AsyncMQ writes into this name, which ${what} cannot take as a table does; drop or rename it, or configure other table names`);
}

/** A name the schema needs, held by another object. */
export function judgeConflict(tableExists: boolean): Judgement {
  return tableExists
    ? harmless('the index cannot be built under this name while the other object holds it; AsyncMQ works without it. Rename or drop the other object, or configure other table names')
    : breaks('install cannot create the table as the schema says while the other object holds this name; rename or drop that object, or configure other table names');
}

/** Row-level security on the table (`bypassed`: whether the role AsyncMQ runs as bypasses it; null for a role that does not exist). */
export function judgeRowSecurity(table: string, facts: { forced: boolean; policies: number; bypassed: boolean | null; role: string | null }): Judgement {
  const disable = `ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`;
  const policies = facts.policies === 0 ? 'it has no policy, so every INSERT is refused and every read comes back empty' : `its ${facts.policies} polic${facts.policies === 1 ? 'y decides' : 'ies decide'} which rows AsyncMQ may write and see, and a job hidden from the dequeue waits forever`;
  if (facts.bypassed) {
    return harmless(
      `the role ${facts.role} bypasses it (a superuser, BYPASSRLS, or the owner of a table that does not FORCE it), so AsyncMQ running as it works; ` +
        `any other role AsyncMQ runs as is held to it: ${policies}. If AsyncMQ runs as another role, status with that role (--role) judges it for that one; or ${disable}`,
    );
  }
  return breaks(
    `${facts.role === null ? 'the role checked does not exist, and any other role' : `the role ${facts.role}`} is held to it${facts.forced ? ' (FORCE applies it to the owner too)' : ''}: ${policies}. ` +
      `asyncmq-postgres does not judge policies; ${disable}, or run AsyncMQ as a role with BYPASSRLS`,
  );
}

/** `pg_class.relpersistence` other than permanent. */
export function judgePersistence(table: string, persistence: string): Judgement {
  if (persistence === 't') return breaks('a temporary table is gone at the end of the session that made it, with every job in it; drop it and let install create the table');
  return breaks(
    "Postgres empties an UNLOGGED table after a crash, and a standby has none of its rows (a failover starts with an empty queue): AsyncMQ takes a committed INSERT as an enqueued job, so every waiting job is silently lost. " +
      `ALTER TABLE ${table} SET LOGGED (it rewrites the table under an ACCESS EXCLUSIVE lock: stop the workers first)`,
  );
}

/** A trigger as judged: when it fires, for what, and whether it fires at all in AsyncMQ's sessions. */
export interface TriggerFacts {
  timing: 'BEFORE' | 'AFTER' | 'INSTEAD OF';
  level: 'ROW' | 'STATEMENT';
  events: readonly string[];
  /** `pg_trigger.tgenabled` */
  enabled: string;
}

/** A trigger on the table: see the module's comment. */
export function judgeTrigger(table: string, name: string, trigger: TriggerFacts): Judgement {
  const drop = `DROP TRIGGER ${quoteIdent(name)} ON ${table}`;
  if (trigger.enabled === 'D') return harmless(`disabled: it does not fire. Enabled, it would be judged again; to be rid of it: ${drop}`);
  if (trigger.enabled === 'R') return harmless(`it fires only in replica sessions (session_replication_role = replica), and AsyncMQ's are not; to be rid of it: ${drop}`);
  const writes = trigger.events.filter((e) => e === 'INSERT' || e === 'UPDATE' || e === 'DELETE');
  if (trigger.timing !== 'AFTER' && trigger.level === 'ROW' && writes.length > 0) {
    return breaks(
      `it runs before each row AsyncMQ ${writes.map((e) => e.toLowerCase() + 's').join(' or ')}, and its function decides what Postgres stores: returning NULL skips the row (INSERT 0 0, the job gone with no error), and it may change any column. ` +
        `asyncmq-postgres cannot read what the function does, so this counts even for one that only sets a column; move it to an AFTER trigger or drop it (${drop})`,
    );
  }
  return harmless(
    `it runs the app's code ${trigger.timing === 'AFTER' ? 'after' : 'before'} AsyncMQ's writes${trigger.level === 'STATEMENT' ? ' (once per statement)' : ''}: ` +
      `more work for each of them, and an error it raises fails the write, but it cannot change or skip AsyncMQ's rows. To be rid of it: ${drop}`,
  );
}

/** A rule as judged. */
export interface RuleFacts {
  event: string;
  instead: boolean;
  /** `pg_rewrite.ev_enabled` */
  enabled: string;
}

/** A rewrite rule on the table: see the module's comment. */
export function judgeRule(table: string, name: string, rule: RuleFacts): Judgement {
  const drop = `DROP RULE ${quoteIdent(name)} ON ${table}`;
  if (rule.enabled === 'D' || rule.enabled === 'R') {
    return harmless(`${rule.enabled === 'D' ? 'disabled' : 'only for replica sessions'}: it does not fire in AsyncMQ's sessions, nor stop its INSERT ... ON CONFLICT. To be rid of it: ${drop}`);
  }
  if (rule.event === 'INSERT' || rule.event === 'UPDATE') {
    return breaks(
      (rule.instead
        ? `DO INSTEAD replaces AsyncMQ's ${rule.event}s with the rule's action: DO INSTEAD NOTHING drops them with no error (INSERT 0 0, the job gone), and any other action makes Postgres refuse AsyncMQ's INSERT ... ON CONFLICT`
        : `Postgres refuses INSERT ... ON CONFLICT on a table with INSERT or UPDATE rules, and AsyncMQ enqueues with it, so every enqueue fails`) +
        `. Drop it (${drop}) and do its work in an AFTER trigger`,
    );
  }
  if (rule.event === 'DELETE' && rule.instead) {
    return breaks(`DO INSTEAD replaces AsyncMQ's DELETEs (acks, removals, purges) with the rule's action: finished jobs stay and run again. Drop it (${drop})`);
  }
  return harmless(`DO ALSO adds the rule's action to AsyncMQ's ${rule.event === 'SELECT' ? 'reads' : `${rule.event}s`}, more work for each, without changing what they do. To be rid of it: ${drop}`);
}
