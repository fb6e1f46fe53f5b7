/**
 * References in real browser tabs: N tabs of one origin (this page and
 * peers running `test/browser-peer.html`) doing compare-and-set on one name
 * at once, on IndexedDB and on OPFS, where the compare-and-swap is the
 * adapter's Web Lock around read, compare, write (src/adapter/cas.ts).
 * Property: every successful update is in the history exactly once, in one
 * line of `seq` without a gap, and none is lost; the intent graph's
 * compare-and-set between two tabs is checked the same way.
 */
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { openArchive } from '../src/archive/index.js';
import { openArchiveIntentStore } from '../src/intent-graph/index.js';
import { openReferences, ReferenceConflictError } from '../src/refs/index.js';
import { makeIntent } from './support/intent-graph.js';
import { indexedDbAdapter } from '../adapters/indexeddb/index.js';
import { opfsAdapter } from '../adapters/opfs/index.js';
import { tabBackends, type TabBackend as Backend } from './support/tab-backends.js';

let counter = 0;
const unique = (tag: string) => `refs-tabs-${tag}-${Date.now().toString(36)}-${++counter}`;
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c().catch(() => {});
});

const backends = tabBackends;

/**
 * One writer's loop, as source text run in every tab (this one included, by
 * `new Function`): `count` compare-and-sets of `race/one`, each to a fresh
 * object, retrying from the value a lost round carries; resolves
 * `"<seq> <hash>"` of each success and the number of rounds lost.
 */
const WRITER = `async (mods, { id, tag, count, backend }) => {
  const adapter = backend(mods, id);
  const archive = await mods.archive.openArchive(adapter);
  const refs = mods.archive.openReferences(archive, { keepVersions: 1000 });
  const won = [];
  let lost = 0;
  let expected = (await refs.get('race/one'))?.hash ?? null;
  for (let i = 0; i < count; i++) {
    const hash = await archive.put({ tab: tag, i });
    for (;;) {
      try {
        const r = await refs.compareAndSet('race/one', expected, hash);
        won.push(r.seq + ' ' + r.hash);
        expected = r.hash;
        break;
      } catch (e) {
        if (!(e instanceof mods.archive.ReferenceConflictError)) throw e;
        lost++;
        expected = e.current?.hash ?? null;
      }
    }
  }
  await archive.close();
  await adapter.close?.();
  return { won, lost };
}`;

/** Runs WRITER in `peer` (a peer id) or, for undefined, in this page. */
interface WriterResult {
  won: string[];
  lost: number;
}

function runWriter(peer: string | undefined, backend: Backend, id: string, tag: string, count: number): Promise<WriterResult> {
  const withBackend = WRITER.replace('const adapter = backend(mods, id);', `const adapter = (${backend.peer})(mods, id);`);
  if (peer) return commands.peerRun<WriterResult>(peer, withBackend, { id, tag, count });
  const mods = { idb: { indexedDbAdapter }, opfs: { opfsAdapter }, archive: { openArchive, openReferences, ReferenceConflictError } };
  const fn = new Function(`return (${withBackend})`)() as (m: typeof mods, a: unknown) => Promise<WriterResult>;
  return fn(mods, { id, tag, count });
}

for (const backend of backends) {
  describe(`references on ${backend.name} across tabs`, () => {
    const peers: string[] = [];
    afterEach(async () => {
      while (peers.length) await commands.peerClose(peers.pop()!);
    });

    it('N tabs doing compare-and-set on one name: every success in the history exactly once, no lost update', async () => {
      // Opening tabs is the slow part: open the most any run needs once, and let each run use some of them.
      for (let i = 0; i < 2; i++) peers.push(await commands.peerOpen());
      let lostRounds = 0;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: 3 }), fc.array(fc.integer({ min: 3, max: 10 }), { minLength: 3, maxLength: 3 }), async (tabs, counts) => {
          const id = unique(backend.name);
          cleanup.push(() => backend.forget(id));
          const writers = Array.from({ length: tabs }, (_, t) => runWriter(t === 0 ? undefined : peers[t - 1], backend, id, `t${t}`, counts[t]!));
          const results = await Promise.all(writers);
          const reported = results.flatMap((r) => r.won);
          lostRounds += results.reduce((a, r) => a + r.lost, 0);
          const total = counts.slice(0, tabs).reduce((a, b) => a + b, 0);
          expect(reported).toHaveLength(total);
          const adapter = backend.here(id);
          const archive = await openArchive(adapter);
          const history = await openReferences(archive).history('race/one');
          // Default retention is 32 earlier versions: compare what it keeps, and the seq line.
          expect(history.map((v) => v.seq)).toEqual(Array.from({ length: Math.min(total, 33) }, (_, i) => total - i));
          const stored = history.map((v) => `${v.seq} ${v.hash}`);
          expect(new Set(stored).size).toBe(stored.length);
          const byReport = new Set(reported);
          expect(byReport.size).toBe(total); // no seq won twice
          for (const s of stored) expect(byReport.has(s)).toBe(true);
          for (const v of history) expect(await archive.has(v.hash!)).toBe(true);
          await archive.close();
          await adapter.close?.();
        }),
        { numRuns: 3 },
      );
      // The tabs did race: some compare-and-sets lost to another tab and retried.
      expect(lostRounds).toBeGreaterThan(0);
    }, 180_000);

    it("two tabs' intent stores on one graph: the tab that saw an older version gets CONFLICT, none overwrites the other", async () => {
      const id = unique(`${backend.name}-graph`);
      cleanup.push(() => backend.forget(id));
      peers.push(await commands.peerOpen());
      const adapter = backend.here(id);
      const archive = await openArchive(adapter);
      const store = await openArchiveIntentStore({ archive });
      await store.store(makeIntent('a'));
      const intent = makeIntent('a', { goal: 'by the peer' });
      const peerSeq = await commands.peerRun<number>(
        peers[0]!,
        `async (mods, { id, intent }) => {
          const adapter = (${backend.peer})(mods, id);
          const archive = await mods.archive.openArchive(adapter);
          const store = await mods.archive.openArchiveIntentStore({ archive });
          await store.update(intent);
          const seq = (await store.history('a'))[0].seq;
          await store.close();
          await archive.close();
          await adapter.close?.();
          return seq;
        }`,
        { id, intent },
      );
      expect(peerSeq).toBe(2);
      await expect(store.update(makeIntent('a', { goal: 'by this tab' }))).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await store.history('a')).map((v) => v.seq)).toEqual([2, 1]);
      // The next change reloads first and goes on from the peer's version.
      await store.update(makeIntent('a', { goal: 'after the peer', priority: 7 }));
      const history = await store.history('a');
      expect(history.map((v) => v.seq)).toEqual([3, 2, 1]);
      expect((await store.get('a'))!.goal).toBe('after the peer');
      await store.close();
      await archive.close();
      await adapter.close?.();
    }, 120_000);
  });
}
