/**
 * Pure: Postgres's stored expressions (`pg_node_tree`: index expressions and predicates, check
 * constraints) turned back into SQL without asking the server to deparse them.
 *
 * `pg_get_expr(tree, table)` and `pg_get_indexdef()` open the table to learn its column names,
 * which takes an ACCESS SHARE lock: it waits behind any ALTER TABLE or VACUUM FULL, and the
 * queue's writers then wait behind it. The tree's text, read from `pg_index` or `pg_constraint`,
 * takes no lock, and the names it refers to by number (columns, types, operators, functions)
 * are read from the catalogs, which take none either.
 *
 * `printExpression` prints a tree as `pg_get_expr()` does (its non-pretty form, whitespace
 * aside), for the node types index definitions are made of. It is faithful: a tree it prints
 * parses back, on the same server, into the same tree. Whatever it cannot print that way (an
 * unknown node or field, an operator or function outside `pg_catalog` or not an exact match
 * for its arguments' types, a constant of a type it does not decode, an explicit collation,
 * ...) it refuses, and callers show the expression as one no schema has. So two different
 * trees never print alike, and a difference in an expression or a predicate is never missed.
 *
 * It never throws: text that is no tree, a tree nested deeper than it prints (a 1,500-term sum
 * in an app's generated column), a constant in an encoding it does not decode, all print as
 * unreadable. Trees come from the database, so anything the server can store must not stop a
 * status or a startup. Depth is bounded rather than printed iteratively: the schema's own
 * expressions are a few levels deep, and what is deeper belongs to the app, whose judgement
 * (src/catalog/drift.ts) does not depend on its text.
 */

/** A value in a tree: a node, a list, a scalar token, a constant's bytes, or null (`<>`). */
export type TreeValue = TreeNode | TreeValue[] | TreeScalarList | TreeDatum | string | null;

export interface TreeNode {
  readonly node: string;
  readonly fields: Readonly<Record<string, TreeValue>>;
}

/** `(i 1 2)`, `(o 23)`, `(b)`: lists of integers, oids, xids, or a bitmapset. */
export interface TreeScalarList {
  readonly list: 'i' | 'o' | 'x' | 'b';
  readonly items: readonly string[];
}

/** A constant's datum: its length and the bytes Postgres wrote (a whole Datum for by-value types). */
export interface TreeDatum {
  readonly length: number;
  readonly bytes: readonly number[];
}

const isNode = (value: TreeValue | undefined): value is TreeNode => typeof value === 'object' && value !== null && 'node' in value;
const isDatum = (value: TreeValue | undefined): value is TreeDatum => typeof value === 'object' && value !== null && 'bytes' in value;
const isScalarList = (value: TreeValue | undefined): value is TreeScalarList => typeof value === 'object' && value !== null && 'list' in value;

/** The tokens of a tree's text, split as Postgres's own reader (`pg_strtok`) splits them. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\n' || c === '\t') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '{' || c === '}') {
      tokens.push(c);
      i++;
      continue;
    }
    let token = '';
    while (i < text.length && !' \n\t(){}'.includes(text[i]!)) {
      if (text[i] === '\\' && i + 1 < text.length) {
        token += text[i + 1];
        i += 2;
      } else token += text[i++];
    }
    tokens.push(token);
  }
  return tokens;
}

class TreeSyntaxError extends Error {}

/**
 * How deep a tree's text may nest (each node and each list is a level; an operator over an
 * operator is two): deeper text is refused before the recursion below could exhaust the stack.
 * Far above what an expression the printer takes can reach (`MAX_EXPRESSION_DEPTH`).
 */
const MAX_TREE_DEPTH = 600;

/**
 * How deeply nested an expression the printer prints (an operator whose operand is an operator
 * is two levels). Index definitions and checks written by people are a few levels deep.
 */
const MAX_EXPRESSION_DEPTH = 200;

/** Parses a tree's text (`pg_index.indexprs::text`, ...). Throws on text that is not one, or nests deeper than MAX_TREE_DEPTH. */
export function parseTree(text: string): TreeValue {
  const tokens = tokenize(text);
  let at = 0;
  let level = 0;
  const next = () => {
    if (at >= tokens.length) throw new TreeSyntaxError('unexpected end of tree');
    return tokens[at++]!;
  };
  const peek = () => tokens[at];
  const nested = <T>(read: () => T): T => {
    if (++level > MAX_TREE_DEPTH) throw new TreeSyntaxError('a tree nested too deeply');
    try {
      return read();
    } finally {
      level--;
    }
  };

  const value = (): TreeValue => {
    const token = next();
    if (token === '{') return nested(node);
    if (token === '(') return nested(list);
    if (token === '<>') return null;
    return token;
  };
  const node = (): TreeNode => {
    const name = next();
    const fields: Record<string, TreeValue> = {};
    while (peek() !== '}') {
      const field = next();
      if (!field.startsWith(':')) throw new TreeSyntaxError(`expected a field of ${name}, found ${field}`);
      const key = field.slice(1);
      // A constant's datum: `:constvalue 4 [ 5 0 0 0 0 0 0 0 ]`.
      if (key === 'constvalue' && peek() !== '<>') {
        const length = Number(next());
        if (next() !== '[') throw new TreeSyntaxError('expected the bytes of a constant');
        const bytes: number[] = [];
        for (let token = next(); token !== ']'; token = next()) {
          // Postgres writes each byte as a signed char: -128 to 127.
          if (!/^-?\d{1,3}$/.test(token) || Number(token) < -128 || Number(token) > 255) throw new TreeSyntaxError(`a byte ${token}`);
          bytes.push(Number(token));
        }
        fields[key] = { length, bytes };
      } else fields[key] = value();
    }
    next();
    return { node: name, fields };
  };
  const list = (): TreeValue[] | TreeScalarList => {
    const first = peek();
    if (first === 'i' || first === 'o' || first === 'x' || first === 'b') {
      next();
      const items: string[] = [];
      while (peek() !== ')') items.push(next());
      next();
      return { list: first, items };
    }
    const items: TreeValue[] = [];
    while (peek() !== ')') items.push(value());
    next();
    return items;
  };

  const result = value();
  if (at !== tokens.length) throw new TreeSyntaxError('text after the end of the tree');
  return result;
}

/** What a tree refers to by number, as the catalogs name it. */
export interface ColumnInfo {
  /** As `quote_ident()` writes it. */
  name: string;
  type: number;
  typmod: number;
  collation: number;
}

export interface OperatorInfo {
  name: string;
  namespace: string;
  /** 0 for a prefix operator. */
  left: number;
  right: number;
  result: number;
}

export interface FunctionInfo {
  /** As `quote_ident()` writes it. */
  name: string;
  namespace: string;
  args: number[];
  result: number;
  variadic: boolean;
  returnsSet: boolean;
}

export interface TypeInfo {
  /** As `format_type(oid, -1)` writes it. */
  name: string;
  /** `pg_type.typtype`: `b` base, `c` composite, `d` domain, `p` pseudo, ... */
  kind: string;
  /** `pg_type.typcollation`: the default collation of a collatable type, 0 otherwise. */
  collation: number;
}

export interface TreeCatalog {
  /**
   * The database's encoding (`getdatabaseencoding()`: `UTF8`, `LATIN1`, `SQL_ASCII`, ...), which
   * a text constant's bytes are in. Absent: UTF8.
   */
  encoding?: string;
  column(attnum: number): ColumnInfo | undefined;
  type(oid: number): TypeInfo | undefined;
  operator(oid: number): OperatorInfo | undefined;
  func(oid: number): FunctionInfo | undefined;
}

export interface PrintedExpression {
  sql: string;
  /** The expression's type and collation (`exprType`, `exprCollation`). */
  type: number;
  collation: number;
  /** Whether an index definition shows it without parentheses, as a function call. */
  functionLike: boolean;
}

class Unprintable extends Error {}

const BOOL = 16;
const INT2 = 21;
const INT4 = 23;
const INT8 = 20;
const TEXT = 25;
const VARCHAR = 1043;

// CoercionForm
const EXPLICIT_CALL = '0';
const EXPLICIT_CAST = '1';
const IMPLICIT_CAST = '2';

/**
 * Fields each node may have. `must` fields are checked by the printer; `ignore` fields cannot
 * change what the expression means (where the parser put it in the statement, the names of
 * the columns as written, the planner's caches). Any other field, such as one a later
 * Postgres adds, makes the node unprintable.
 */
const FIELDS: Record<string, { must: string[]; ignore: string[] }> = {
  VAR: {
    must: ['varno', 'varattno', 'vartype', 'vartypmod', 'varcollid', 'varlevelsup'],
    ignore: ['varnosyn', 'varattnosyn', 'location', 'varnullingrels', 'varreturningtype'],
  },
  CONST: { must: ['consttype', 'consttypmod', 'constcollid', 'constlen', 'constbyval', 'constisnull', 'constvalue'], ignore: ['location'] },
  OPEXPR: { must: ['opno', 'opresulttype', 'opretset', 'args'], ignore: ['opfuncid', 'opcollid', 'inputcollid', 'location'] },
  FUNCEXPR: {
    must: ['funcid', 'funcresulttype', 'funcretset', 'funcvariadic', 'funcformat', 'args'],
    ignore: ['funccollid', 'inputcollid', 'location'],
  },
  COERCEVIAIO: { must: ['arg', 'resulttype', 'coerceformat'], ignore: ['resultcollid', 'location'] },
  RELABELTYPE: { must: ['arg', 'resulttype', 'resulttypmod', 'relabelformat'], ignore: ['resultcollid', 'location'] },
  COALESCEEXPR: { must: ['coalescetype', 'args'], ignore: ['coalescecollid', 'location'] },
  CASEEXPR: { must: ['casetype', 'arg', 'args', 'defresult'], ignore: ['casecollid', 'location'] },
  CASEWHEN: { must: ['expr', 'result'], ignore: ['location'] },
  BOOLEXPR: { must: ['boolop', 'args'], ignore: ['location'] },
  NULLTEST: { must: ['arg', 'nulltesttype', 'argisrow'], ignore: ['location'] },
  BOOLEANTEST: { must: ['arg', 'booltesttype'], ignore: ['location'] },
  SCALARARRAYOPEXPR: { must: ['opno', 'useOr', 'args'], ignore: ['opfuncid', 'hashfuncid', 'negfuncid', 'inputcollid', 'location'] },
  ARRAYEXPR: { must: ['array_typeid', 'element_typeid', 'elements', 'multidims'], ignore: ['array_collid', 'list_start', 'list_end', 'location'] },
};

function fields(node: TreeNode): Readonly<Record<string, TreeValue>> {
  const known = FIELDS[node.node];
  if (!known) throw new Unprintable(`node ${node.node}`);
  for (const field of Object.keys(node.fields)) {
    if (!known.must.includes(field) && !known.ignore.includes(field)) throw new Unprintable(`field ${node.node}.${field}`);
  }
  for (const field of known.must) if (!(field in node.fields)) throw new Unprintable(`no field ${node.node}.${field}`);
  // The planner fills these in; a stored tree always has them empty.
  const nullingrels = node.fields.varnullingrels;
  if (nullingrels !== undefined && !(isScalarList(nullingrels) && nullingrels.items.length === 0)) throw new Unprintable('varnullingrels');
  if (node.fields.varreturningtype !== undefined && node.fields.varreturningtype !== '0') throw new Unprintable('varreturningtype');
  for (const planned of ['hashfuncid', 'negfuncid']) {
    if (node.fields[planned] !== undefined && node.fields[planned] !== '0') throw new Unprintable(planned);
  }
  return node.fields;
}

function scalar(value: TreeValue | undefined): string {
  if (typeof value !== 'string') throw new Unprintable('expected a scalar');
  return value;
}

function int(value: TreeValue | undefined): number {
  const text = scalar(value);
  if (!/^-?\d+$/.test(text)) throw new Unprintable(`expected a number, found ${text}`);
  return Number(text);
}

function bool(value: TreeValue | undefined): boolean {
  const text = scalar(value);
  if (text !== 'true' && text !== 'false') throw new Unprintable(`expected a boolean, found ${text}`);
  return text === 'true';
}

function nodeOf(value: TreeValue | undefined): TreeNode {
  if (!isNode(value)) throw new Unprintable('expected a node');
  return value;
}

function nodes(value: TreeValue | undefined): TreeNode[] {
  if (!Array.isArray(value)) throw new Unprintable('expected a list');
  return value.map(nodeOf);
}

/** `simple_quote_literal`, with standard_conforming_strings on (the default since 9.1). */
function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function littleEndian(bytes: readonly number[], size: number, signed: boolean): bigint {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]! & 0xff);
  if (signed && bytes[size - 1]! & 0x80) value -= 1n << BigInt(size * 8);
  return value;
}

/**
 * Bytes of text in the database's encoding, as the server sends them to a UTF-8 client. UTF8 is
 * decoded strictly; LATIN1 is ISO 8859-1, byte for code point (not the WHATWG "latin1", which
 * is windows-1252); in any other encoding only ASCII is read (every server encoding extends it,
 * and SQL_ASCII gives bytes above it no meaning), and anything else is refused.
 */
function decodeText(bytes: Uint8Array, encoding: string): string {
  if (encoding === 'UTF8') {
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new Unprintable('text that is not UTF-8');
    }
  }
  if (encoding !== 'LATIN1' && bytes.some((b) => b > 0x7f)) throw new Unprintable(`text beyond ASCII in ${encoding}`);
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return text;
}

/** A varlena's text: a 4-byte header (the length, shifted) or a 1-byte short one; anything else is refused. */
function varlenaText(datum: TreeDatum, encoding: string): string {
  const b = datum.bytes;
  let start: number;
  let length: number;
  if ((b[0]! & 0x01) === 0x01 && b[0] !== 0x01) {
    start = 1;
    length = b[0]! >> 1;
  } else if ((b[0]! & 0x03) === 0x00) {
    start = 4;
    length = Number(littleEndian(b, 4, false) >> 2n);
  } else throw new Unprintable('a compressed or external constant');
  if (length !== datum.length || length > b.length || length < start) throw new Unprintable('a constant of another length');
  const bytes = Uint8Array.from(b.slice(start, length), (x) => x & 0xff);
  // Text never holds a NUL byte; the server would not print one either.
  if (bytes.includes(0)) throw new Unprintable('a text constant with a NUL byte');
  return decodeText(bytes, encoding);
}

function typeName(catalog: TreeCatalog, oid: number): string {
  const type = catalog.type(oid);
  if (!type) throw new Unprintable(`type ${oid}`);
  return type.name;
}

/** `get_const_expr`: `showtype` 0 labels the constant where Postgres would not read it as its type unlabelled; -1 never does. */
function printConst(f: Readonly<Record<string, TreeValue>>, catalog: TreeCatalog, showtype: 0 | -1): PrintedExpression {
  const type = int(f.consttype);
  if (int(f.consttypmod) !== -1) throw new Unprintable('a constant with a type modifier');
  const collation = int(f.constcollid);
  const info = catalog.type(type);
  // A constant with another collation than its type's comes only from folding, never from the parser.
  if (!info || collation !== info.collation) throw new Unprintable('a constant of another collation');
  const label = `::${info.name}`;
  const printed = (sql: string): PrintedExpression => ({ sql, type, collation, functionLike: false });
  if (bool(f.constisnull)) return printed(`NULL${showtype === 0 ? label : ''}`);
  const datum = f.constvalue;
  if (!isDatum(datum)) throw new Unprintable('a constant without its bytes');
  const byValue = (size: number) => {
    if (int(f.constlen) !== size || !bool(f.constbyval) || datum.length !== size || datum.bytes.length < size) {
      throw new Unprintable('a constant of another size');
    }
    return littleEndian(datum.bytes, size, true);
  };
  let sql: string;
  let needLabel: boolean;
  switch (type) {
    case INT4: {
      const value = String(byValue(4));
      needLabel = value.startsWith('-');
      sql = needLabel ? `'${value}'` : value;
      break;
    }
    case BOOL: {
      const value = byValue(1);
      if (value !== 0n && value !== 1n) throw new Unprintable('a boolean constant');
      sql = value === 1n ? 'true' : 'false';
      needLabel = false;
      break;
    }
    case INT2:
      sql = quoteLiteral(String(byValue(2)));
      needLabel = true;
      break;
    case INT8:
      sql = quoteLiteral(String(byValue(8)));
      needLabel = true;
      break;
    case TEXT:
    case VARCHAR:
      if (int(f.constlen) !== -1 || bool(f.constbyval)) throw new Unprintable('a text constant');
      sql = quoteLiteral(varlenaText(datum, catalog.encoding ?? 'UTF8'));
      needLabel = true;
      break;
    default:
      throw new Unprintable(`a constant of type ${type}`);
  }
  return printed(showtype === 0 && needLabel ? `${sql}${label}` : sql);
}

/** How deep `print` is in the expression now (see MAX_EXPRESSION_DEPTH). */
let depth = 0;

/** Prints one node; `showImplicit` as ruleutils passes it down (implicit casts show inside operators and calls). */
function print(value: TreeValue | undefined, catalog: TreeCatalog, showImplicit: boolean): PrintedExpression {
  if (depth >= MAX_EXPRESSION_DEPTH) throw new Unprintable('an expression nested too deeply');
  depth++;
  try {
    return printNode(value, catalog, showImplicit);
  } finally {
    depth--;
  }
}

function printNode(value: TreeValue | undefined, catalog: TreeCatalog, showImplicit: boolean): PrintedExpression {
  const node = nodeOf(value);
  const f = fields(node);
  const expr = (sql: string, type: number, collation = 0, functionLike = false): PrintedExpression => ({ sql, type, collation, functionLike });

  switch (node.node) {
    case 'VAR': {
      if (int(f.varno) !== 1 || int(f.varlevelsup) !== 0) throw new Unprintable('a column of another relation');
      const column = catalog.column(int(f.varattno));
      if (!column || column.type !== int(f.vartype) || column.typmod !== int(f.vartypmod) || column.collation !== int(f.varcollid)) {
        throw new Unprintable('a column that does not match the table');
      }
      return expr(column.name, column.type, column.collation);
    }
    case 'CONST':
      return printConst(f, catalog, 0);
    case 'OPEXPR': {
      if (bool(f.opretset)) throw new Unprintable('a set-returning operator');
      const operator = catalog.operator(int(f.opno));
      const args = nodes(f.args);
      if (!operator || operator.namespace !== 'pg_catalog' || operator.result !== int(f.opresulttype)) throw new Unprintable('an operator');
      const printed = args.map((a) => print(a, catalog, true));
      let sql: string;
      if (printed.length === 2 && operator.left === printed[0]!.type && operator.right === printed[1]!.type) {
        sql = `(${printed[0]!.sql} ${operator.name} ${printed[1]!.sql})`;
      } else if (printed.length === 1 && operator.left === 0 && operator.right === printed[0]!.type) {
        sql = `(${operator.name} ${printed[0]!.sql})`;
      } else throw new Unprintable('an operator that is not an exact match for its operands');
      return expr(sql, int(f.opresulttype), collationIn(f, 'opcollid'));
    }
    case 'FUNCEXPR': {
      if (bool(f.funcretset) || bool(f.funcvariadic)) throw new Unprintable('a set-returning or variadic function');
      const result = int(f.funcresulttype);
      const args = nodes(f.args);
      const format = scalar(f.funcformat);
      if (format === IMPLICIT_CAST || format === EXPLICIT_CAST) {
        // A cast through a function: one argument (a second would be a length coercion's typmod).
        if (args.length !== 1) throw new Unprintable('a length coercion');
        if (format === IMPLICIT_CAST && !showImplicit) return { ...print(args[0], catalog, false), type: result, collation: collationIn(f, 'funccollid') };
        return coercion(args[0]!, result, collationIn(f, 'funccollid'), catalog);
      }
      if (format !== EXPLICIT_CALL) throw new Unprintable('a function written in SQL syntax');
      const fn = catalog.func(int(f.funcid));
      const printed = args.map((a) => print(a, catalog, true));
      if (
        !fn ||
        fn.namespace !== 'pg_catalog' ||
        fn.variadic ||
        fn.returnsSet ||
        fn.result !== result ||
        fn.args.length !== printed.length ||
        fn.args.some((t, i) => t !== printed[i]!.type)
      ) {
        throw new Unprintable('a function that is not an exact match for its arguments');
      }
      return expr(`${fn.name}(${printed.map((p) => p.sql).join(', ')})`, result, collationIn(f, 'funccollid'), true);
    }
    case 'COERCEVIAIO':
    case 'RELABELTYPE': {
      const format = scalar(node.node === 'COERCEVIAIO' ? f.coerceformat : f.relabelformat);
      if (node.node === 'RELABELTYPE' && int(f.resulttypmod) !== -1) throw new Unprintable('a cast with a type modifier');
      const collation = collationIn(f, 'resultcollid');
      if (format === IMPLICIT_CAST && !showImplicit) return { ...print(f.arg, catalog, false), type: int(f.resulttype), collation };
      // The function-call spelling, text(x), would print as a cast and parse back as another node.
      if (format !== EXPLICIT_CAST && format !== IMPLICIT_CAST) throw new Unprintable('a cast written as a call');
      return coercion(nodeOf(f.arg), int(f.resulttype), collation, catalog);
    }
    case 'COALESCEEXPR': {
      const printed = nodes(f.args).map((a) => print(a, catalog, true));
      const type = int(f.coalescetype);
      return expr(`COALESCE(${printed.map((p) => p.sql).join(', ')})`, type, collationIn(f, 'coalescecollid'), true);
    }
    case 'CASEEXPR': {
      // CASE x WHEN ...: its tests hold a placeholder node, which is not printed here.
      if (f.arg !== null) throw new Unprintable('a simple CASE');
      const whens = nodes(f.args).map((w) => {
        if (w.node !== 'CASEWHEN') throw new Unprintable('a CASE arm');
        const arm = fields(w);
        return { test: print(arm.expr, catalog, false), result: print(arm.result, catalog, true) };
      });
      const otherwise = print(f.defresult, catalog, true);
      const type = int(f.casetype);
      const sql = `CASE ${whens.map((w) => `WHEN ${w.test.sql} THEN ${w.result.sql}`).join(' ')} ELSE ${otherwise.sql} END`;
      return expr(sql, type, collationIn(f, 'casecollid'));
    }
    case 'BOOLEXPR': {
      const args = nodes(f.args).map((a) => print(a, catalog, false));
      const op = scalar(f.boolop);
      if (op === 'not' && args.length === 1) return expr(`(NOT ${args[0]!.sql})`, BOOL);
      if ((op === 'and' || op === 'or') && args.length >= 2) return expr(`(${args.map((a) => a.sql).join(op === 'and' ? ' AND ' : ' OR ')})`, BOOL);
      throw new Unprintable('a boolean expression');
    }
    case 'NULLTEST': {
      const arg = print(f.arg, catalog, true);
      const kind = catalog.type(arg.type)?.kind;
      if (bool(f.argisrow) || kind === undefined || kind === 'c' || kind === 'p') throw new Unprintable('a null test of a row');
      const test = scalar(f.nulltesttype);
      if (test !== '0' && test !== '1') throw new Unprintable('a null test');
      return expr(`(${arg.sql} ${test === '0' ? 'IS NULL' : 'IS NOT NULL'})`, BOOL);
    }
    case 'BOOLEANTEST': {
      const tests = ['IS TRUE', 'IS NOT TRUE', 'IS FALSE', 'IS NOT FALSE', 'IS UNKNOWN', 'IS NOT UNKNOWN'];
      const test = tests[int(f.booltesttype)];
      if (!test) throw new Unprintable('a boolean test');
      return expr(`(${print(f.arg, catalog, false).sql} ${test})`, BOOL);
    }
    case 'SCALARARRAYOPEXPR': {
      const args = nodes(f.args);
      if (args.length !== 2 || args[1]!.node !== 'ARRAYEXPR') throw new Unprintable('an array comparison with no ARRAY[...]');
      const left = print(args[0], catalog, true);
      const elementType = int(fields(args[1]!).element_typeid);
      const right = print(args[1], catalog, true);
      const operator = catalog.operator(int(f.opno));
      if (!operator || operator.namespace !== 'pg_catalog' || operator.result !== BOOL || operator.left !== left.type || operator.right !== elementType) {
        throw new Unprintable('an operator that is not an exact match for its operands');
      }
      return expr(`(${left.sql} ${operator.name} ${bool(f.useOr) ? 'ANY' : 'ALL'} (${right.sql}))`, BOOL);
    }
    case 'ARRAYEXPR': {
      if (bool(f.multidims)) throw new Unprintable('a multidimensional array');
      const elementType = int(f.element_typeid);
      const elements = nodes(f.elements).map((e) => print(e, catalog, true));
      if (elements.length === 0 || elements.some((e) => e.type !== elementType)) throw new Unprintable('an array of mixed or no elements');
      const type = int(f.array_typeid);
      typeName(catalog, type);
      return expr(`ARRAY[${elements.map((e) => e.sql).join(', ')}]`, type, collationIn(f, 'array_collid'));
    }
    default:
      throw new Unprintable(`node ${node.node}`);
  }
}

/** `get_coercion_expr`: `(arg)::type`, or a constant of that very type with the one label. */
function coercion(arg: TreeNode, resultType: number, collation: number, catalog: TreeCatalog): PrintedExpression {
  const name = typeName(catalog, resultType);
  if (arg.node === 'CONST') {
    const f = fields(arg);
    if (int(f.consttype) === resultType && int(f.consttypmod) === -1) {
      return { sql: `${printConst(f, catalog, -1).sql}::${name}`, type: resultType, collation, functionLike: false };
    }
  }
  return { sql: `(${print(arg, catalog, false).sql})::${name}`, type: resultType, collation, functionLike: false };
}

/** The collation the parser gave a node (its `exprCollation`); absent on older trees, where it is none. */
function collationIn(f: Readonly<Record<string, TreeValue>>, field: string): number {
  return f[field] === undefined ? 0 : int(f[field]);
}

/**
 * Prints a tree (one expression, not a list), or returns undefined when it holds anything not
 * printed faithfully. Never throws: whatever goes wrong (an Unprintable, and, as a last line, any
 * other error, a stack exhausted by a catalog lookup included) makes it unreadable.
 */
export function printExpression(tree: TreeValue, catalog: TreeCatalog): PrintedExpression | undefined {
  depth = 0;
  try {
    return print(tree, catalog, false);
  } catch {
    return undefined;
  } finally {
    depth = 0;
  }
}

/**
 * Parses a tree's text and prints each expression of it (index expressions are a list). Text
 * that is no tree, or nests too deeply, is one unreadable expression. Never throws.
 */
export function printTreeText(text: string, catalog: TreeCatalog): (PrintedExpression | undefined)[] {
  let tree: TreeValue;
  try {
    tree = parseTree(text);
  } catch {
    return [undefined];
  }
  return (Array.isArray(tree) ? tree : [tree]).map((t) => printExpression(t, catalog));
}

/** The oids a tree's text refers to, by what they are, for the catalog read that names them. */
export const TREE_OID_FIELDS = {
  types: ['vartype', 'consttype', 'opresulttype', 'funcresulttype', 'resulttype', 'coalescetype', 'casetype', 'array_typeid', 'element_typeid'],
  operators: ['opno'],
  functions: ['funcid'],
} as const;
