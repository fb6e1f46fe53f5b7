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

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.map': 'application/json', '.json': 'application/json' };

/**
 * A static server for a bench page and the built library: only the trees in
 * `served` (paths relative to `root`, e.g. 'dist/'), on 127.0.0.1 only, and it
 * stops by itself after `maxMs` whatever happens to the run.
 */
export async function serveStatic(root, served, { maxMs = 30 * 60_000 } = {}) {
  const { createServer } = await import('node:http');
  const { existsSync, readFileSync, statSync } = await import('node:fs');
  const { extname, join, normalize, sep } = await import('node:path');
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^[/\\]+/, '');
    const file = join(root, path);
    const allowed = served.some((p) => path.split(sep).join('/').startsWith(p)) && file.startsWith(root);
    if (!allowed || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const guard = setTimeout(() => server.close(), maxMs);
  guard.unref();
  const stop = () => (clearTimeout(guard), server.closeAllConnections?.(), new Promise((r) => server.close(r)));
  return { server, origin: `http://127.0.0.1:${server.address().port}`, stop };
}
