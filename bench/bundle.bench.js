// Portable bundle export and import on node-fs (real disk, temp dir), 1 KiB JSON objects,
// at 1k, 10k and 100k objects, next to fflate used directly on the same files in the same run:
// - export:  exportBundleToFile (two passes, sorted, deflate level 6, atomic file)
//   vs fflate: readFileSync each object file + streaming Zip/ZipDeflate level 6 + writeSync;
// - import:  importBundleFromFile (every entry checked, re-hashed, staged, committed all or nothing)
//   vs fflate: streaming Unzip/UnzipInflate of the same bundle, each entry written with writeFileSync
//   (no checks at all), fflate Unzip decoding only, and archive.putManyBytes of the same objects
//   with no bundle at all (the cost of storing them, which any import pays).
// Each measurement runs in its own child process, which reports its time and its peak memory:
// maxRSS from the OS (process.resourceUsage) and the largest heapUsed+arrayBuffers sampled every 5 ms.
// "RSS before" is taken after opening the archive, so "added" is what the operation itself took
// (the node-fs archive keeps its whole index in memory: that is the archive's, not the bundle's).
// MB/s counts object bytes (1 KiB each). Medians of ROUNDS rounds (one round at 100k).
//
// `npm run bench -- bundle`   (env BUNDLE_BENCH_SIZES=1000,10000 to skip 100k)
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Unzip, UnzipInflate, Zip, ZipDeflate } from 'fflate';
import { fmt, median, table } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const SIZES = (process.env.BUNDLE_BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const ROUNDS = 3;
const OBJECT_BYTES = 1024;

// ---------------------------------------------------------------- data

/** A deterministic PRNG (mulberry32), so every run zips the same bytes. */
function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'the of and to in is you that it was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part'.split(' ');

/** An intent-like JSON object of exactly OBJECT_BYTES canonical bytes (deflates to about 0.57). */
function benchValue(canonicalBytes, i) {
  const rnd = prng(i + 1);
  const words = (n) => Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ');
  const hex = (n) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
  const v = {
    intent_id: hex(32),
    name: words(3),
    goal: words(12),
    original_request: words(20),
    status: 'Active',
    priority: i % 10,
    created_at: 1_700_000_000 + i,
    constraints: { budget: String(i % 1000), region: 'eu' },
    metadata: { session: hex(16) },
    pad: '',
  };
  const base = canonicalBytes(v).byteLength;
  v.pad = words(200).slice(0, OBJECT_BYTES - base);
  while (canonicalBytes(v).byteLength < OBJECT_BYTES) v.pad += 'x';
  return v;
}

// ---------------------------------------------------------------- child jobs

function memorySampler() {
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
  };
  const timer = setInterval(sample, 5);
  timer.unref();
  return () => {
    sample();
    clearInterval(timer);
    return peakHeap;
  };
}

function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const jobs = {
  /** Fills a node-fs archive with n objects. */
  async fill(dir, n) {
    const { canonicalBytes, openArchive } = await import('../dist/index.js');
    const { nodeFsAdapter } = await import('../dist/adapters/node-fs.js');
    const archive = await openArchive(nodeFsAdapter({ dir, durable: false }));
    for (let i = 0; i < n; i += 2000) {
      await archive.putMany(Array.from({ length: Math.min(2000, n - i) }, (_, k) => benchValue(canonicalBytes, i + k)));
    }
    await archive.close();
    return {};
  },

  async export(dir, out) {
    const { openArchive } = await import('../dist/index.js');
    const { nodeFsAdapter } = await import('../dist/adapters/node-fs.js');
    const { exportBundleToFile } = await import('../dist/node/bundle-file.js');
    const archive = await openArchive(nodeFsAdapter({ dir, durable: false }));
    const rssBefore = process.memoryUsage().rss;
    const stop = memorySampler();
    const t0 = performance.now();
    await exportBundleToFile(archive, out, { createdAt: 0, durable: false });
    const ms = performance.now() - t0;
    return { ms, peakHeap: stop(), rssBefore, bytes: statSync(out).size };
  },

  async 'fflate-zip'(dir, out) {
    const rssBefore = process.memoryUsage().rss;
    const stop = memorySampler();
    const t0 = performance.now();
    const fd = openSync(out, 'w');
    const zip = new Zip((err, chunk) => {
      if (err) throw err;
      writeSync(fd, chunk);
    });
    for (const file of walk(join(dir, 'objects'))) {
      const entry = new ZipDeflate(file.slice(dir.length + 1), { level: 6 });
      zip.add(entry);
      entry.push(readFileSync(file), true);
    }
    zip.end();
    closeSync(fd);
    const ms = performance.now() - t0;
    return { ms, peakHeap: stop(), rssBefore, bytes: statSync(out).size };
  },

  async import(bundle, dir, budget) {
    const { openArchive } = await import('../dist/index.js');
    const { nodeFsAdapter } = await import('../dist/adapters/node-fs.js');
    const { importBundleFromFile } = await import('../dist/node/bundle-file.js');
    const archive = await openArchive(nodeFsAdapter({ dir, durable: false }));
    const rssBefore = process.memoryUsage().rss;
    const stop = memorySampler();
    const t0 = performance.now();
    const options = budget === 'default' ? {} : { stagingMemoryBytes: Number(budget) };
    const report = await importBundleFromFile(archive, bundle, options);
    const ms = performance.now() - t0;
    const peakHeap = stop();
    await archive.close();
    return { ms, peakHeap, rssBefore, added: report.added };
  },

  /** The archive receiving the same objects through putManyBytes in 4096-object batches: what any import must pay. */
  async 'archive-put'(dir, n) {
    const { canonicalBytes, openArchive } = await import('../dist/index.js');
    const { nodeFsAdapter } = await import('../dist/adapters/node-fs.js');
    const archive = await openArchive(nodeFsAdapter({ dir, durable: false }));
    const rssBefore = process.memoryUsage().rss;
    const stop = memorySampler();
    let ms = 0;
    for (let i = 0; i < n; i += 4096) {
      const batch = Array.from({ length: Math.min(4096, n - i) }, (_, k) => canonicalBytes(benchValue(canonicalBytes, i + k)));
      const t0 = performance.now();
      await archive.putManyBytes(batch);
      ms += performance.now() - t0;
    }
    const peakHeap = stop();
    await archive.close();
    return { ms, peakHeap, rssBefore };
  },

  async 'fflate-unzip'(bundle, dir, mode) {
    const rssBefore = process.memoryUsage().rss;
    const stop = memorySampler();
    const t0 = performance.now();
    const made = new Set();
    let files = 0;
    await new Promise((resolve, reject) => {
      const unzip = new Unzip((file) => {
        const parts = [];
        file.ondata = (err, data, final) => {
          if (err) return reject(err);
          if (mode === 'write') parts.push(data);
          if (final) {
            files++;
            if (mode !== 'write') return;
            const path = join(dir, file.name);
            const parent = dirname(path);
            if (!made.has(parent)) {
              mkdirSync(parent, { recursive: true });
              made.add(parent);
            }
            writeFileSync(path, parts.length === 1 ? parts[0] : Buffer.concat(parts));
          }
        };
        file.start();
      });
      unzip.register(UnzipInflate);
      const stream = createReadStream(bundle, { highWaterMark: 1 << 20 });
      stream.on('data', (chunk) => {
        try {
          unzip.push(chunk);
        } catch (e) {
          reject(e);
        }
      });
      stream.on('end', () => {
        unzip.push(new Uint8Array(0), true);
        resolve();
      });
      stream.on('error', reject);
    });
    const ms = performance.now() - t0;
    return { ms, peakHeap: stop(), rssBefore, files };
  },
};

if (process.argv[2] === '--bundle-child') {
  const [job, ...args] = process.argv.slice(3);
  const result = await jobs[job](...args.map((a) => (/^\d+$/.test(a) ? Number(a) : a)));
  result.maxRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

function child(job, ...args) {
  const out = execFileSync(process.execPath, [SELF, '--bundle-child', job, ...args.map(String)], { maxBuffer: 1 << 20 });
  return JSON.parse(out.toString().trim().split('\n').pop());
}

// ---------------------------------------------------------------- the run

const mb = (bytes) => (bytes / (1024 * 1024)).toFixed(1);

export async function run() {
  const root = mkdtempSync(join(tmpdir(), 'bundle-bench-'));
  const rows = [];
  const memory = [];
  try {
    for (const n of SIZES) {
      const rounds = n >= 100_000 ? 1 : ROUNDS;
      const objectBytes = n * OBJECT_BYTES;
      const source = join(root, `source-${n}`);
      child('fill', source, n);

      const measure = (label, fn) => {
        const results = [];
        for (let r = 0; r < rounds; r++) results.push(fn(r));
        const ms = median(results.map((x) => x.ms));
        const out = {
          ms,
          mbps: objectBytes / 1e6 / (ms / 1000),
          maxRss: median(results.map((x) => x.maxRss)),
          rssBefore: median(results.map((x) => x.rssBefore)),
          peakHeap: median(results.map((x) => x.peakHeap)),
          bytes: results[0].bytes,
        };
        memory.push({ objects: n, operation: label, ...out });
        return out;
      };

      const bundle = join(root, `bundle-${n}.zip`);
      const exp = measure('export', () => child('export', source, bundle));
      const zipOut = join(root, `fflate-${n}.zip`);
      const fz = measure('fflate zip', () => child('fflate-zip', source, zipOut));
      const imp = measure('import', (r) => child('import', bundle, join(root, `import-${n}-${r}`), 'default'));
      const impMem = n >= 100_000 ? measure('import, 256 MiB staging budget', (r) => child('import', bundle, join(root, `import-big-${n}-${r}`), 256 * 1024 * 1024)) : undefined;
      const ap = measure('archive.putManyBytes alone', (r) => child('archive-put', join(root, `put-${n}-${r}`), n));
      const fu = measure('fflate unzip + writeFileSync', (r) => child('fflate-unzip', bundle, join(root, `unzip-${n}-${r}`), 'write'));
      const fd = measure('fflate unzip (decode only)', () => child('fflate-unzip', bundle, join(root, 'none'), 'decode'));

      rows.push(
        { objects: n, operation: 'exportBundleToFile', 'MB/s': fmt(exp.mbps), s: (exp.ms / 1000).toFixed(2), 'x fflate zip': (exp.mbps / fz.mbps).toFixed(2), 'bundle MB': mb(exp.bytes) },
        { objects: n, operation: 'fflate Zip+ZipDeflate (baseline)', 'MB/s': fmt(fz.mbps), s: (fz.ms / 1000).toFixed(2), 'x fflate zip': '1.00', 'bundle MB': mb(fz.bytes) },
        { objects: n, operation: 'importBundleFromFile', 'MB/s': fmt(imp.mbps), s: (imp.ms / 1000).toFixed(2), 'x fflate zip': `${(imp.mbps / fu.mbps).toFixed(2)} of unzip+write`, 'bundle MB': '' },
        ...(impMem
          ? [{ objects: n, operation: 'importBundleFromFile, 256 MiB staging', 'MB/s': fmt(impMem.mbps), s: (impMem.ms / 1000).toFixed(2), 'x fflate zip': `${(impMem.mbps / fu.mbps).toFixed(2)} of unzip+write`, 'bundle MB': '' }]
          : []),
        { objects: n, operation: 'archive.putManyBytes of the same objects, no bundle', 'MB/s': fmt(ap.mbps), s: (ap.ms / 1000).toFixed(2), 'x fflate zip': `${(ap.mbps / fu.mbps).toFixed(2)} of unzip+write`, 'bundle MB': '' },
        { objects: n, operation: 'fflate Unzip + writeFileSync (baseline)', 'MB/s': fmt(fu.mbps), s: (fu.ms / 1000).toFixed(2), 'x fflate zip': '', 'bundle MB': '' },
        { objects: n, operation: 'fflate Unzip, decode only', 'MB/s': fmt(fd.mbps), s: (fd.ms / 1000).toFixed(2), 'x fflate zip': '', 'bundle MB': '' },
      );
      // Leave room on the disk for the next size.
      for (const e of readdirSync(root)) if (/^(import|unzip|put)-/.test(e)) rmSync(join(root, e), { recursive: true, force: true });
    }
    table(`Bundle throughput, node-fs (durable: false), ${OBJECT_BYTES} B JSON objects; MB/s of object bytes`, rows);

    const smallest = Math.min(...SIZES);
    const base = (op) => memory.find((m) => m.objects === smallest && m.operation === op);
    table(
      'Peak memory per child process (maxRSS from the OS; heap = largest heapUsed + arrayBuffers sampled every 5 ms)',
      memory.map((m) => {
        const b = base(m.operation);
        return {
          objects: m.objects,
          operation: m.operation,
          'RSS before MB': mb(m.rssBefore),
          'peak RSS MB': mb(m.maxRss),
          [`x ${smallest} objects`]: b ? (m.maxRss / b.maxRss).toFixed(2) : '',
          'added by the operation MB': mb(m.maxRss - m.rssBefore),
          [`added x ${smallest}`]: b ? ((m.maxRss - m.rssBefore) / (b.maxRss - b.rssBefore)).toFixed(2) : '',
          'peak heap MB': mb(m.peakHeap),
          [`heap x ${smallest}`]: b ? (m.peakHeap / b.peakHeap).toFixed(2) : '',
        };
      }),
    );
    return { rows, memory };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
