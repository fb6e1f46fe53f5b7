/**
 * Small text helpers shared by the commands: plurals, tab-separated fields,
 * "did you mean".
 *
 * @module
 */

/** `1 object`, `2 objects`; `plural` overrides the default `word + 's'`. */
export function count(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`;
}

/**
 * One field of a tab-separated line: backslash, tab, newline and carriage
 * return escaped as `\\`, `\t`, `\n`, `\r`, so a field never breaks its
 * columns or its line and the original text can be recovered.
 */
export function field(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest of `candidates` to `typed` (case-insensitive; at most 1 edit for words of up to 3 letters, else 2), or undefined. */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  const t = typed.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const n = distance(t, c.toLowerCase());
    if (n < bestDistance) [best, bestDistance] = [c, n];
  }
  return bestDistance <= (typed.length <= 3 ? 1 : 2) ? best : undefined;
}

/** `; did you mean "get"?` when a candidate is close to `typed`, else ``. */
export function didYouMean(typed: string, candidates: readonly string[]): string {
  const c = closest(typed, candidates);
  return c === undefined ? '' : `; did you mean ${JSON.stringify(c)}?`;
}
