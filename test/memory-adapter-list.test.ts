// The memory adapter's list(prefix) goes through its folders of keys, not the whole store: these
// tests hold it to the full scan's answer whatever happens to the store Map, through the adapter
// or behind its back (tests edit shared stores directly to damage them or play a second tab).
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const collect = async (it: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const x of it) out.push(x);
  return out.sort();
};
/** What list(prefix) must give: every key of the Map starting with the prefix. */
const expected = (store: Map<string, Uint8Array>, prefix: string) => [...store.keys()].filter((k) => k.startsWith(prefix)).sort();

const PREFIXES = ['', 'o', 'objects/', 'objects/a', 'objects/aa/', 'objects/aa/b', 'objects/aa/bb/', 'objects/aa/bb/1', 'objects/AA/', 'objects/zz/', 'index/', 'index/r1/', 'journal/', 'x', 'nothing/', 'objects/aa/bb/1.json/'];

describe('memory adapter list(prefix)', () => {
  it('gives the keys under a prefix, partial folder names included', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    const keys = ['objects/aa/bb/1.json', 'objects/aa/cc/2.json', 'objects/ab/00/3.json', 'objects/AA/bb/4.json', 'objects/zz/5.json', 'objects/aa/bb/cc/dd/6.json', 'objects/aa/7.json'];
    for (const k of [...keys, 'index/r1/000000.json', 'index.json', 'journal/1.log', 'x']) await a.write(k, bytes(k));
    for (const p of PREFIXES) expect(await collect(a.list(p)), p).toEqual(expected(store, p));
  });

  it('gives a folder back when its last key goes, and lists it again when one comes back', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    await a.write('objects/aa/bb/1.json', bytes('1'));
    await a.write('objects/aa/cc/2.json', bytes('2'));
    await a.delete('objects/aa/bb/1.json');
    expect(await collect(a.list('objects/aa/'))).toEqual(['objects/aa/cc/2.json']);
    expect(await collect(a.list('objects/aa/bb/'))).toEqual([]);
    await a.deleteMany!(['objects/aa/cc/2.json']);
    expect(await collect(a.list('objects/'))).toEqual([]);
    await a.write('objects/aa/bb/3.json', bytes('3'));
    expect(await collect(a.list('objects/aa/b'))).toEqual(['objects/aa/bb/3.json']);
  });

  it('sees keys set, deleted and cleared on the Map directly, before and after the adapter was made', async () => {
    const store = new Map<string, Uint8Array>([['objects/aa/bb/early.json', bytes('e')]]);
    const a = memoryAdapter({ store });
    expect(await collect(a.list('objects/'))).toEqual(['objects/aa/bb/early.json']);
    store.set('objects/aa/bb/late.json', bytes('l'));
    store.delete('objects/aa/bb/early.json');
    expect(await collect(a.list('objects/aa/'))).toEqual(['objects/aa/bb/late.json']);
    store.clear();
    expect(await collect(a.list(''))).toEqual([]);
    store.set('journal/1.log', bytes('j'));
    expect(await collect(a.list('journal/'))).toEqual(['journal/1.log']);
    // A second adapter on the same store (a second tab) shares what the first one knows.
    const b = memoryAdapter({ store });
    await b.write('journal/2.log', bytes('k'));
    expect(await collect(a.list('journal/'))).toEqual(['journal/1.log', 'journal/2.log']);
  });

  it('stays right when a change goes round the Map methods it installed', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    await a.write('journal/1.log', bytes('1'));
    Map.prototype.set.call(store, 'journal/2.log', bytes('2'));
    expect(await collect(a.list('journal/'))).toEqual(['journal/1.log', 'journal/2.log']);
    Map.prototype.delete.call(store, 'journal/1.log');
    expect(await collect(a.list('journal/'))).toEqual(['journal/2.log']);
    // A test that replaces the Map's set (to spy on it, or to fail writes) gets full scans.
    const plain = store.set;
    store.set = function (k, v) {
      return plain.call(this, k, v);
    };
    Map.prototype.set.call(store, 'journal/3.log', bytes('3'));
    Map.prototype.delete.call(store, 'journal/2.log');
    expect(await collect(a.list('journal/'))).toEqual(['journal/3.log']);
  });

  it('leaves the Map looking like a Map, and works on a frozen one', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    await a.write('k/1', bytes('1'));
    expect(Object.keys(store)).toEqual([]);
    expect(store).toEqual(new Map([['k/1', bytes('1')]]));
    const frozen = Object.freeze(new Map<string, Uint8Array>([['k/2', bytes('2')]]));
    const f = memoryAdapter({ store: frozen });
    await f.write('k/3', bytes('3'));
    expect(await collect(f.list('k/'))).toEqual(['k/2', 'k/3']);
  });

  it('does not visit the store to list a prefix', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    await a.writeMany!(Array.from({ length: 5000 }, (_, i) => ({ key: `objects/${String(i % 256).padStart(2, '0')}/${i}.json`, bytes: bytes('x') })));
    await a.write('journal/1.log', bytes('j'));
    const keys = vi.spyOn(store, 'keys');
    const entries = vi.spyOn(store, 'entries');
    expect(await collect(a.list('journal/'))).toEqual(['journal/1.log']);
    expect(keys).not.toHaveBeenCalled();
    expect(entries).not.toHaveBeenCalled();
  });

  // Verify lists objects/<aa>/ 256 times over a big archive: each listing must cost its own keys, not the store's.
  // (Keys were grouped by first segment only, and every objects/<aa>/ listing compared every object key.)
  it('lists objects/<aa>/ and objects/<aa>/<bb>/ without looking at the keys of other folders', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    const hex = (i: number) => i.toString(16).padStart(2, '0');
    const all = Array.from({ length: 20_000 }, (_, i) => `objects/${hex(i % 256)}/${hex((i >> 8) % 256)}/${i}.json`);
    await a.writeMany!(all.map((key) => ({ key, bytes: bytes('x') })));
    const startsWith = vi.spyOn(String.prototype, 'startsWith');
    const isObjectKey = (ctx: unknown) => String(ctx).startsWith('objects/');
    try {
      for (const prefix of ['objects/3c/', 'objects/3c/1a/', 'objects/3c/1']) {
        startsWith.mockClear();
        const got = await collect(a.list(prefix));
        const comparisons = startsWith.mock.contexts.filter(isObjectKey).length;
        startsWith.mockClear();
        expect(got, prefix).toEqual(all.filter((k) => k.startsWith(prefix)).sort());
        expect(comparisons, prefix).toBeLessThan(100);
      }
    } finally {
      startsWith.mockRestore();
    }
  });

  it('stops a listing aborted half-way with ABORTED, and yields nothing after the abort', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    const hex = (i: number) => i.toString(16).padStart(2, '0');
    await a.writeMany!(Array.from({ length: 30_000 }, (_, i) => ({ key: `objects/${hex(i % 256)}/${hex((i >> 8) % 256)}/${i}.json`, bytes: bytes('x') })));
    for (const prefix of ['', 'objects/', 'objects/7f/']) {
      const ctl = new AbortController();
      let seen = 0;
      let afterAbort = 0;
      const run = (async () => {
        for await (const _ of a.list(prefix, { signal: ctl.signal })) {
          if (ctl.signal.aborted) afterAbort++;
          if (++seen === 3) ctl.abort();
        }
      })();
      await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
      expect(afterAbort, prefix).toBe(0);
      expect(seen, prefix).toBe(3);
    }
    expect(store.size).toBe(30_000);
  });

  // The adapter answers in microtasks: without a turn of the event loop now and then, a timer
  // (here the one that aborts) cannot fire until a caller has worked through the whole listing.
  it('gives the event loop a turn while listing, so an abort from a timer stops a long listing', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    const hex = (i: number) => i.toString(16).padStart(2, '0');
    const n = 200_000;
    await a.writeMany!(Array.from({ length: n }, (_, i) => ({ key: `objects/${hex(i % 256)}/${hex((i >> 8) % 256)}/${i}.json`, bytes: bytes('x') })));
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 5);
    let seen = 0;
    const run = (async () => {
      for await (const _ of a.list('objects/', { signal: ctl.signal })) seen++;
    })();
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    expect(seen).toBeLessThan(n);
  });

  it('matches a full scan after any mix of adapter and direct changes (property)', async () => {
    const KEYS = ['a', 'a/b', 'a/b/c', 'a/bc/d', 'ab/c', 'objects/aa/bb/1', 'objects/aa/bc/2', 'objects/ab/x', 'objects/aa/bb/cc/3', 'objects/AA/bb/4', 'objects/a0/5', 'index/r/0', 'index.json'];
    const op = fc.oneof(
      fc.record({ t: fc.constantFrom('write', 'delete', 'set', 'unset', 'raw', 'create', 'deleteMany'), k: fc.constantFrom(...KEYS) }),
      fc.record({ t: fc.constant('clear'), k: fc.constant('') }),
      // Keys the adapter refuses can still be put in the Map by hand.
      fc.record({ t: fc.constantFrom('set', 'unset'), k: fc.constantFrom('/lead', 'a//b', 'a/', '/') }),
      fc.record({ t: fc.constant('list'), k: fc.constantFrom('', 'a', 'a/', 'a/b', 'a/b/', 'objects/', 'objects/a', 'objects/aa/', 'objects/aa/b', 'objects/aa/bb/', 'objects/aa/bb/c', 'objects/A', 'index') }),
    );
    await fc.assert(
      // 'raw' goes round the installed methods: a key added that way, or one removed, is caught
      // by the count; one of each between two lists is not (it keeps the count), so a run
      // takes one kind.
      fc.asyncProperty(fc.boolean(), fc.array(op, { maxLength: 40 }), async (rawAdds, ops) => {
        const store = new Map<string, Uint8Array>();
        const a = memoryAdapter({ store });
        for (const { t, k } of ops) {
          if (t === 'write') await a.write(k, bytes(k));
          else if (t === 'create') await a.create!(k, bytes(k));
          else if (t === 'delete') await a.delete(k);
          else if (t === 'deleteMany') await a.deleteMany!([k]);
          else if (t === 'set') store.set(k, bytes(k));
          else if (t === 'unset') store.delete(k);
          else if (t === 'raw' && rawAdds) Map.prototype.set.call(store, k, bytes(k));
          else if (t === 'raw') Map.prototype.delete.call(store, k);
          else if (t === 'clear') store.clear();
          else expect(await collect(a.list(k))).toEqual(expected(store, k));
        }
        for (const p of ['', 'a', 'a/', 'objects/', 'index']) expect(await collect(a.list(p))).toEqual(expected(store, p));
      }),
      { numRuns: 300 },
    );
  });
});
