// The browser adapters in Chromium, Firefox and WebKit (one after another, the same table each; issue 16),
// next to their raw baselines in the same run and the same browser (issue 5),
// and SHA-256 in the page (noble, WebCrypto, the SDK's sync and async paths):
// IndexedDB against raw `idb` (one transaction per put; one transaction for the batch), OPFS against
// raw OPFS (createWritable per object in the objects/aa/bb/<hash>.json layout), and the archive on
// both. 1 KiB values, 1,000 operations per round, median of interleaved rounds.
//
// The page (bench/browser/) imports the BUILT library from dist/ through an import map, served by a
// small HTTP server on 127.0.0.1 that stops with the run. Each engine is started by the launch code the
// browser tests use (test/support/engines/launch.js: Debian's chromium, firefox-esr over WebDriver BiDi,
// WebKitGTK through its host under Xvfb; never downloaded) with an on-disk profile in a temp dir, so
// IndexedDB and OPFS write to disk as in a user's browser (an incognito context keeps them in memory).
// Where sync access handles refuse (WebKitGTK), the OPFS worker rows read n/a.
//
// `npm run bench -- browser`   (env BROWSER_ENGINES=chromium,firefox,webkit, BROWSER_BENCH_ROUNDS=5,
// BROWSER_BENCH_N=1000)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEnginePage, selectedEngines } from '../test/support/engines/launch.js';
import { fmt, serveStatic, table } from './lib.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.BROWSER_BENCH_ROUNDS ?? 5);
const N = Number(process.env.BROWSER_BENCH_N ?? 1000);
/** Only these trees are served. */
const SERVED = ['dist/', 'bench/browser/', 'node_modules/idb/', 'node_modules/@noble/hashes/', 'node_modules/fflate/'];

/** The page and the built library, served on 127.0.0.1 only (see serveStatic). */
const serve = () => serveStatic(ROOT, SERVED, { maxMs: 30 * 60_000 });

const ratio = (a, b) => (b > 0 && Number.isFinite(a) ? (a / b).toFixed(2) : 'n/a');
/** A rate, or n/a for a row this engine cannot run (the OPFS worker where sync access handles refuse). */
const rateOf = (r) => (Number.isFinite(r.rate) ? fmt(r.rate) : 'n/a');

/** Waits until the bench page has loaded its modules (or reports why not). */
async function pageReady(page) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await page.evaluate(`globalThis.browserBenchReady === true ? 'ready' : (globalThis.browserBenchError ?? 'loading')`);
    if (state === 'ready') return;
    if (state !== 'loading' || Date.now() > deadline) throw new Error(`the bench page did not load: ${state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function run() {
  if (!existsSync(join(ROOT, 'dist/adapters/opfs.js'))) throw new Error('dist/ is missing: run `npm run build` (npm run bench does)');
  const { origin, stop } = await serve();
  const results = {};
  try {
    for (const engine of selectedEngines()) results[engine] = await runEngine(engine, origin);
  } finally {
    await stop();
  }
  return results;
}

/** The same tables for one engine, in a fresh browser of it. */
async function runEngine(engine, origin) {
  const page = await openEnginePage(engine, `${origin}/bench/browser/index.html`);
  try {
    await pageReady(page);
    console.log(`\n# ${page.version} (headless, on-disk profile); ${N} ops of 1 KiB per round, median of ${ROUNDS} interleaved rounds`);
    const arg = JSON.stringify({ n: N, rounds: ROUNDS });
    const idb = await page.evaluate(`globalThis.browserBench.benchIndexedDb(${arg})`);
    const opfs = await page.evaluate(`globalThis.browserBench.benchOpfs(${arg})`);
    const hash = await page.evaluate(`globalThis.browserBench.benchHash({ rounds: ${ROUNDS} })`);
    const rate = (rows, name) => rows.find((r) => r.name === name)?.rate ?? NaN;
    table(
      'SHA-256 in the page (digests awaited in turn)',
      hash.map((r) => ({
        row: r.name,
        'ops/s': rateOf(r),
        'x @noble/hashes': ratio(r.rate, rate(hash, `${r.group}: @noble/hashes`)),
        'x WebCrypto': ratio(r.rate, rate(hash, `${r.group}: WebCrypto`)),
      })),
    );

    const idbSeq = rate(idb, 'raw idb: 1 tx per put, awaited in turn');
    const idbTogether = rate(idb, 'raw idb: 1 tx per put, issued together');
    const idbBatch = rate(idb, 'raw idb: 1 tx for the batch');
    table(
      'IndexedDB (relaxed durability unless marked strict)',
      idb.map((r) => ({
        row: r.name,
        'ops/s': rateOf(r),
        'x raw 1 tx/put (in turn)': ratio(r.rate, r.group === 'strict' ? rate(idb, 'raw idb strict: 1 tx per put, awaited in turn') : idbSeq),
        'x raw 1 tx/put (together)': ratio(r.rate, idbTogether),
        'x raw 1 tx/batch': ratio(r.rate, idbBatch),
      })),
    );

    const cwSeq = rate(opfs, 'raw OPFS: createWritable per object, awaited in turn');
    const cwTogether = rate(opfs, 'raw OPFS: createWritable per object, issued together');
    const rawGet = rate(opfs, 'raw OPFS: getFile per object, issued together');
    table(
      'OPFS',
      opfs.map((r) => ({
        row: r.name,
        'ops/s': rateOf(r),
        'x raw createWritable (in turn)': r.group === 'get' ? '' : ratio(r.rate, cwSeq),
        'x raw createWritable (together)': r.group === 'get' ? '' : ratio(r.rate, cwTogether),
        'x raw getFile (together)': r.group === 'get' ? ratio(r.rate, rawGet) : '',
      })),
    );

    const aims = [
      ['archive put x1000 issued together >= 3x raw idb 1 tx/put (in turn)', rate(idb, 'archive put, issued together') / idbSeq, 3],
      ['archive put x1000 issued together >= 3x raw idb 1 tx/put (together)', rate(idb, 'archive put, issued together') / idbTogether, 3],
      ['archive put awaited in turn >= 0.8x raw idb 1 tx/put (in turn)', rate(idb, 'archive put, awaited in turn') / idbSeq, 0.8],
      ['archive putMany >= 0.8x raw idb 1 tx for the batch', rate(idb, 'archive putMany') / idbBatch, 0.8],
      ['archive (worker) put issued together >= 3x raw OPFS createWritable (in turn)', rate(opfs, 'archive (worker) put, issued together') / cwSeq, 3],
      ['archive (worker) put issued together >= 3x raw OPFS createWritable (together)', rate(opfs, 'archive (worker) put, issued together') / cwTogether, 3],
    ];
    table(
      'Aims of issue 5',
      aims.map(([aim, x, min]) => ({ aim, ratio: Number.isFinite(x) ? x.toFixed(2) : 'n/a', met: !Number.isFinite(x) ? 'n/a' : x >= min ? 'yes' : 'NO' })),
    );
    // A crash-safe archive writes the object and its journal line together: what that alone costs raw IndexedDB.
    const journaled = rate(idb, 'raw idb: 1 tx per put of object + journal line, awaited in turn');
    table('Context of the awaited-put aim: the journal line', [
      { what: 'raw idb, object + 100-byte journal line per tx, vs raw 1 tx/put (in turn)', ratio: (journaled / idbSeq).toFixed(2) },
      { what: 'archive put awaited in turn vs raw object + journal line per tx', ratio: (rate(idb, 'archive put, awaited in turn') / journaled).toFixed(2) },
    ]);
    return { version: page.version, hash, idb, opfs, aims };
  } finally {
    await page.close();
  }
}
