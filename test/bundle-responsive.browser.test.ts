/**
 * A bundle import keeps the page responsive, in real Chromium.
 *
 * A `Blob` (an `<input type="file">` upload) is in memory: reading it never
 * waits long for I/O, so an import that never gives the event loop a turn
 * runs as one task of seconds and freezes the page (before the time slicing
 * of `src/internal/yield.ts`: 10,000 objects from a Blob into the memory
 * adapter ran with no other task in between). A ticker — a `MessageChannel`
 * message that posts the next one, the way any page task is queued — counts
 * the turns the page got while the SDK worked, and, from the progress events,
 * how many objects the SDK got through between two turns.
 *
 * The assertions are structural, never a time: between two page tasks the
 * SDK verified or committed at most 2,000 of the 5,000 objects (it gives a
 * turn every ~8 ms of work: about a hundred objects in Chromium, at most 402
 * in any engine under load; before, all of them), and a cancel queued as a
 * page task stops the import. Any stretch of more than 2,000 objects without a
 * turn fails, as it did with 10,000 objects (what this file imported until it
 * was halved to save ~20 s per engine; the bound is what decides). A count
 * of turns alone would not do: reading a Blob waits for the browser at the
 * start, so the page got hundreds of turns there and then none for seconds.
 * The longest stretch without a turn and Chromium's long tasks are printed
 * for the record.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { openArchive } from '../src/archive/index.js';
import type { ContentArchive } from '../src/archive/types.js';
import { exportBundleToBlob, importBundle, verifyBundle, type BundleProgress } from '../src/bundle/index.js';

const OBJECTS = 5_000;
/** Most objects verified or committed between two page tasks: far above what ~8 ms slices get through, far below all. */
const MOST_OBJECTS_PER_TURN = 2_000;

/**
 * Page tasks that ran while it was on, the longest gap between two, and
 * Chromium's long tasks (> 50 ms) meanwhile. Starts in a fresh task, so the
 * setup before it is not counted as a long task.
 */
async function pageTicker() {
  await new Promise((resolve) => setTimeout(resolve, 0));
  const channel = new MessageChannel();
  let turns = 0;
  let running = true;
  let last = performance.now();
  let longest = 0;
  /** Objects the progress events reported since the last turn, the most of that, and the last `done` of each phase. */
  let sinceTurn = 0;
  let mostPerTurn = 0;
  const lastDone = { verify: 0, commit: 0 } as Record<string, number>;
  channel.port1.onmessage = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    turns++;
    sinceTurn = 0;
    if (running) channel.port2.postMessage(0);
  };
  const longTasks: number[] = [];
  const observer = PerformanceObserver.supportedEntryTypes.includes('longtask')
    ? new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => e.duration)))
    : undefined;
  observer?.observe({ type: 'longtask' });
  channel.port2.postMessage(0);
  return {
    /** The `onProgress` to pass to the SDK. */
    onProgress(p: BundleProgress) {
      sinceTurn += Math.max(0, p.done - (lastDone[p.phase] ?? 0));
      lastDone[p.phase] = p.done;
      mostPerTurn = Math.max(mostPerTurn, sinceTurn);
    },
    /** Stops the ticker (the turn that sees the stop is not counted). */
    stop() {
      running = false;
      longest = Math.max(longest, performance.now() - last);
      observer?.disconnect();
      channel.port1.close();
      return { turns, mostPerTurn, longest: Math.round(longest), longTasks: longTasks.length, longestTask: Math.round(Math.max(0, ...longTasks)) };
    },
  };
}

async function archiveOf(n: number): Promise<ContentArchive> {
  const archive = await openArchive(memoryAdapter());
  for (let i = 0; i < n; i += 2_000) {
    await archive.putMany(Array.from({ length: Math.min(2_000, n - i) }, (_, k) => ({ i: i + k, text: `value ${i + k} `.repeat(1 + (((i + k) * 7) % 30)) })));
  }
  return archive;
}

async function countOf(archive: ContentArchive): Promise<number> {
  let n = 0;
  for await (const _ of archive.list()) n++;
  return n;
}

describe(`a bundle of ${OBJECTS} objects from a Blob, in Chromium`, () => {
  let blob: Blob;
  beforeAll(async () => {
    blob = await exportBundleToBlob(await archiveOf(OBJECTS), { createdAt: 0 });
  }, 120_000);

  it('importBundle into memory lets page tasks run throughout, with progress to the end', async () => {
    const target = await openArchive(memoryAdapter());
    const events: BundleProgress[] = [];
    const ticker = await pageTicker();
    const started = performance.now();
    const report = await importBundle(target, blob, {
      onProgress: (p) => {
        events.push(p);
        ticker.onProgress(p);
      },
    });
    const took = Math.round(performance.now() - started);
    const seen = ticker.stop();
    console.log(`importBundle ${OBJECTS} objects from a Blob into memory: ${took} ms, ${seen.turns} page tasks ran, at most ${seen.mostPerTurn} objects between two, longest gap ${seen.longest} ms, ${seen.longTasks} long tasks (longest ${seen.longestTask} ms)`);
    expect(report).toMatchObject({ objects: OBJECTS, added: OBJECTS, present: 0 });
    expect(await countOf(target)).toBe(OBJECTS);
    expect(events.at(-1)).toEqual({ phase: 'commit', done: OBJECTS, total: OBJECTS });
    expect(events.filter((p) => p.phase === 'commit').length).toBeGreaterThan(2);
    expect(seen.mostPerTurn).toBeLessThanOrEqual(MOST_OBJECTS_PER_TURN);
  });

  it('verifyBundle lets page tasks run throughout', async () => {
    const ticker = await pageTicker();
    const started = performance.now();
    const report = await verifyBundle(blob, { onProgress: ticker.onProgress });
    const took = Math.round(performance.now() - started);
    const seen = ticker.stop();
    console.log(`verifyBundle ${OBJECTS} objects from a Blob: ${took} ms, ${seen.turns} page tasks ran, at most ${seen.mostPerTurn} objects between two, longest gap ${seen.longest} ms, ${seen.longTasks} long tasks (longest ${seen.longestTask} ms)`);
    expect(report.manifest.count).toBe(OBJECTS);
    expect(seen.mostPerTurn).toBeLessThanOrEqual(MOST_OBJECTS_PER_TURN);
  });

  for (const phase of ['verify', 'commit'] as const) {
    it(`a cancel queued as a page task during the ${phase} stops the import, leaving the archive as it was`, async () => {
      const target = await openArchive(memoryAdapter());
      await target.put({ own: 1 });
      const ac = new AbortController();
      let cancelQueued = false;
      let progressAfterCancel = 0;
      const err = await importBundle(target, blob, {
        signal: ac.signal,
        onProgress: (p) => {
          if (ac.signal.aborted) progressAfterCancel++;
          // Like a cancel button: the click is a task of its own, run only when the import lets the page run.
          if (!cancelQueued && p.phase === phase && p.done >= (phase === 'verify' ? OBJECTS / 4 : 1)) {
            cancelQueued = true;
            setTimeout(() => ac.abort(new Error('user cancelled')), 0);
          }
        },
      }).catch((e: unknown) => e);
      expect(cancelQueued).toBe(true);
      expect(err).toMatchObject({ code: 'ABORTED' });
      // Stopped at the next slice: at most a couple of progress events came after the cancel.
      expect(progressAfterCancel).toBeLessThanOrEqual(2);
      expect(await countOf(target)).toBe(1);
    });
  }
});
