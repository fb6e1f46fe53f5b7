// The archive on durable node-fs (real disk, temp dir) next to its baselines, in one run,
// 1 KiB JSON objects:
// - the ORIGINAL design's protocol (per put: lock file; temp+fsync+rename+dir fsync of the object;
//   the same for a full rewrite of index.json), at 1k and 10k objects;
// - cacache.put / cacache.get.byDigest / cacache.verify;
// - raw fs.writeFile + rename with no fsync at all;
// - the fsync floor of this disk: chains of fsync'd writes, one after another.
// Every figure is a median of rounds (one round for the long 10k verify and the 100k fill level);
// every claim is a ratio against a baseline measured in the same run. The last table checks the
// aims of issues 4 and 14.
//
// `npm run bench -- archive`   env: ARCHIVE_BENCH_BIG=0 skips the 100k fill level;
// ARCHIVE_BENCH_VERIFY=0 skips both verifies (cacache.verify of 10k takes minutes);
// ARCHIVE_BENCH_SCALE=0 skips the put-rate-as-it-grows table.
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open, rename, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import cacache from 'cacache';
import { canonicalBytes, openArchive, sha256Hex } from '../dist/index.js';
import { nodeFsAdapter } from '../dist/adapters/node-fs.js';
import { fmt, median, table } from './lib.js';

const ROUNDS = 3;
const CONCURRENCY = 64; // callers putting at once, for the concurrent (group commit) figures
const BIG = process.env.ARCHIVE_BENCH_BIG !== '0';
const VERIFY = process.env.ARCHIVE_BENCH_VERIFY !== '0';
const SCALE = process.env.ARCHIVE_BENCH_SCALE !== '0';

/** A 1 KiB JSON object (1024 canonical bytes), distinct per (tag, i). */
function value(tag, i) {
  const head = { tag, i, kind: 'bench-object' };
  const pad = 1024 - canonicalBytes({ ...head, pad: '' }).byteLength;
  return { ...head, pad: 'p'.repeat(pad) };
}
const values = (tag, n) => Array.from({ length: n }, (_, i) => value(tag, i));

/** Runs `fn(item)` for every item with `limit` in flight. */
async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Median ops/s of `rounds` timed calls of `fn(round)`, each doing `ops` operations. */
async function rate(fn, ops, rounds = ROUNDS) {
  const rates = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await fn(r);
    rates.push((ops * 1000) / (performance.now() - t0));
  }
  return median(rates);
}

async function fsyncPath(path) {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function durableReplace(path, bytes) {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  await fh.writeFile(bytes);
  await fh.sync();
  await fh.close();
  await rename(tmp, path);
  await fsyncPath(dirname(path));
}

/**
 * The original design's protocol, reproduced: each put takes a lock file, writes the object
 * durably, then rewrites the whole index.json durably.
 */
class OriginalProtocol {
  constructor(dir) {
    this.dir = dir;
    this.index = {};
  }
  async put(v) {
    const bytes = canonicalBytes(v);
    const hash = sha256Hex(bytes);
    const lock = join(this.dir, 'index.lock');
    const lf = await open(lock, 'wx');
    await lf.close();
    try {
      const path = join(this.dir, 'objects', hash.slice(0, 2), hash.slice(2, 4), `${hash}.json`);
      await mkdir(dirname(path), { recursive: true });
      await durableReplace(path, bytes);
      this.index[hash] = { path: `objects/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}.json`, size: bytes.byteLength, storedAt: Date.now() };
      await durableReplace(join(this.dir, 'index.json'), JSON.stringify(this.index));
    } finally {
      await unlink(lock);
    }
    return hash;
  }
  /** Pretends the index already has `n` entries (only its size matters to the protocol's cost). */
  prefill(n) {
    for (let i = 0; i < n; i++) {
      const h = sha256Hex(`prefill-${i}`);
      this.index[h] = { path: `objects/${h.slice(0, 2)}/${h.slice(2, 4)}/${h}.json`, size: 1024, storedAt: Date.now() };
    }
  }
}

/** An archive dir filled to `n` objects quickly (durable: false for the fill), reopened durable. */
async function filledArchive(dir, n, tag) {
  if (n > 0) {
    const scratch = await openArchive(nodeFsAdapter({ dir, durable: false }));
    for (let i = 0; i < n; i += 5000) await scratch.putMany(values(`${tag}-fill`, Math.min(5000, n - i)).map((v, k) => ({ ...v, i: i + k })));
    await scratch.close();
  }
  const adapter = nodeFsAdapter({ dir });
  return { adapter, archive: await openArchive(adapter) };
}

/**
 * The disk's floor for one durable put, measured as chains (each op awaited before the next):
 * one new 1 KiB file written and fsynced; one file made durable the atomic way (temp, fsync,
 * rename, directory fsync: two fsyncs in turn); and two files in two directories in ONE barrier
 * (both temps fsynced together, renamed, both directories fsynced together: two fsync rounds),
 * which is what an archive put needs at the least (its journal segment and its object).
 */
async function fsyncFloor(dir) {
  const bytes = new Uint8Array(1024).fill(97);
  const n = 200;
  const newFile = async (path) => {
    const fh = await open(path, 'wx');
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
  };
  await mkdir(join(dir, 'a'), { recursive: true });
  await mkdir(join(dir, 'b'), { recursive: true });
  const one = await rate(async (r) => {
    for (let i = 0; i < n; i++) await newFile(join(dir, 'a', `one-${r}-${i}`));
  }, n);
  const atomic = await rate(async (r) => {
    for (let i = 0; i < n; i++) await durableReplace(join(dir, 'a', `atomic-${r}-${i}`), bytes);
  }, n);
  const pair = await rate(async (r) => {
    for (let i = 0; i < n; i++) {
      const paths = ['a', 'b'].map((d) => join(dir, d, `pair-${r}-${i}`));
      await Promise.all(paths.map((p) => newFile(`${p}.tmp`)));
      await Promise.all(paths.map((p) => rename(`${p}.tmp`, p)));
      await Promise.all(['a', 'b'].map((d) => fsyncPath(join(dir, d))));
    }
  }, n);
  return { one, atomic, pair };
}

export async function run() {
  const root = mkdtempSync(join(tmpdir(), 'bench-archive-'));
  const results = {};
  try {
    // ------------------------------------------------------------ the disk's fsync floor
    const floor = await fsyncFloor(join(root, 'floor'));
    results.floor = floor;
    table('fsync floor of this disk: 1 KiB files, each op awaited before the next (median of 3 rounds of 200)', [
      { chain: 'new file: write + fsync (1 fsync)', 'ops/s': fmt(floor.one) },
      { chain: 'atomic durable file: temp + fsync + rename + dir fsync (2 fsyncs in turn)', 'ops/s': fmt(floor.atomic) },
      { chain: '2 files in 2 dirs, one barrier: temps fsynced together, renamed, dirs fsynced together (2 rounds)', 'ops/s': fmt(floor.pair) },
    ]);

    // ------------------------------------------------------------ puts at 1k and 10k
    const putRows = [];
    for (const fill of [1000, 10_000]) {
      const seqN = 300;
      const conN = 2000;
      // Original protocol (sequential by nature: one lock).
      const orig = new OriginalProtocol(join(root, `orig-${fill}`));
      orig.prefill(fill);
      await mkdir(orig.dir, { recursive: true });
      const origRate = await rate((r) => (async () => {
        for (const v of values(`orig-${fill}-${r}`, fill >= 10_000 ? 100 : seqN)) await orig.put(v);
      })(), fill >= 10_000 ? 100 : seqN);

      // The archive.
      const { adapter, archive } = await filledArchive(join(root, `arch-${fill}`), fill, `a${fill}`);
      const seq = await rate(async (r) => {
        for (const v of values(`seq-${fill}-${r}`, seqN)) await archive.put(v);
      }, seqN);
      const con = await rate(async (r) => {
        await pool(values(`con-${fill}-${r}`, conN), CONCURRENCY, (v) => archive.put(v));
      }, conN);
      const many = await rate(async (r) => {
        const vs = values(`many-${fill}-${r}`, conN);
        for (let i = 0; i < vs.length; i += 500) await archive.putMany(vs.slice(i, i + 500));
      }, conN);
      await archive.close();
      await adapter.close();

      // cacache (no fsync; its index is append-only bucket files, so its put cost does not
      // depend on how full the cache is: it is measured on a fresh cache at each level).
      const cache = join(root, `cacache-${fill}`);
      const cacheSeq = await rate(async (r) => {
        for (const v of values(`cseq-${fill}-${r}`, seqN)) await cacache.put(cache, `s${r}-${v.i}`, canonicalBytes(v));
      }, seqN);
      const cacheCon = await rate(async (r) => {
        await pool(values(`ccon-${fill}-${r}`, conN), CONCURRENCY, (v) => cacache.put(cache, `c${r}-${v.i}`, canonicalBytes(v)));
      }, conN);

      // Raw writeFile + rename, no fsync, into shard dirs (the ceiling of any one-file-per-object design).
      const rawDir = join(root, `raw-${fill}`);
      const rawRate = await rate(async (r) => {
        await pool(values(`raw-${fill}-${r}`, conN), 32, async (v) => {
          const bytes = canonicalBytes(v);
          const h = sha256Hex(bytes);
          const path = join(rawDir, h.slice(0, 2), h.slice(2, 4), `${h}.json`);
          await mkdir(dirname(path), { recursive: true });
          await writeFile(`${path}.tmp`, bytes);
          await rename(`${path}.tmp`, path);
        });
      }, conN);

      results[fill] = { origRate, seq, con, many, cacheSeq, cacheCon, rawRate };
      putRows.push(
        { fill, method: 'original protocol (lock + object + full index.json, all fsynced)', 'puts/s': fmt(origRate), 'x original': '1.00' },
        { fill, method: 'archive.put, 1 caller (durable)', 'puts/s': fmt(seq), 'x original': (seq / origRate).toFixed(2) },
        { fill, method: `archive.put, ${CONCURRENCY} callers (durable, group commit)`, 'puts/s': fmt(con), 'x original': (con / origRate).toFixed(2) },
        { fill, method: 'archive.putMany, batches of 500 (durable)', 'puts/s': fmt(many), 'x original': (many / origRate).toFixed(2) },
        { fill, method: 'cacache.put, 1 caller (no fsync)', 'puts/s': fmt(cacheSeq), 'x original': (cacheSeq / origRate).toFixed(2) },
        { fill, method: `cacache.put, ${CONCURRENCY} callers (no fsync)`, 'puts/s': fmt(cacheCon), 'x original': (cacheCon / origRate).toFixed(2) },
        { fill, method: 'raw writeFile + rename, 32 in flight (no fsync)', 'puts/s': fmt(rawRate), 'x original': (rawRate / origRate).toFixed(2) },
      );
    }
    table('Durable puts of 1 KiB objects into an archive of 1k / 10k objects (median of 3 rounds)', putRows);
    console.log(`\narchive.put, 1 caller, at 10k: ${((results[10_000].seq / floor.pair) * 100).toFixed(0)}% of the one-barrier floor for two files (${fmt(floor.pair)}/s)`);

    // ------------------------------------------------------------ get and verify at 10k
    {
      const dir = join(root, 'read-10k');
      const { adapter, archive } = await filledArchive(dir, 10_000, 'read');
      const hashes = [];
      for await (const h of archive.list()) hashes.push(h);
      const cache = join(root, 'cacache-read');
      const digests = [];
      const vs = values('read-fill', 10_000);
      await pool(vs, 32, async (v) => {
        digests[v.i] = await cacache.put(cache, `k${v.i}`, canonicalBytes(v));
      });
      const order = (n, r) => Array.from({ length: n }, (_, i) => (i * 7919 + r * 104_729) % n);
      const N = 5000;
      const get = await rate(async (r) => {
        for (const i of order(N, r)) await archive.get(hashes[i % hashes.length]);
      }, N);
      const cacheGet = await rate(async (r) => {
        for (const i of order(N, r)) await cacache.get.byDigest(cache, digests[i % digests.length]);
      }, N);
      const getCon = await rate(async (r) => {
        await pool(order(N, r), CONCURRENCY, (i) => archive.get(hashes[i % hashes.length]));
      }, N);
      const cacheGetCon = await rate(async (r) => {
        await pool(order(N, r), CONCURRENCY, (i) => cacache.get.byDigest(cache, digests[i % digests.length]));
      }, N);
      const rows = [
        { operation: 'archive.get, 1 caller (re-hash + JSON.parse)', 'ops/s': fmt(get), 'x cacache': (get / cacheGet).toFixed(2) },
        { operation: 'cacache.get.byDigest, 1 caller', 'ops/s': fmt(cacheGet), 'x cacache': '1.00' },
        { operation: `archive.get, ${CONCURRENCY} callers`, 'ops/s': fmt(getCon), 'x cacache': (getCon / cacheGetCon).toFixed(2) },
        { operation: `cacache.get.byDigest, ${CONCURRENCY} callers`, 'ops/s': fmt(cacheGetCon), 'x cacache': '1.00' },
      ];
      results.read = { get, cacheGet, getCon, cacheGetCon };
      if (VERIFY) {
        // verify: one round each (cacache's takes long); archive verify also gets a median of 3.
        const vt = [];
        let report;
        for (let r = 0; r < ROUNDS; r++) {
          const t0 = performance.now();
          report = await archive.verify();
          vt.push(performance.now() - t0);
        }
        if (!report.ok || report.checked !== 10_000) throw new Error(`verify found problems: ${JSON.stringify(report).slice(0, 200)}`);
        const t0 = performance.now();
        const cv = await cacache.verify(cache);
        const cacheVerifyMs = performance.now() - t0;
        const verifyMs = median(vt);
        Object.assign(results.read, { verifyMs, cacheVerifyMs });
        rows.push(
          { operation: 'archive.verify() of 10k (ms)', 'ops/s': `${fmt(verifyMs)} ms`, 'x cacache': (cacheVerifyMs / verifyMs).toFixed(1) + 'x faster' },
          { operation: `cacache.verify of 10k (ms; ${cv.verifiedContent ?? '?'} verified)`, 'ops/s': `${fmt(cacheVerifyMs)} ms`, 'x cacache': '1.00' },
        );
      }
      await archive.close();
      await adapter.close();
      table(VERIFY ? 'Reads and verify on 10k objects of 1 KiB' : 'Reads on 10k objects of 1 KiB (verify skipped: ARCHIVE_BENCH_VERIFY=0)', rows);
    }

    // ------------------------------------------------------------ put rate at 100k vs 1k
    // Concurrent durable puts, each window long enough to include at least one index
    // compaction at that size (the journal is folded at max(1024, index/4) records), so the
    // rate is the amortised one.
    const scaleRows = [];
    const levels = BIG ? [1000, 100_000] : [1000, 10_000];
    for (const fill of SCALE ? levels : []) {
      const dir = join(root, `scale-${fill}`);
      const tf = performance.now();
      const { adapter, archive } = await filledArchive(dir, fill, `s${fill}`);
      const fillS = (performance.now() - tf) / 1000;
      const window = Math.max(4000, Math.ceil(fill / 4) + 1000);
      const rounds = fill >= 100_000 ? 1 : ROUNDS;
      const r = await rate(async (round) => {
        await pool(values(`scale-${fill}-${round}`, window), CONCURRENCY, (v) => archive.put(v));
      }, window, rounds);
      await archive.close();
      await adapter.close();
      results[`scale${fill}`] = r;
      scaleRows.push({ 'objects before': fill, 'puts timed': window, rounds, 'puts/s': fmt(r), 'fill time (s)': fmt(fillS, 1) });
      rmSync(dir, { recursive: true, force: true });
    }
    const small = results.scale1000;
    const large = results[`scale${levels[1]}`];
    if (SCALE) {
      scaleRows.push({ 'objects before': `${levels[1]} vs 1000`, 'puts timed': '', rounds: '', 'puts/s': `${((large / small) * 100).toFixed(0)}%`, 'fill time (s)': '' });
      table(`Put rate as the archive grows (durable, ${CONCURRENCY} callers, amortised over compaction)`, scaleRows);
    }

    // ------------------------------------------------------------ aims of issue 4
    const r10 = results[10_000];
    const r1 = results[1000];
    const rd = results.read;
    const aims = [
      { aim: 'durable put >= 10x original protocol (10k, 1 caller)', measured: `${(r10.seq / r10.origRate).toFixed(1)}x`, met: r10.seq / r10.origRate >= 10 ? 'yes' : 'no' },
      { aim: 'durable put (10k, 1 caller) vs the one-barrier floor', measured: `${((r10.seq / floor.pair) * 100).toFixed(0)}%`, met: '(floor)' },
      { aim: `durable put >= 10x original protocol (10k, ${CONCURRENCY} callers)`, measured: `${(r10.con / r10.origRate).toFixed(1)}x`, met: r10.con / r10.origRate >= 10 ? 'yes' : 'no' },
      { aim: 'durable put >= 10x original protocol (1k, 1 caller)', measured: `${(r1.seq / r1.origRate).toFixed(1)}x`, met: r1.seq / r1.origRate >= 10 ? 'yes' : 'no' },
      { aim: 'durable putMany >= 0.5x raw no-fsync (10k)', measured: `${(r10.many / r10.rawRate).toFixed(2)}x`, met: r10.many / r10.rawRate >= 0.5 ? 'yes' : 'no' },
      { aim: 'get >= 2x cacache.get.byDigest (1 caller)', measured: `${(rd.get / rd.cacheGet).toFixed(2)}x`, met: rd.get / rd.cacheGet >= 2 ? 'yes' : 'no' },
    ];
    if (SCALE) aims.push({ aim: `put rate at ${levels[1]} within 20% of 1k`, measured: `${((large / small) * 100).toFixed(0)}%`, met: large / small >= 0.8 ? 'yes' : 'no' });
    if (VERIFY) aims.push({ aim: 'verify 10k >= 20x faster than cacache.verify', measured: `${(rd.cacheVerifyMs / rd.verifyMs).toFixed(1)}x`, met: rd.cacheVerifyMs / rd.verifyMs >= 20 ? 'yes' : 'no' });
    table('Aims of issues 4 and 14 (ratios from this run)', aims);
    return { results, aims };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
