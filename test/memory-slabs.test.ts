// The memory adapter keeps small values in shared slabs (adapters/memory/slabs.ts): these tests
// hold it to the contract's ownership rules (a caller may mutate what it wrote or read), to
// giving back the space of deleted and replaced values, and to versions that survive a move.
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { SLAB_BYTES, SLAB_MAX_VALUE } from '../adapters/memory/slabs.js';

const value = (i: number, size = 200) => {
  const b = new Uint8Array(size);
  for (let j = 0; j < size; j++) b[j] = (i * 31 + j) & 0xff;
  return b;
};
const key = (i: number) => `objects/${(i % 256).toString(16).padStart(2, '0')}/00/${i}.json`;
/** Byte-equal (expect's toEqual takes milliseconds per 200-byte array: too slow for thousands). */
const same = (x: Uint8Array | undefined, y: Uint8Array) => x !== undefined && x.length === y.length && x.every((b, i) => b === y[i]);
/** The distinct ArrayBuffers the store's values keep alive. */
const buffers = (store: Map<string, Uint8Array>) => new Set([...store.values()].map((v) => v.buffer));

describe('memory adapter slabs', () => {
  it('keeps small values as views of shared slabs, big ones in buffers of their own', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    for (let i = 0; i < 1000; i++) await a.write(key(i), value(i));
    // 1000 × 200 bytes: one slab, not a thousand buffers.
    expect(buffers(store).size).toBe(1);
    expect([...store.values()][0]!.buffer.byteLength).toBe(SLAB_BYTES);
    await a.write('big', value(1, SLAB_MAX_VALUE + 1));
    expect(store.get('big')!.buffer.byteLength).toBe(SLAB_MAX_VALUE + 1);
  });

  it('is safe against a caller changing bytes after a write or after a read', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    const written = value(1);
    await a.write('k/1', written);
    await a.writeMany!([{ key: 'k/2', bytes: written }]);
    written.fill(0);
    expect(await a.read('k/1')).toEqual(value(1));
    const read = (await a.read('k/1'))!;
    read.fill(9);
    // A read is a copy of the value alone, not a window on the slab with its neighbours.
    expect(read.buffer.byteLength).toBe(200);
    expect(await a.read('k/1')).toEqual(value(1));
    expect(await a.read('k/2')).toEqual(value(1));
    const versioned = (await a.readVersioned!('k/2'))!;
    versioned.bytes.fill(7);
    expect(await a.read('k/2')).toEqual(value(1));
    // Bytes that are themselves a window of a bigger buffer: only the window is stored.
    const big = value(5, 1000);
    await a.write('k/3', big.subarray(100, 300));
    big.fill(1);
    expect(await a.read('k/3')).toEqual(value(5, 1000).subarray(100, 300));
    await a.append!('k/3', new Uint8Array([1, 2]));
    expect(await a.read('k/3')).toEqual(new Uint8Array([...value(5, 1000).subarray(100, 300), 1, 2]));
  });

  it('gives back the slabs of deleted values, keeping the survivors intact', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    const n = 30_000; // ~6 MB: six slabs
    await a.writeMany!(Array.from({ length: n }, (_, i) => ({ key: key(i), bytes: value(i) })));
    expect(buffers(store).size).toBeGreaterThanOrEqual(6);
    // Delete nine in ten, one by one and in batches: every slab is left with a tenth of its values.
    const gone = Array.from({ length: n }, (_, i) => i).filter((i) => i % 10 !== 0);
    for (const i of gone.slice(0, 1000)) await a.delete(key(i));
    await a.deleteMany!(gone.slice(1000).map(key));
    // 3,000 survivors of 200 bytes fit in one slab; without compaction each old slab would stay alive.
    expect(store.size).toBe(3000);
    expect(buffers(store).size).toBeLessThanOrEqual(2);
    const wrong: string[] = [];
    for (let i = 0; i < n; i += 10) if (!same(await a.read(key(i)), value(i))) wrong.push(key(i));
    expect(wrong).toEqual([]);
    const listed: string[] = [];
    for await (const k of a.list('objects/')) listed.push(k);
    expect(listed.length).toBe(3000);
  });

  it('gives back the space of a key rewritten again and again, between values that stay', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    // 20,000 rewrites of 1 kB (20 MB written, 20 slabs filled) and a small value kept every 100:
    // every slab holds a few live bytes, which would keep its whole megabyte alive.
    for (let i = 0; i < 20_000; i++) {
      await a.write('index.json', value(i, 1000));
      if (i % 100 === 0) await a.write(`keep/${i}`, value(i, 10));
    }
    expect(await a.read('index.json')).toEqual(value(19_999, 1000));
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i += 100) if (!same(await a.read(`keep/${i}`), value(i, 10))) wrong.push(`keep/${i}`);
    expect(wrong).toEqual([]);
    expect(buffers(store).size).toBeLessThanOrEqual(2);
  });

  it('keeps a version across a move, so a compare-and-swap from it still wins', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    const before = (await a.readVersioned!('refs/x')) ?? null;
    expect(before).toBe(null);
    const v1 = (await a.swap!('refs/x', value(1), null))!;
    const slab = store.get('refs/x')!.buffer;
    // Fill the rest of its slab and more, then delete all of that: the slab is compacted and refs/x moves.
    const filler = Array.from({ length: 8000 }, (_, i) => ({ key: key(i), bytes: value(i) }));
    await a.writeMany!(filler);
    await a.deleteMany!(filler.map((e) => e.key));
    expect(store.get('refs/x')!.buffer).not.toBe(slab);
    expect((await a.readVersioned!('refs/x'))!.version).toBe(v1);
    const v2 = await a.swap!('refs/x', value(2), v1);
    expect(v2).not.toBe(null);
    expect(await a.swap!('refs/x', value(3), v1)).toBe(null);
    expect(await a.read('refs/x')).toEqual(value(2));
  });

  it('stays right for values copied, replaced and deleted on the Map directly, by two adapters, and after clear', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    const b = memoryAdapter({ store });
    await a.writeMany!(Array.from({ length: 8000 }, (_, i) => ({ key: key(i), bytes: value(i) })));
    // A test copying a stored view under another key, damaging one in place, replacing one by hand.
    store.set('copy/0', store.get(key(0))!);
    const inPlace = store.get(key(1))!;
    inPlace[0] = inPlace[0]! ^ 0xff;
    store.set(key(2), new Uint8Array([1, 2, 3]));
    await b.deleteMany!(Array.from({ length: 8000 }, (_, i) => key(i)).filter((_, i) => i > 2));
    const damaged = value(1);
    damaged[0] = damaged[0]! ^ 0xff;
    expect(await a.read('copy/0')).toEqual(value(0));
    expect(await b.read(key(0))).toEqual(value(0));
    expect(await a.read(key(1))).toEqual(damaged);
    expect(await a.read(key(2))).toEqual(new Uint8Array([1, 2, 3]));
    store.clear();
    await b.write('k', value(9));
    expect(await a.read('k')).toEqual(value(9));
    expect(store.size).toBe(1);
  });
});
