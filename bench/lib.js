// Shared benchmark helpers: medians of repeated rounds, ratio tables. Every figure is
// a median of `rounds` runs, and every claim is a ratio against a baseline measured
// in the same run (the machines are noisy: quote medians).

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `fn` (sync or async; called with the round index) `rounds` times after `warmup`
 * unmeasured runs; each call performs `ops` operations. Returns median ops/s.
 */
export async function opsPerSecond(fn, { ops = 1, rounds = 5, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const rates = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await fn(r);
    const ms = performance.now() - t0;
    rates.push((ops * 1000) / ms);
  }
  return median(rates);
}

/** Runs `fn` in a tight loop for about `ms` milliseconds, `rounds` times; median ops/s. */
export async function loopRate(fn, { ms = 300, rounds = 5 } = {}) {
  const rates = [];
  for (let r = -1; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      for (let i = 0; i < 16; i++) await fn();
      n += 16;
      t = performance.now();
    }
    if (r >= 0) rates.push((n * 1000) / (t - t0));
  }
  return median(rates);
}

export const fmt = (n, digits = 0) =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(Math.max(digits, n < 10 ? 2 : 1));

/** Prints a table of rows (objects with the same keys). */
export function table(title, rows) {
  console.log(`\n## ${title}\n`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cells = rows.map((r) => cols.map((c) => String(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals) => '| ' + vals.map((v, i) => v.padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(cols));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const row of cells) console.log(line(row));
}
