/**
 * "Did you mean ...?": the known word nearest to a misspelt one, for flags, commands and config
 * keys. A near miss is a few edits away (a transposition counts as one: `verison`), or the start
 * of exactly one known word (`--lock` for `--lock-timeout`).
 */

/** The edits (insert, delete, substitute, swap two neighbours) between `a` and `b`. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known words nearest to `word` (none when nothing is near). `aliases` maps other spellings
 * users reach for (a setting's own name for its flag) to the known word they mean.
 */
export function nearest(word: string, known: readonly string[], aliases: Readonly<Record<string, string>> = {}): string[] {
  const alias = aliases[word];
  if (alias !== undefined) return [alias];
  const limit = word.length <= 4 ? 1 : 2;
  const scored = known.map((candidate) => [candidate, distance(word, candidate)] as const).filter(([, d]) => d <= limit);
  if (scored.length > 0) {
    const best = Math.min(...scored.map(([, d]) => d));
    return scored.filter(([, d]) => d === best).map(([candidate]) => candidate);
  }
  const starts = known.filter((candidate) => word.length >= 3 && candidate.startsWith(word));
  return starts.length === 1 ? starts : [];
}

/** `; did you mean --a?` (or `--a or --b`), or nothing. */
export function didYouMean(suggestions: readonly string[]): string {
  return suggestions.length === 0 ? '' : `; did you mean ${suggestions.join(' or ')}?`;
}
