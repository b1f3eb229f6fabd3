/**
 * Texts to hold the poison check to Postgres's own casts (`integer`, `double precision`): the
 * edges of their input rules (whitespace, signs, bases, exponents, the words, the limits of the
 * range digit for digit), what JSON numbers and strings read as through `->>`, and random
 * numbers near float8's limits.
 */

const HUGE = 2n ** 970n * (2n ** 54n - 1n); // 2^1024 - 2^970: the least value that rounds to infinity
const TINY = 5n ** 1075n; // 2^-1075 = TINY × 10^-1075: the greatest that rounds to 0

/** `digits` × 10^`exp` written as a decimal with an exponent. */
const sci = (digits: bigint | string, exp: number) => `${digits}e${exp}`;

/** A seeded generator, so every run checks the same texts. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function integerCorpus(): string[] {
  const ws = [' ', '\t', '\n', '\r', '\f', '\v'];
  return [
    '', ' ', '0', '5', '-5', '+5', '05', '-0', '+0', '00', '+-5', '--5', '5-', '- 5', '5 5', '1,000', '1_000', '1 000',
    ...ws.flatMap((w) => [`${w}5`, `5${w}`, `${w}-5${w}${w}`]),
    '\u00a05', '\u20035', '5\u3000', '\u0665', '\uff15',
    '5.0', '5.', '.5', '1e2', '1E2', '0x10', '0X1f', '0o7', '0b101', '0x', '1e', 'NaN', 'nan', 'Infinity', '-Infinity', 'inf',
    'high', 'true', 'false', 'null', '{}', '[]', '[1]', '"5"',
    '2147483647', '2147483648', '-2147483648', '-2147483649', '+2147483647', '02147483647', '00000000002147483647',
    '-00000000002147483648', '2147483646', '999999999', '1000000000', '9999999999', '10000000000', '4294967296',
    '21474836470', '-21474836480', '99999999999999999999999999', ' 2147483647 ', '\t-2147483648\n',
  ];
}

export function floatCorpus(): string[] {
  const ws = [' ', '\t', '\n', '\r', '\f', '\v'];
  const fixed = [
    '', ' ', '.', '+', '-', '+.', '.e5', 'e5', '1e', '1e+', '1e-', '1.5e3', '1.5E+03', '  1.5e-3  ', '-.5', '+5.', '5.5.5', '1e5e5',
    ...ws.flatMap((w) => [`${w}1.5`, `1.5${w}`]),
    '\u00a01', '1\u2003', '\u0661.5',
    'NaN', 'nan', '-NaN', '+nan', 'NAN(abc)', 'nan()', 'nan(a_b9)', 'nan(a-b)', 'nan(', 'nana',
    'inf', '-inf', '+Inf', 'INFINITY', 'Infinity ', '-infinity', 'infinit', 'infinityx', 'inf inity', 'Infinit y', 'infin',
    '0', '-0', '0.0', '0e0', '0e999999999999999999999', '0.000e-99999999999999999999', '0x0', '0x0p99999999999999999999',
    '1e308', '-1e308', '1e309', '-1e309', '1.7976931348623157e308', '1.7976931348623158e308', '1.7976931348623159e308',
    '1e-307', '2.2250738585072014e-308', '1e-310', '1e-323', '1e-324', '2e-324', '3e-324', '4.9406564584124654e-324',
    '2.4703282292062327e-324', '2.4703282292062328e-324', '-2.4703282292062328e-324', '1e-400', '1e400',
    '1e99999999999999999999', '1e-99999999999999999999', '-1e99999999999999999999',
    `0.${'0'.repeat(400)}1e400`, `1${'0'.repeat(400)}e-400`, `${'0'.repeat(500)}1.5`, `1.${'0'.repeat(800)}1`,
    // float8's limits, exactly and just beside them
    sci(HUGE, 0), sci(HUGE - 1n, 0), sci(HUGE + 1n, 0), `${HUGE}.${'0'.repeat(20)}1`, `${HUGE - 1n}.${'9'.repeat(30)}`, `-${HUGE}`,
    sci(TINY, -1075), sci(TINY + 1n, -1075), sci(TINY - 1n, -1075), `${TINY}${'0'.repeat(5)}1e-1081`, sci(TINY * 10n, -1076), `-${sci(TINY, -1075)}`,
    `0.${'0'.repeat(323)}${TINY}`,
    // hexadecimal, as the C library reads it
    '0x10', '0X1F', '0x.8', '0x1.', '0x1p', '0x1p3', '0X1P+3', '0x1p-3', '0x', '0x.', '0x.p1', '0xg', '-0x10', ' 0x10 ',
    '0x1p1023', '0x1p1024', '0x1.fffffffffffffp1023', '0x1.fffffffffffff7p1023', '0x1.fffffffffffff8p1023', '0x1.fffffffffffff7ffffp1023',
    '0x1p-1074', '0x1p-1075', '0x1.8p-1075', '0x1.00000000000000001p-1075', '0x0.8p-1074', '0x0.80000001p-1074', '0x1p-1076',
    '0x1p99999999999999999999', '0x1p-99999999999999999999', `0x${'0'.repeat(300)}1p-1074`,
    'high', 'tomorrow', '2024-01-01T00:00:00Z', 'true', '{}', '1,5', '1_000.5',
  ];
  const next = random(17);
  const generated: string[] = [];
  for (let i = 0; i < 60; i++) {
    const digits = Array.from({ length: 1 + Math.floor(next() * 20) }, () => Math.floor(next() * 10)).join('');
    const exp = [-330, -325, -324, -323, -322, 305, 306, 307, 308, 309][Math.floor(next() * 10)]! - Math.floor(next() * 4);
    generated.push(`${next() < 0.5 ? '-' : ''}${digits.slice(0, 1)}.${digits.slice(1)}e${exp}`);
  }
  return [...fixed, ...generated];
}
