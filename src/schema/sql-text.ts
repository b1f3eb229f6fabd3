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

function literalEnd(sql: string, start: number): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
    else if (sql[i] === "'") return i + 1;
    else i++;
  }
  return sql.length;
}
