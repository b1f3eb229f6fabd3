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
