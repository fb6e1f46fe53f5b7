/**
 * References on a real S3 engine (Ceph radosgw): no lock, so every change is
 * the adapter's own compare-and-swap (If-Match / If-None-Match: *). Writers
 * on separate adapters (separate connections and handles, as separate
 * machines are) do compare-and-set on one name: every success is in the
 * history exactly once, none lost. A `writers: 'single'` adapter has no
 * compare-and-swap and is refused unless the caller promises to be alone.
 */
import { describe, expect, it } from 'vitest';
import { openArchive } from '../src/archive/index.js';
import { openReferences } from '../src/refs/index.js';
import { expectCode } from '../src/testing/expect-code.js';
import { radosgwForFile } from './support/radosgw-adapters.js';
import { compareAndSetRetrying } from './support/refs-race.js';

const { adapterOf } = radosgwForFile();

describe('references on S3 (radosgw)', () => {
  it('writers on separate adapters doing compare-and-set on one name: every success once in the history', async () => {
    const writers = 4;
    const each = 8;
    const successes: string[] = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const archive = await openArchive(adapterOf('refs-race/'));
        const refs = openReferences(archive, { keepVersions: 100 });
        expect(refs.mode).toBe('native');
        let seen = (await refs.get('race'))?.hash ?? null;
        for (let i = 0; i < each; i++) {
          const hash = await archive.put({ w, i });
          const r = await compareAndSetRetrying(refs, 'race', seen, hash);
          successes.push(`${r.seq} ${r.hash}`);
          seen = r.hash;
        }
        await archive.close();
      }),
    );
    const archive = await openArchive(adapterOf('refs-race/'));
    const history = await openReferences(archive).history('race');
    expect(history.map((v) => v.seq)).toEqual(Array.from({ length: writers * each }, (_, i) => writers * each - i));
    expect(new Set(history.map((v) => `${v.seq} ${v.hash}`))).toEqual(new Set(successes));
    expect(successes).toHaveLength(writers * each);
    expect((await openReferences(archive).check()).ok).toBe(true);
    await archive.close();
  }, 120_000);

  it("writers: 'single' has no compare-and-swap: refused, unless the caller is the only writer", async () => {
    const archive = await openArchive(adapterOf('refs-single/', { writers: 'single' }));
    await expectCode(() => openReferences(archive), 'CONDITIONAL_WRITES_UNSUPPORTED');
    const refs = openReferences(archive, { singleWriter: true });
    const h = await archive.put({ alone: true });
    expect((await refs.set('a', h)).seq).toBe(1);
    expect((await refs.get('a'))!.hash).toBe(h);
    await archive.close();
  }, 60_000);
});
