// The in-page half of the IndexedDB level of `npm run bench -- scale`: fills an archive on
// IndexedDB with putMany batches of ~200-byte values, closes it, and (in a later, fresh page load)
// reopens it and times the open. Imports the BUILT library (dist/) as an app would.
//
// The Node side drives it: scaleBench.startFill(...) returns at once and the fill runs on, its
// progress in scaleBench.state (polled), so a long fill never sits inside one page.evaluate call
// and can be stopped at a batch boundary when the time limit comes (scaleBench.stop()).
import { openArchive } from '/dist/index.js';
import { indexedDbAdapter, deleteIndexedDbArchive } from '/dist/adapters/indexeddb.js';
import { indexFormat, value } from '/bench/scale/common.js';

const state = { phase: 'idle', filled: 0, target: 0, error: undefined, stopRequested: false };

/** usedJSHeapSize after full collections, with pauses so that finalizers and tasks settle. */
async function heapNow() {
  if (typeof globalThis.gc !== 'function' || !performance.memory) return undefined;
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return performance.memory.usedJSHeapSize;
}

async function fill(name, target, batch) {
  const adapter = indexedDbAdapter({ name });
  const archive = await openArchive(adapter);
  const t0 = performance.now();
  const windowStart = Math.max(0, target - Math.max(Math.floor(target / 10), 10_000));
  let tw = windowStart === 0 ? t0 : undefined;
  let i = 0;
  for (; i < target && !state.stopRequested; i += batch) {
    if (i >= windowStart && tw === undefined) tw = performance.now();
    const vs = [];
    for (let k = i; k < Math.min(target, i + batch); k++) vs.push(value(k));
    await archive.putMany(vs);
    state.filled = Math.min(target, i + batch);
  }
  const t1 = performance.now();
  state.fillMs = t1 - t0;
  state.fillRate = (state.filled * 1000) / (t1 - t0);
  state.windowRate = tw !== undefined ? ((state.filled - windowStart) * 1000) / (t1 - tw) : undefined;
  state.stopped = state.filled < target;
  state.phase = 'closing';
  const c0 = performance.now();
  await archive.close();
  state.closeMs = performance.now() - c0;
  state.index = await indexFormat(adapter);
  await adapter.close();
  state.phase = 'done';
}

globalThis.scaleBench = {
  state,
  startFill(name, target, batch) {
    Object.assign(state, { phase: 'filling', filled: 0, target, error: undefined, stopRequested: false });
    fill(name, target, batch).catch((e) => {
      state.phase = 'failed';
      state.error = `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
    });
    return true;
  },
  stop() {
    state.stopRequested = true;
  },
  /** One reopen in this (fresh) page: the open timed, the heap it adds, then a close with no writes. */
  async reopen(name) {
    const before = await heapNow();
    const adapter = indexedDbAdapter({ name });
    const t0 = performance.now();
    const archive = await openArchive(adapter);
    const ms = performance.now() - t0;
    const after = await heapNow();
    const stats = await archive.stats();
    const c0 = performance.now();
    await archive.close();
    const closeMs = performance.now() - c0;
    await adapter.close();
    return { ms, closeMs, count: stats.count, heap: before !== undefined && after !== undefined ? after - before : undefined };
  },
  async remove(name) {
    await deleteIndexedDbArchive(name);
  },
};
globalThis.scaleBenchReady = true;
