/** Pure: SQL text as the catalog prints it, for comparing definitions written by hand with it. */

/**
 * SQL as an index definition compares it: runs of whitespace outside string literals made one
 * space, none just inside parentheses, and double quotes dropped from names that need none
 * (drizzle quotes every column, `pg_get_expr` only where it must).
 */
export function normalizeSql(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'") {
      const end = literalEnd(sql, i);
      out += sql.slice(i, end);
      i = end;
    } else if (c === '"') {
      let end = i + 1;
      let name = '';
      while (end < sql.length) {
        if (sql[end] === '"' && sql[end + 1] === '"') {
          name += '"';
          end += 2;
        } else if (sql[end] === '"') break;
        else name += sql[end++];
      }
      out += /^[a-z_][a-z0-9_$]*$/.test(name) ? name : sql.slice(i, end + 1);
      i = end + 1;
    } else if (/\s/.test(c)) {
      while (i < sql.length && /\s/.test(sql[i]!)) i++;
      if (out !== '' && !out.endsWith('(') && i < sql.length && sql[i] !== ')') out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * An expression without the parentheses that enclose the whole of it, as many layers as there
 * are: `((a)::int)` → `(a)::int`, while `(a) + (b)` stays. Written around an index key, they
 * change nothing in what Postgres stores, and `pg_get_indexdef()` prints the key without them.
 */
export function withoutOuterParentheses(sql: string): string {
  let text = sql.trim();
  while (text.startsWith('(') && closingOf(text, 0) === text.length - 1) text = text.slice(1, -1).trim();
  return text;
}

/** Where the parenthesis opened at `open` closes, string literals and quoted names skipped; -1 if never. */
function closingOf(sql: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'") {
      i = literalEnd(sql, i);
      continue;
    }
    if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      i = end < 0 ? sql.length : end + 1;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
    i++;
  }
  return -1;
}

function literalEnd(sql: string, start: number): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
    else if (sql[i] === "'") return i + 1;
    else i++;
  }
  return sql.length;
}

/*
 * Every SQL text the package sends names pg_catalog's objects explicitly. Postgres resolves an
 * unqualified function, operator, type or relation through the session's search_path, and for
 * functions and operators it takes the best match of argument types across every schema there:
 * a `public.quote_ident(name)` made by any role that may CREATE in `public` beats pg_catalog's
 * `quote_ident(text)`, and runs with the caller's rights, superuser included (CVE-2018-1058's
 * pattern). A qualified name only ever considers pg_catalog's. test/search-path.test.ts shadows
 * everything the package's SQL could reach and runs every path.
 */

/** An operator of pg_catalog: `OPERATOR(pg_catalog.=)`. */
export const op = (operator: string): string => `OPERATOR(pg_catalog.${operator})`;

/** `=` of pg_catalog. */
export const EQ = op('=');

/** A string literal; the names are validated identifiers, but nothing is pasted unquoted. */
export const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** `expr` is one of `values`, compared as pg_catalog's `type` (`name`, `text`, `"char"`). */
export function oneOf(expr: string, values: readonly string[], type: string): string {
  return `${expr} ${EQ} any (array[${values.map(literal).join(', ')}]::pg_catalog.${type}[])`;
}

/** `expr` is among the rows of `query` (`IN (select ...)`, written with pg_catalog's `=`). */
export const inQuery = (expr: string, query: string): string => `${expr} ${EQ} any (${query})`;

/**
 * SQL that `pg_get_expr()` printed, as it prints it under a plain search_path: it qualifies
 * pg_catalog's functions and operators (`pg_catalog.now()`, `OPERATOR(pg_catalog.=)`) when
 * another schema's of the same name comes first in the session's search_path. Only for text
 * already known to name pg_catalog's objects alone.
 */
export function withoutCatalogQualifier(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    if (sql[i] === "'") {
      const end = literalEnd(sql, i);
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    const operator = /^OPERATOR\(pg_catalog\.([^)\s]+)\)/.exec(sql.slice(i));
    if (operator) {
      out += operator[1];
      i += operator[0].length;
    } else if (sql.startsWith('pg_catalog.', i) && !/[\w$"]/.test(sql[i - 1] ?? ' ')) {
      i += 'pg_catalog.'.length;
    } else out += sql[i++];
  }
  return out;
}

/** `||` of pg_catalog. */
export const CAT = op('||');

// Names the grammar turns into pg_catalog's own, never looked up on the search_path: function-like
// constructs, and type names that are key words (`integer` is pg_catalog.int4 by the grammar).
const CONSTRUCTS = new Set(['coalesce', 'nullif', 'greatest', 'least', 'cast', 'extract', 'exists', 'array', 'row', 'in', 'any', 'all', 'some', 'not', 'and', 'or', 'values']);
const KEYWORD_TYPES = new Set([
  'bigint', 'bit', 'boolean', 'char', 'character', 'dec', 'decimal', 'double', 'float', 'int', 'integer', 'interval',
  'national', 'nchar', 'numeric', 'real', 'smallint', 'time', 'timestamp', 'varchar', 'serial', 'bigserial', 'smallserial',
]);

/** A type name as written in DDL, pg_catalog's whatever the search_path: `pg_catalog.text[]`, `integer`. */
export function catalogType(type: string): string {
  const word = /^[a-z_][a-z0-9_]*/i.exec(type)?.[0] ?? '';
  return KEYWORD_TYPES.has(word.toLowerCase()) || type.includes('.') || type.startsWith('"') ? type : `pg_catalog.${type}`;
}

/**
 * An expression (a default, an index key or predicate) with every function, operator and type it
 * names made pg_catalog's: `now()` → `pg_catalog.now()`, `a = 'x'::text` →
 * `a OPERATOR(pg_catalog.=) 'x'::pg_catalog.text`. Postgres stores the same objects either way,
 * so the catalog reads the same; only the text that is sent is safe under any search_path.
 */
export function catalogQualified(sql: string): string {
  const token = /'(?:[^']|'')*'|"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*|\d+(?:\.\d+)?|::|[+\-*/<>=~!@#%^&|`?]+|\s+|./gy;
  const tokens = sql.match(token) ?? [];
  const next = (i: number) => tokens.slice(i + 1).find((t) => !/^\s+$/.test(t));
  const previous = (i: number) => [...tokens.slice(0, i)].reverse().find((t) => !/^\s+$/.test(t));
  return tokens
    .map((t, i) => {
      if (/^[A-Za-z_]/.test(t)) {
        const before = previous(i);
        if (before === '.') return t;
        if (before === '::') return catalogType(t);
        return next(i) === '(' && !CONSTRUCTS.has(t.toLowerCase()) ? `pg_catalog.${t}` : t;
      }
      if (/^[+\-*/<>=~!@#%^&|`?]+$/.test(t)) {
        // `count(*)`: an argument list, not an operator.
        if (t === '*' && previous(i) === '(' && next(i) === ')') return t;
        return op(t);
      }
      return t;
    })
    .join('');
}
