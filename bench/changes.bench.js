// `npm run bench -- changes`: latency of change events (docs/changes.md), median and p99, from the
// moment a writer's call resolved to the moment a listener elsewhere got the change, each stamped
// by a clock both share, next to a raw baseline of the same mechanism measured in the same run:
//
// (a) two Node processes on one node-fs directory: a writer process puts and sets references, a
//     listener process iterates archive.changes() (polling: pollMs 250, the default, and 20).
//     Baseline: a raw writer renames a file into a directory, a raw listener polls readdir at the
//     same interval. Same machine, one clock (Date.now()).
// (b) two real tabs of one headless Chromium on one IndexedDB database (bench/browser/changes.*):
//     the listener tab is woken by the archive's BroadcastChannel. Baseline: one raw IndexedDB
//     transaction, then a BroadcastChannel message to the other tab. Clock: performance.timeOrigin
//     + performance.now(), shared by the tabs of one browser.
//
// Every event is matched by its id (hash, or name#seq); a lost event is counted, never skipped.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumPath, CHROMIUM_ARGS } from '../test/support/engines/launch.js';
import { serveStatic, table } from './lib.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const N = Number(process.env.CHANGES_BENCH_N ?? 100); // rounds of put + set (2 events each)
const GAP_MS = Number(process.env.CHANGES_BENCH_GAP_MS ?? 15);

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};
const ms = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const ratio = (a, b) => (b > 0 && Number.isFinite(a) ? (a / b).toFixed(2) : 'n/a');

/** Latencies (ms) of every sent id that arrived, and how many never did. */
function latencies(sent, arrivals) {
  const at = new Map();
  for (const [t, id] of arrivals) if (!at.has(id)) at.set(id, t);
  const out = [];
  let lost = 0;
  for (const [t, id] of sent) {
    if (at.has(id)) out.push(at.get(id) - t);
    else lost++;
  }
  return { out, lost };
}

const row = (name, sent, arrivals, base) => {
  const { out, lost } = latencies(sent, arrivals);
  const p50 = quantile(out, 0.5);
  const p99 = quantile(out, 0.99);
  return { row: name, events: sent.length, lost, 'median ms': ms(p50), 'p99 ms': ms(p99), 'x raw median': base ? ratio(p50, base.p50) : '', 'x raw p99': base ? ratio(p99, base.p99) : '', p50, p99 };
};

// ---------------------------------------------------------------- (a) Node processes on node-fs

const NODE_CHILD = `
import { openArchive } from ${JSON.stringify(join(ROOT, 'dist/index.js'))};
import { nodeFsAdapter } from ${JSON.stringify(join(ROOT, 'dist/adapters/node-fs.js'))};
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
const [mode, dir, n, gap, pollMs] = process.argv.slice(1);
const out = (s) => process.stdout.write(s + '\\n');
const sleep = (t) => new Promise((r) => setTimeout(r, t));
if (mode === 'listen' || mode === 'write') {
  const adapter = nodeFsAdapter({ dir, durable: false });
  const archive = await openArchive(adapter);
  if (mode === 'listen') {
    const ac = new AbortController();
    process.on('SIGTERM', () => ac.abort());
    const changes = archive.changes({ signal: ac.signal, pollMs: Number(pollMs) });
    out('ready');
    for await (const c of changes) out(Date.now() + ' ' + (c.kind === 'put' ? c.hash : c.name + '#' + c.seq));
  } else {
    for (let i = 0; i < Number(n); i++) {
      const h = await archive.put({ bench: 'changes', i, pid: process.pid });
      out(Date.now() + ' ' + h);
      await sleep(Number(gap));
      const r = await archive.refs.set('bench/latest', h);
      out(Date.now() + ' ' + r.name + '#' + r.seq);
      await sleep(Number(gap));
    }
  }
  await archive.close();
} else if (mode === 'raw-listen') {
  const seen = new Set();
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  out('ready');
  while (!stop) {
    for (const f of readdirSync(dir)) if (!f.endsWith('.tmp') && !seen.has(f)) { seen.add(f); out(Date.now() + ' ' + f); }
    await sleep(Number(pollMs));
  }
} else {
  for (let i = 0; i < 2 * Number(n); i++) {
    writeFileSync(dir + '/k' + i + '.tmp', 'x');
    renameSync(dir + '/k' + i + '.tmp', dir + '/k' + i);
    out(Date.now() + ' k' + i);
    await sleep(Number(gap));
  }
}
`;

function child(args) {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', NODE_CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  let buf = '';
  let onLine = () => {};
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (c) => {
    buf += c;
    const parts = buf.split('\n');
    buf = parts.pop();
    lines.push(...parts);
    onLine();
  });
  const done = new Promise((resolve, reject) => proc.on('exit', (code, sig) => (code === 0 || sig ? resolve() : reject(new Error(`bench child ${args[0]} exited ${code}`)))));
  const ready = new Promise((resolve) => {
    onLine = () => lines.includes('ready') && resolve();
    onLine();
  });
  const pairs = () => lines.filter((l) => l !== 'ready').map((l) => [Number(l.slice(0, l.indexOf(' '))), l.slice(l.indexOf(' ') + 1)]);
  return { proc, ready, done, pairs };
}

async function nodePair(kind, pollMs) {
  const dir = mkdtempSync(join(tmpdir(), `as-bench-changes-${kind}-`));
  try {
    if (kind === 'archive') await child(['write', dir, '0', '0', '0']).done; // lay the store down first
    const listener = child([kind === 'archive' ? 'listen' : 'raw-listen', dir, '0', '0', String(pollMs)]);
    await listener.ready;
    await new Promise((r) => setTimeout(r, 300));
    const writer = child([kind === 'archive' ? 'write' : 'raw-write', dir, String(N), String(GAP_MS), '0']);
    await writer.done;
    await new Promise((r) => setTimeout(r, pollMs * 3 + 500));
    listener.proc.kill('SIGTERM');
    await listener.done;
    return { sent: writer.pairs(), arrivals: listener.pairs() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- (b) two Chromium tabs on IndexedDB

async function chromiumTabs() {
  const { chromium } = await import('playwright');
  const { origin, stop } = await serveStatic(ROOT, ['dist/', 'bench/browser/', 'node_modules/idb/', 'node_modules/@noble/hashes/', 'node_modules/fflate/'], { maxMs: 10 * 60_000 });
  const profile = mkdtempSync(join(tmpdir(), 'archive-storage-chromium-changes-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  try {
    const url = `${origin}/bench/browser/changes.html`;
    const [a, b] = [context.pages()[0] ?? (await context.newPage()), await context.newPage()];
    for (const p of [a, b]) {
      await p.goto(url);
      await p.waitForFunction(() => globalThis.changesBenchReady === true || globalThis.changesBenchError, null, { timeout: 30_000 });
      const err = await p.evaluate(() => globalThis.changesBenchError);
      if (err) throw new Error(`the changes bench page did not load: ${err}`);
    }
    const cdp = await context.newCDPSession(a);
    const { product } = await cdp.send('Browser.getVersion');
    await cdp.detach();
    const arg = { n: N, gapMs: GAP_MS };
    const once = async (listen, write, name) => {
      await b.evaluate(([fn, x]) => globalThis.changesBench[fn](x), [listen, { name }]);
      const sent = await a.evaluate(([fn, x]) => globalThis.changesBench[fn](x), [write, { ...arg, name }]);
      await new Promise((r) => setTimeout(r, 500));
      const arrivals = await b.evaluate(() => globalThis.changesBench.collect());
      return { sent, arrivals };
    };
    const stamp = Date.now().toString(36);
    const raw = await once('rawListen', 'rawWrite', `bench-raw-${stamp}`);
    const archive = await once('listen', 'write', `bench-changes-${stamp}`);
    return { version: `Chromium ${product.replace(/^[^/]*\//, '')}`, raw, archive };
  } finally {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    await stop();
  }
}

export async function run() {
  if (!existsSync(join(ROOT, 'dist/adapters/node-fs.js'))) throw new Error('dist/ is missing: run `npm run build` (npm run bench does)');
  console.log(`\n# change events: ${N} rounds of put + reference set (${2 * N} events), ${GAP_MS} ms apart; latency from the writer's resolved call to the listener's arrival`);
  const rows = [];
  for (const pollMs of [250, 20]) {
    const raw = row(`raw: rename into a dir, readdir every ${pollMs} ms`, ...Object.values(await nodePair('raw', pollMs)));
    const arch = row(`archive.changes() on node-fs, pollMs ${pollMs}`, ...Object.values(await nodePair('archive', pollMs)), raw);
    rows.push(raw, arch);
  }
  table('(a) two Node processes, one node-fs directory', rows.map(({ p50, p99, ...r }) => r));
  const tabs = await chromiumTabs();
  const raw = row('raw: IndexedDB transaction, then BroadcastChannel', tabs.raw.sent, tabs.raw.arrivals);
  const arch = row('archive.changes() on IndexedDB (BroadcastChannel wake-up)', tabs.archive.sent, tabs.archive.arrivals, raw);
  table(`(b) two tabs of ${tabs.version} (headless), one IndexedDB database`, [raw, arch].map(({ p50, p99, ...r }) => r));
}
