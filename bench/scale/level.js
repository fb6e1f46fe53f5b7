// One level of `npm run bench -- scale`, run in its own child process (`node --expose-gc`) so
// that levels do not pollute each other's heap: fills an archive to N objects of ~200 bytes on one
// backend, then measures reopen, the heap an opened archive adds, put / putMany rates, close,
// list() and verify. Every figure is printed as soon as it is known, as a line
// `@scale {"key": ..., "value": ...}` on stdout, so a level that dies half-way (out of memory, V8's
// string limit, the parent's time limit) still reports what it measured before.
// Progress goes to stderr.
//
// node --expose-gc bench/scale/level.js <memory|node-fs> <count> [dir]
import { mkdirSync, rmSync } from 'node:fs';
import { canonicalBytes, openArchive, sha256Hex } from '../../dist/index.js';
import { MemoryStore, memoryAdapter } from '../../dist/adapters/memory.js';
import { nodeFsAdapter } from '../../dist/adapters/node-fs.js';
import { indexFormat, median, value, VALUE_BYTES } from './common.js';

const [backend, countArg, dir] = process.argv.slice(2);
const N = Number(countArg);
const BATCH = Number(process.env.SCALE_BATCH ?? 1000);
const REOPENS = Number(process.env.SCALE_REOPENS ?? 5);
const LIST_SECONDS = Number(process.env.SCALE_LIST_SECONDS ?? 60);
const VERIFY_SECONDS = Number(process.env.SCALE_VERIFY_SECONDS ?? 60);
const label = `${backend} ${countArg}`;

if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');
if (!Number.isInteger(N) || N <= 0) throw new Error(`bad count ${countArg}`);

const emit = (key, value) => process.stdout.write(`@scale ${JSON.stringify({ key, value })}\n`);
// CPU time of this process (ms, every thread: V8's GC helpers too). On a shared machine wall time
// says as much about the neighbours as about the archive; a rate per CPU second is what the level
// itself costs, so each rate below comes with one.
const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const log = (msg) => process.stderr.write(`  [${label}] ${msg}\n`);

// One store for every adapter of the level (memory), or one directory (node-fs): a reopen is a
// new adapter and a new archive over the same bytes, as after a restart. The MemoryStore is what
// memoryAdapter() makes for itself: objects in typed arrays, not a Map entry each.
const store = new MemoryStore();
if (backend === 'node-fs') mkdirSync(dir, { recursive: true });
function makeAdapter() {
  if (backend === 'memory') return memoryAdapter({ store });
  if (backend === 'node-fs') return nodeFsAdapter({ dir, durable: false });
  throw new Error(`unknown backend ${backend}`);
}

function memNow() {
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, total: m.heapUsed + m.external };
}

async function closeBoth(h) {
  const t0 = performance.now();
  await h.archive.close();
  const ms = performance.now() - t0;
  await h.adapter.close();
  return ms;
}

async function open() {
  const adapter = makeAdapter();
  const archive = await openArchive(adapter);
  return { adapter, archive };
}

/** The values `from` .. `to` (excluded) of the fill, one putMany batch. */
function batchOf(from, to) {
  const batch = [];
  for (let k = from; k < to; k++) batch.push(value(k));
  return batch;
}

// ---------------------------------------------------------------- warm-up
// A throwaway fill of SCALE_WARMUP values (default 10,000) into a store of its own, so that every
// level measures an archive whose code is already compiled. The 10k level's window is its whole
// fill, 0.3-0.6 s from a cold start: two runs of the same tree put it at 33,448 and 16,625/s, the
// first using 1.75 CPU seconds per second (V8's compiler and GC threads on the second core).
const WARMUP = Number(process.env.SCALE_WARMUP ?? 10_000);
if (WARMUP > 0) {
  // Beside the level's directory, inside the temp directory the parent made (and removes, whatever
  // becomes of the level).
  const warmDir = dir && `${dir}.warmup`;
  const adapter = backend === 'memory' ? memoryAdapter() : nodeFsAdapter({ dir: warmDir, durable: false });
  const archive = await openArchive(adapter);
  for (let i = 0; i < WARMUP; i += BATCH) await archive.putMany(batchOf(i, Math.min(WARMUP, i + BATCH)));
  await archive.close();
  await adapter.close();
  if (warmDir) rmSync(warmDir, { recursive: true, force: true });
  log(`warmed up on ${WARMUP.toLocaleString('en-US')} values in a store of their own`);
}

// ---------------------------------------------------------------- fill
// putMany in batches of BATCH. The putMany rate "at N" is the rate over the last tenth of the
// fill (at least 10,000 values; the whole fill at 10k), so it includes every compaction and
// merge that those batches pay for, amortised, not one lucky window.
{
  const h = await open();
  const windowStart = Math.max(0, N - Math.max(Math.floor(N / 10), 10_000));
  const t0 = performance.now();
  let tw = windowStart === 0 ? t0 : undefined;
  let cw = cpuNow();
  let lastLog = t0;
  for (let i = 0; i < N; i += BATCH) {
    if (i >= windowStart && tw === undefined) {
      tw = performance.now();
      cw = cpuNow();
    }
    const batch = batchOf(i, Math.min(N, i + BATCH));
    await h.archive.putMany(batch);
    const now = performance.now();
    if (now - lastLog > 15_000) {
      lastLog = now;
      const m = process.memoryUsage();
      log(`fill ${(i + batch.length).toLocaleString('en-US')} / ${N.toLocaleString('en-US')}, ${Math.round(((i + batch.length) * 1000) / (now - t0)).toLocaleString('en-US')}/s, heap ${Math.round(m.heapUsed / 2 ** 20)} MiB + external ${Math.round(m.external / 2 ** 20)} MiB`);
    }
  }
  const t1 = performance.now();
  emit('fillSeconds', (t1 - t0) / 1000);
  emit('fillRate', (N * 1000) / (t1 - t0));
  emit('putManyFillWindow', { rate: ((N - windowStart) * 1000) / (t1 - tw), cpuRate: ((N - windowStart) * 1000) / (cpuNow() - cw), values: N - windowStart });
  log(`filled in ${((t1 - t0) / 1000).toFixed(1)} s; closing`);
  emit('closeAfterFill', await closeBoth(h));
}

// ---------------------------------------------------------------- what was written
{
  const adapter = makeAdapter();
  const fmt = await indexFormat(adapter);
  let pieces = 0;
  for await (const _ of adapter.list('index/')) pieces++;
  let journal = 0;
  for await (const _ of adapter.list('journal/')) journal++;
  emit('index', { ...fmt, pieces, journal });
  await adapter.close();
}

// ---------------------------------------------------------------- reopen + heap
// Median of up to REOPENS reopens (fewer when one reopen takes more than 10 s: 3, or 1 past 30 s).
// Heap: heapUsed + external after two gc() calls, before the open and with the opened archive
// held, so it counts what the archive handle keeps, not the store underneath.
let h;
{
  const times = [];
  const deltas = [];
  const closes = [];
  // One baseline, taken with no archive open (after the fill's close): a closed archive can stay
  // reachable for a while after close() (seen on v1: until the next open on the same store), so a
  // baseline taken right after each close would cancel the next open's cost out.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = memNow();
  const cpuTimes = [];
  for (let r = 0; r < REOPENS; r++) {
    // The garbage of the previous close is collected first (outside the timing): at 1M objects a
    // major GC of the store's heap landing inside a sub-millisecond open is the store's cost, not the open's.
    global.gc();
    const t0 = performance.now();
    const c0 = cpuNow();
    const cur = await open();
    times.push(performance.now() - t0);
    cpuTimes.push(cpuNow() - c0);
    const after = memNow();
    deltas.push({ total: after.total - before.total, heap: after.heap - before.heap, external: after.external - before.external });
    log(`reopen ${r + 1}: ${times.at(-1).toFixed(1)} ms, +${((after.total - before.total) / 2 ** 20).toFixed(1)} MiB`);
    const spent = times.reduce((a, b) => a + b, 0);
    const last = r === REOPENS - 1 || (spent > 10_000 && r >= 2) || spent > 30_000;
    if (last) {
      h = cur;
      break;
    }
    closes.push(await closeBoth(cur));
  }
  emit('reopen', { ms: median(times), cpuMs: median(cpuTimes), runs: times.length, all: times });
  const byTotal = [...deltas].sort((a, b) => a.total - b.total)[deltas.length >> 1];
  emit('heapOpened', byTotal);
  if (closes.length) emit('closeNoWrites', median(closes));
}

// ---------------------------------------------------------------- random gets on the reopened archive
{
  const before = memNow();
  const GETS = 1000;
  const hashes = [];
  let seed = 12345;
  for (let i = 0; i < GETS; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    hashes.push(sha256Hex(canonicalBytes(value(seed % N))));
  }
  const t0 = performance.now();
  for (const x of hashes) await h.archive.get(x);
  const ms = performance.now() - t0;
  emit('getRate', (GETS * 1000) / ms);
  const after = memNow();
  emit('heapAfterGets', { total: after.total - before.total });
}

// ---------------------------------------------------------------- put and putMany after reopen
// Fresh values (numbers from 10^12 up, never in the fill). Rounds of awaited single puts; rounds
// of putMany batches; median round rate.
{
  let next = 1e12;
  const putRates = [];
  for (let r = 0; r < 3; r++) {
    const vs = Array.from({ length: 100 }, () => value(next++));
    const t0 = performance.now();
    for (const v of vs) await h.archive.put(v);
    putRates.push((vs.length * 1000) / (performance.now() - t0));
  }
  emit('putRate', { rate: median(putRates), rounds: 3, perRound: 100 });
  const manyRates = [];
  const manyCpuRates = [];
  for (let r = 0; r < 3; r++) {
    const batches = Array.from({ length: 3 }, () => Array.from({ length: BATCH }, () => value(next++)));
    const t0 = performance.now();
    const c0 = cpuNow();
    for (const b of batches) await h.archive.putMany(b);
    manyRates.push((3 * BATCH * 1000) / (performance.now() - t0));
    manyCpuRates.push((3 * BATCH * 1000) / (cpuNow() - c0));
  }
  emit('putManyReopened', { rate: median(manyRates), cpuRate: median(manyCpuRates), rounds: 3, perRound: 3 * BATCH });
  emit('closeAfterPuts', await closeBoth(h));
}

// ---------------------------------------------------------------- list() and verify
{
  h = await open();
  let n = 0;
  const cap = LIST_SECONDS * 1000;
  const t0 = performance.now();
  const c0 = cpuNow();
  let t = t0;
  let capped = false;
  for await (const _ of h.archive.list()) {
    n++;
    if ((n & 1023) === 0) {
      t = performance.now();
      if (t - t0 > cap) {
        capped = true;
        break;
      }
    }
  }
  t = performance.now();
  emit('list', { rate: (n * 1000) / (t - t0), cpuRate: (n * 1000) / (cpuNow() - c0), hashes: n, capped, capSeconds: LIST_SECONDS });
  log(`list: ${n.toLocaleString('en-US')} hashes in ${((t - t0) / 1000).toFixed(1)} s${capped ? ' (capped)' : ''}`);

  const ac = new AbortController();
  let last = { done: 0, bytes: 0, t: 0 };
  const v0 = performance.now();
  const timer = setTimeout(() => ac.abort(), VERIFY_SECONDS * 1000);
  let report;
  let aborted = false;
  try {
    report = await h.archive.verify({
      signal: ac.signal,
      onProgress: (p) => {
        last = { done: p.done, bytes: p.bytes ?? p.done * VALUE_BYTES, t: performance.now() };
      },
    });
    last.t = performance.now();
  } catch (e) {
    if (!ac.signal.aborted) throw e;
    aborted = true;
  } finally {
    clearTimeout(timer);
  }
  const secs = (last.t - v0) / 1000;
  emit('verify', {
    mbps: last.bytes / 2 ** 20 / secs,
    objectsPerSecond: last.done / secs,
    checked: last.done,
    capped: aborted,
    capSeconds: VERIFY_SECONDS,
    ok: report?.ok,
  });
  log(`verify: ${last.done.toLocaleString('en-US')} objects, ${(last.bytes / 2 ** 20).toFixed(1)} MiB in ${secs.toFixed(1)} s${aborted ? ' (capped)' : ''}`);
  await closeBoth(h);
}
emit('valueBytes', canonicalBytes(value(0)).byteLength);
emit('done', true);
process.exit(0);
