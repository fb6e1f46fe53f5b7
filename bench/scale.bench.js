// How the archive scales with its size (issue 14, "An index that scales"): one table per backend,
// a column per archive size, rows for reopen time, the heap an opened archive adds, put / putMany
// rates, close time, list() throughput and verify MB/s; then the issue's aims, each as a ratio or
// figure measured in this same run, marked met / not met.
//
// - memory adapter at 10k, 1M and 10M objects; node-fs (durable: false, temp dir, removed after)
//   at 10k and 1M. ~200-byte distinct values ({"n":…,"pad":"x…"}, exactly 200 canonical bytes),
//   filled with putMany in batches of 1,000.
// - Every (backend, size) runs in its own child process (`node --expose-gc`, bench/scale/level.js)
//   so that levels do not pollute each other's heap, under a time limit (8 min by default). A
//   level that dies (out of memory, V8's string limit), or passes the limit, is killed and
//   reported as `failed: <reason> during <phase>` next to whatever it measured before; the bench
//   goes on.
// - IndexedDB in headless Chromium (on-disk profile): a page fills an archive (1M objects, or as
//   many as fit in the fill budget: the table says), closes it, and reopens it in fresh page loads.
// - The index format each archive wrote is read back through the adapter (`index.json`'s
//   `version`), so a reader knows whether the figures are index v1 or v2.
//
// - Beside each Node level's rates and its reopen time: the same per CPU second of the child
//   (`cpu …`, process.cpuUsage, every thread). The machines are shared: at a load of 10-20 a
//   wall-time rate says more about the neighbours than about the archive; the CPU figure is what
//   the level itself cost. The aims are judged on wall time, as the issue states them.
//
// `npm run bench -- scale`. Env:
//   SCALE_LEVELS=10k,100k       sizes for every backend (default: memory 10k,1m,10m; node-fs and
//                               indexeddb 10k,1m); SCALE_MEMORY_LEVELS / SCALE_FS_LEVELS /
//                               SCALE_IDB_LEVELS override one backend; a backend given "none" is skipped
//   SCALE_BACKENDS=memory,node-fs,indexeddb
//   SCALE_LEVEL_MINUTES=8       time limit per level (the child is killed past it)
//   SCALE_IDB_FILL_MINUTES=5    IndexedDB fill budget per level (it stops at a batch boundary)
//   SCALE_HEAP_MB=8192          --max-old-space-size of each child
//   SCALE_LIST_SECONDS=60, SCALE_VERIFY_SECONDS=60   caps of list() and verify (a capped figure
//                               says over how many hashes / objects it was measured)
//   SCALE_REOPENS=5, SCALE_BATCH=1000, SCALE_TMPDIR (node-fs dirs; default os.tmpdir())
//   SCALE_WARMUP=10000          values each level first puts into a throwaway store (0: none),
//                               so no level's window measures V8 warming up
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir, loadavg, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, serveStatic, table } from './lib.js';
import { median } from './scale/common.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LEVEL_SCRIPT = fileURLToPath(new URL('./scale/level.js', import.meta.url));
const LEVEL_MS = Number(process.env.SCALE_LEVEL_MINUTES ?? 8) * 60_000;
const IDB_FILL_MS = Number(process.env.SCALE_IDB_FILL_MINUTES ?? Math.min(5, (LEVEL_MS / 60_000) * 0.6)) * 60_000;
const HEAP_MB = Number(process.env.SCALE_HEAP_MB ?? 8192);
const BATCH = Number(process.env.SCALE_BATCH ?? 1000);
const REOPENS = Number(process.env.SCALE_REOPENS ?? 5);

function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(s.trim());
  if (!m) throw new Error(`bad size "${s}" (e.g. 10k, 1m, 250000)`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, m: 1e6 }[m[2].toLowerCase()]);
}
function levels(envName, fallback) {
  const raw = process.env[envName] ?? process.env.SCALE_LEVELS ?? fallback;
  if (raw.trim() === 'none' || raw.trim() === '') return [];
  return [...new Set(raw.split(',').map(parseSize))].sort((a, b) => a - b);
}
const sizeLabel = (n) => (n >= 1e6 && n % 1e5 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 100 === 0 ? `${n / 1e3}k` : String(n));
const ms = (x) => (x === undefined ? '—' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 2 : 1)} ms`);
const MB = (b) => (b === undefined ? '—' : `${(b / 1e6).toFixed(b < 1e7 ? 2 : 1)} MB`);
const per = (x, unit = '/s') => (x === undefined ? '—' : `${fmt(x)}${unit}`);
/** A wall-time rate with its rate per CPU second beside it (level.js: what the level itself cost, whatever ran beside it). */
const perCpu = (x) => (x?.rate === undefined ? '—' : `${per(x.rate)}${x.cpuRate === undefined ? '' : ` (cpu ${per(x.cpuRate)})`}`);

/** What is running beside this run (the machine is shared): load, memory, the heaviest processes. */
async function machineNote() {
  const top = await new Promise((resolve) => {
    const p = spawn('ps', ['-eo', 'pcpu,rss,args', '--sort=-pcpu', '--no-headers'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', () => resolve(out));
    p.on('error', () => resolve(''));
  });
  const rows = top
    .split('\n')
    .filter(Boolean)
    .slice(0, 6)
    .map((l) => {
      const [cpu, rss, ...args] = l.trim().split(/\s+/);
      return `${cpu}% cpu, ${Math.round(Number(rss) / 1024)} MiB: ${args.join(' ').slice(0, 110)}`;
    });
  return `load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${(freemem() / 2 ** 30).toFixed(1)} of ${(totalmem() / 2 ** 30).toFixed(1)} GiB free; busiest processes:\n    ${rows.join('\n    ')}`;
}

// ---------------------------------------------------------------- Node levels (child processes)

/** The phases of level.js, in order, named by the first figure each one emits. */
const PHASES = [
  ['fillSeconds', 'fill'],
  ['closeAfterFill', 'close after fill'],
  ['index', 'reading index.json'],
  ['reopen', 'reopen'],
  ['getRate', 'random gets'],
  ['putRate', 'puts'],
  ['putManyReopened', 'putMany after reopen'],
  ['closeAfterPuts', 'close after puts'],
  ['list', 'list()'],
  ['verify', 'verify'],
  ['done', 'end'],
];

/**
 * node-fs temp dirs, removed at the end of the run, after the tables: deleting a million files
 * takes minutes on a busy disk (10+ min was seen), and is no part of any level.
 */
const tempDirs = [];
function removeTempDirs() {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Runs one level in a child; resolves its figures, plus `failed` when it did not finish. */
function runLevel(backend, n) {
  return new Promise((resolve) => {
    const dir = backend === 'node-fs' ? mkdtempSync(join(process.env.SCALE_TMPDIR ?? tmpdir(), 'bench-scale-')) : undefined;
    const args = ['--expose-gc', `--max-old-space-size=${HEAP_MB}`, LEVEL_SCRIPT, backend, String(n), ...(dir ? [join(dir, 'archive')] : [])];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const figures = {};
    const tail = [];
    let lastProgress = '';
    let timedOut = false;
    const t0 = performance.now();
    const lines = (stream, onLine) => {
      let buf = '';
      stream.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      stream.on('end', () => buf && onLine(buf));
    };
    lines(child.stdout, (l) => {
      if (!l.startsWith('@scale ')) return;
      try {
        const { key, value } = JSON.parse(l.slice(7));
        figures[key] = value;
      } catch {}
    });
    lines(child.stderr, (l) => {
      if (l.startsWith('  [')) {
        process.stderr.write(l + '\n');
        if (l.includes('] fill ')) lastProgress = /\] fill ([\d,]+) \//.exec(l)?.[1] ?? lastProgress;
      }
      tail.push(l);
      if (tail.length > 60) tail.shift();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, LEVEL_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (dir) tempDirs.push(dir);
      figures.seconds = (performance.now() - t0) / 1000;
      if (!figures.done) {
        const phase = PHASES.find(([k]) => !(k in figures))?.[1] ?? 'end';
        const text = tail.join('\n');
        let why;
        if (timedOut) why = `time limit (${LEVEL_MS / 60_000} min)`;
        else if (/heap out of memory|Reached heap limit|allocation failed/i.test(text)) why = `out of memory (heap limit ${HEAP_MB} MB)`;
        else {
          const err = tail.find((x) => /^\s*(\w*Error|RangeError|Uncaught)\b/.test(x)) ?? tail.find((x) => /Error/.test(x));
          why = err ? err.trim().slice(0, 120) : signal ? `killed by ${signal}` : `exit code ${code}`;
        }
        figures.failed = `${why} during ${phase}${phase === 'fill' && lastProgress ? ` (at ${lastProgress} objects)` : ''}`;
        if (!timedOut && why.startsWith('exit') === false) process.stderr.write(`  [${backend} ${n}] failed; last stderr lines:\n${tail.slice(-8).map((x) => '    ' + x).join('\n')}\n`);
      }
      resolve(figures);
    });
  });
}

function nodeRows(results) {
  const col = (f) => Object.fromEntries(results.map(({ n, r }) => [sizeLabel(n), f(r)]));
  const row = (name, f) => ({ row: name, ...col(f) });
  const capNote = (x, total) => (x.capped ? ` (first ${fmt(x.hashes ?? x.checked)} in ${x.capSeconds} s)` : ` (all ${fmt(total)})`);
  return [
    row('status', (r) => (r.failed ? `failed: ${r.failed}` : `ok (${r.seconds.toFixed(0)} s)`)),
    row('index written (index.json)', (r) => (r.index ? `v${r.index.version}${r.index.format ? ` ${r.index.format}` : ''}, ${MB(r.index.bytes)}${r.index.pieces ? `, ${r.index.pieces} index/ keys` : ''}${r.index.journal ? `, ${r.index.journal} journal segs` : ''}` : '—')),
    row('fill: putMany, whole fill', (r) => (r.fillRate ? `${per(r.fillRate)} (${r.fillSeconds.toFixed(1)} s)` : '—')),
    row('putMany rate, last tenth of fill (>= 10k values)', (r) => perCpu(r.putManyFillWindow)),
    row(`putMany rate after reopen (3 x ${BATCH} per round, median of 3)`, (r) => perCpu(r.putManyReopened)),
    row('put rate (awaited single puts, 100 per round, median of 3)', (r) => per(r.putRate?.rate)),
    row('get rate (1,000 random hashes, awaited, after reopen)', (r) => per(r.getRate)),
    row('close after fill', (r) => ms(r.closeAfterFill)),
    row(`close after 300 puts + ${fmt(9 * BATCH)} putMany`, (r) => ms(r.closeAfterPuts)),
    row('close with no writes (median)', (r) => ms(r.closeNoWrites)),
    row(`reopen (median of up to ${REOPENS})`, (r) => (r.reopen ? `${ms(r.reopen.ms)}${r.reopen.cpuMs === undefined ? '' : ` (cpu ${ms(r.reopen.cpuMs)})`}${r.reopen.runs < REOPENS ? ` (${r.reopen.runs} runs)` : ''}` : '—')),
    row('heap + external added by an opened archive (after gc)', (r) => (r.heapOpened ? `${MB(r.heapOpened.total)} (heap ${MB(r.heapOpened.heap)}, ext ${MB(r.heapOpened.external)})` : '—')),
    row('heap + external added by 1,000 random gets', (r) => MB(r.heapAfterGets?.total)),
    row('list() hashes/s', (r) => (r.list ? `${perCpu(r.list)}${capNote(r.list, r.list.hashes)}` : '—')),
    row('verify MB/s (objects/s)', (r) => (r.verify ? `${r.verify.mbps.toFixed(2)} MB/s (${fmt(r.verify.objectsPerSecond)}/s)${capNote(r.verify, r.verify.checked)}${r.verify.ok === false ? ' NOT OK' : ''}` : '—')),
  ];
}

// ---------------------------------------------------------------- IndexedDB in Chromium

const SERVED = ['dist/', 'bench/browser/', 'bench/scale/', 'node_modules/idb/', 'node_modules/@noble/hashes/', 'node_modules/fflate/'];

/** The page and the built library, served on 127.0.0.1 only (see serveStatic). */
const serve = () => serveStatic(ROOT, SERVED, { maxMs: 3 * 60 * 60_000 });

const sleep = (t) => new Promise((r) => setTimeout(r, t));

async function runIdb(sizes) {
  const { chromium } = await import('playwright');
  const { origin, stop } = await serve();
  const profile = mkdtempSync(join(tmpdir(), 'archive-storage-scale-'));
  const results = [];
  let context;
  let version = 'unknown';
  try {
    // An on-disk profile, so IndexedDB writes to disk as in a user's browser (a plain
    // chromium.launch() context is incognito and keeps IndexedDB in memory).
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-precise-memory-info', '--js-flags=--expose-gc'],
    });
    const load = async () => {
      for (const p of context.pages().slice(1)) await p.close();
      const page = context.pages()[0] ?? (await context.newPage());
      const errors = [];
      page.on('pageerror', (e) => errors.push(e));
      await page.goto(`${origin}/bench/browser/scale.html`);
      await page.waitForFunction(() => globalThis.scaleBenchReady === true, undefined, { timeout: 30_000 }).catch(() => {
        throw new Error(`the scale page did not load: ${errors.map(String).join('; ') || 'no error reported'}`);
      });
      return page;
    };
    let page = await load();
    version = await page.evaluate(() => navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? 'unknown');
    for (const n of sizes) {
      const r = {};
      const t0 = performance.now();
      const name = `scale-${n}-${Date.now().toString(36)}`;
      let phase = 'fill';
      try {
        page = await load();
        await page.evaluate(({ name, n, batch }) => globalThis.scaleBench.startFill(name, n, batch), { name, n, batch: BATCH });
        let stopAsked = false;
        let lastLog = performance.now();
        for (;;) {
          await sleep(1000);
          const s = await page.evaluate(() => ({ ...globalThis.scaleBench.state }));
          if (s.phase === 'failed') throw new Error(s.error);
          if (s.phase === 'done') {
            Object.assign(r, { filled: s.filled, stopped: s.stopped, fillRate: s.fillRate, fillMs: s.fillMs, windowRate: s.windowRate, closeAfterFill: s.closeMs, index: s.index });
            break;
          }
          const el = performance.now() - t0;
          if (s.phase === 'closing') phase = 'close after fill';
          if (!stopAsked && el > IDB_FILL_MS) {
            stopAsked = true;
            await page.evaluate(() => globalThis.scaleBench.stop());
          }
          if (el > LEVEL_MS) throw new Error(`time limit (${LEVEL_MS / 60_000} min)`);
          if (performance.now() - lastLog > 15_000) {
            lastLog = performance.now();
            process.stderr.write(`  [indexeddb ${n}] ${s.phase} ${fmt(s.filled)} / ${fmt(n)}, ${fmt((s.filled * 1000) / el)}/s\n`);
          }
        }
        phase = 'reopen';
        const reopens = [];
        for (let i = 0; i < 3; i++) {
          if (performance.now() - t0 > LEVEL_MS) break;
          page = await load(); // a fresh page load: nothing of the archive is in memory
          reopens.push(await page.evaluate((name) => globalThis.scaleBench.reopen(name), name));
          process.stderr.write(`  [indexeddb ${n}] reopen ${i + 1}: ${reopens.at(-1).ms.toFixed(1)} ms\n`);
        }
        r.reopen = median(reopens.map((x) => x.ms));
        r.reopens = reopens.length;
        r.closeNoWrites = median(reopens.map((x) => x.closeMs));
        const heaps = reopens.map((x) => x.heap).filter((x) => x !== undefined);
        r.heap = heaps.length ? median(heaps) : undefined;
        r.count = reopens[0]?.count;
      } catch (e) {
        r.failed = `${String(e?.message ?? e).split('\n')[0].slice(0, 120)} during ${phase}`;
      }
      try {
        page = await load();
        await page.evaluate((name) => globalThis.scaleBench.remove(name), name);
      } catch {}
      r.seconds = (performance.now() - t0) / 1000;
      results.push({ n, r });
    }
  } catch (e) {
    for (const n of sizes.filter((n) => !results.some((x) => x.n === n))) results.push({ n, r: { failed: `${String(e?.message ?? e).split('\n')[0].slice(0, 120)}` } });
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    await stop();
  }
  return { version, results };
}

function idbRows(results) {
  const col = (f) => Object.fromEntries(results.map(({ n, r }) => [sizeLabel(n), f(r)]));
  const row = (name, f) => ({ row: name, ...col(f) });
  return [
    row('status', (r) => (r.failed ? `failed: ${r.failed}` : `ok (${r.seconds.toFixed(0)} s)`)),
    row('objects filled', (r) => (r.filled === undefined ? '—' : `${fmt(r.filled)}${r.stopped ? ' (fill budget reached)' : ''}`)),
    row('index written (index.json)', (r) => (r.index ? `v${r.index.version}${r.index.format ? ` ${r.index.format}` : ''}, ${MB(r.index.bytes)}` : '—')),
    row('fill: putMany, whole fill', (r) => (r.fillRate ? `${per(r.fillRate)} (${(r.fillMs / 1000).toFixed(1)} s)` : '—')),
    row('putMany rate, last tenth of fill (>= 10k values)', (r) => per(r.windowRate)),
    row('close after fill', (r) => ms(r.closeAfterFill)),
    row('reopen in a fresh page load (median of 3)', (r) => (r.reopen === undefined ? '—' : `${ms(r.reopen)}${r.reopens < 3 ? ` (${r.reopens} runs)` : ''}`)),
    row('close with no writes (median)', (r) => ms(r.closeNoWrites)),
    row('JS heap added by an opened archive (usedJSHeapSize, after gc)', (r) => MB(r.heap)),
  ];
}

// ---------------------------------------------------------------- aims

function aimRows(backend, results, { reopenMaxMs }) {
  const ok = results.filter(({ r }) => !r.failed || r.reopen);
  const small = results[0];
  const big = results.at(-1);
  const rows = [];
  const push = (aim, measured, met) => rows.push({ backend, aim, measured, result: met === undefined ? 'n/a' : met ? 'met' : 'not met' });
  if (results.length === 0) return rows;
  const bigL = sizeLabel(big.n);
  const smallL = sizeLabel(small.n);
  const failedAt = (x) => (x.r.failed ? ` (${bigL} failed: ${x.r.failed})` : '');
  const reopenOf = (x) => (typeof x.r.reopen === 'number' ? x.r.reopen : x.r.reopen?.ms);
  const rb = reopenOf(big);
  const rs = reopenOf(small);
  if (results.length > 1) {
    push(`reopen at ${bigL} within 3x of reopen at ${smallL}`, rb !== undefined && rs !== undefined ? `${(rb / rs).toFixed(2)}x (${ms(rb)} vs ${ms(rs)})` : `not measured${failedAt(big)}`, rb !== undefined && rs !== undefined ? rb / rs <= 3 : false);
  }
  push(`reopen at ${bigL} under ${reopenMaxMs} ms`, rb !== undefined ? ms(rb) : `not measured${failedAt(big)}`, rb !== undefined ? rb < reopenMaxMs : false);
  if (backend === 'indexeddb') return rows;
  const hb = big.r.heapOpened?.total;
  push(`opened archive adds under 32 MB at ${bigL}`, hb !== undefined ? MB(hb) : `not measured${failedAt(big)}`, hb !== undefined ? hb < 32e6 : false);
  if (results.length > 1) {
    const pb = big.r.putManyFillWindow?.rate;
    const ps = small.r.putManyFillWindow?.rate;
    push(`putMany rate at ${bigL} >= 0.8x the rate at ${smallL} (fill windows)`, pb && ps ? `${(pb / ps).toFixed(2)}x (${per(pb)} vs ${per(ps)})` : `not measured${failedAt(big)}`, pb && ps ? pb / ps >= 0.8 : false);
    const cb = big.r.putManyFillWindow?.cpuRate;
    const cs = small.r.putManyFillWindow?.cpuRate;
    if (cb && cs) push(`  (same, per CPU second: what the archive costs, whatever ran beside it)`, `${(cb / cs).toFixed(2)}x (${per(cb)} vs ${per(cs)})`, undefined);
    const qb = big.r.putManyReopened?.rate;
    const qs = small.r.putManyReopened?.rate;
    if (qb && qs) push(`  (same, putMany after reopen: context)`, `${(qb / qs).toFixed(2)}x (${per(qb)} vs ${per(qs)})`, undefined);
  }
  const closes = results.flatMap(({ n, r }) => ['closeAfterFill', 'closeAfterPuts', 'closeNoWrites'].filter((k) => r[k] !== undefined).map((k) => [r[k], `${sizeLabel(n)} ${k}`]));
  const worst = closes.sort((a, b) => b[0] - a[0])[0];
  const missing = results.filter(({ r }) => r.closeAfterFill === undefined).map(({ n }) => sizeLabel(n));
  push(`close under 1 s at any size`, worst ? `worst ${ms(worst[0])} (${worst[1]})${missing.length ? `; not measured at ${missing.join(', ')}` : ''}` : 'not measured', worst ? worst[0] < 1000 && missing.length === 0 : false);
  void ok;
  return rows;
}

// ---------------------------------------------------------------- run

export async function run() {
  if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm run bench does)');
  const backends = (process.env.SCALE_BACKENDS ?? 'memory,node-fs,indexeddb').split(',').map((s) => s.trim());
  const plan = {
    memory: backends.includes('memory') ? levels('SCALE_MEMORY_LEVELS', '10k,1m,10m') : [],
    'node-fs': backends.includes('node-fs') ? levels('SCALE_FS_LEVELS', '10k,1m') : [],
    indexeddb: backends.includes('indexeddb') ? levels('SCALE_IDB_LEVELS', '10k,1m') : [],
  };
  console.log(`\nscale: ~${200}-byte values, putMany batches of ${BATCH}; one child process per level (node --expose-gc, --max-old-space-size=${HEAP_MB}); time limit ${LEVEL_MS / 60_000} min per level`);
  console.log(`plan: ${Object.entries(plan).filter(([, s]) => s.length).map(([b, s]) => `${b} ${s.map(sizeLabel).join(', ')}`).join('; ')}`);
  console.log(`dist/index.js built ${statSync(join(ROOT, 'dist/index.js')).mtime.toISOString()} (each level reads back the index version it wrote)`);
  console.log(`beside this run at the start: ${await machineNote()}`);
  const all = {};
  const aims = [];
  try {
    for (const backend of ['memory', 'node-fs']) {
      if (!plan[backend].length) continue;
      const results = [];
      for (const n of plan[backend]) {
        process.stderr.write(`  [${backend} ${n}] starting\n`);
        results.push({ n, r: await runLevel(backend, n) });
      }
      all[backend] = results;
      table(`scale: ${backend === 'memory' ? 'memory adapter' : 'node-fs adapter (durable: false, temp dir)'}`, nodeRows(results));
      aims.push(...aimRows(backend, results, { reopenMaxMs: 100 }));
    }
    if (plan.indexeddb.length) {
      const { version, results } = await runIdb(plan.indexeddb);
      all.indexeddb = results;
      table(`scale: IndexedDB in headless Chromium ${version} (on-disk profile; fill budget ${(IDB_FILL_MS / 60_000).toFixed(1)} min per level)`, idbRows(results));
      aims.push(...aimRows('indexeddb', results, { reopenMaxMs: 200 }));
    }
    const versions = [...new Set(Object.values(all).flat().map(({ r }) => r.index?.version).filter((v) => v !== undefined))];
    table(`Aims of issue 14 (index format written in this run: ${versions.length ? versions.map((v) => `v${v}`).join(', ') : 'unknown'})`, aims);
    console.log(`\nbeside this run at the end: ${await machineNote()}`);
  } finally {
    if (tempDirs.length) process.stderr.write(`  removing ${tempDirs.length} node-fs temp dir(s)\n`);
    removeTempDirs();
  }
  return all;
}
