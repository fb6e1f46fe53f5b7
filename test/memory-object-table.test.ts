// The memory adapter's default store keeps the archive's objects in typed arrays
// (adapters/memory/object-table.ts): an open-addressing table with back-shift deletes, one row
// list per folder, values in slabs. These tests hold it to a plain Map as the model, through the
// adapter, for every call and every kind of prefix, and check what goes where.
import { describe, expect, it } from 'vitest';
import { MemoryStore, memoryAdapter } from '../adapters/memory.js';
import { OBJECT_KEY_LENGTH } from '../adapters/memory/object-table.js';
import { SLAB_MAX_VALUE } from '../adapters/memory/slabs.js';
import { bytesEqual } from '../src/internal/bytes.js';
import { mulberry32 } from './support/seeded-random.js';

const hex = (rand: () => number, n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
/** A key in the layout's spelling for a 64-hex hash. */
const objectKey = (h: string) => `objects/${h.slice(0, 2)}/${h.slice(2, 4)}/${h}.json`;
const bytes = (i: number, size = 50 + (i % 200)) => Uint8Array.from({ length: size }, (_, j) => (i * 7 + j) & 0xff);
const same = (x: Uint8Array | undefined, y: Uint8Array | undefined) => x === y || (x !== undefined && y !== undefined && bytesEqual(x, y));

async function listAll(a: ReturnType<typeof memoryAdapter>, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of a.list(prefix)) out.push(k);
  return out.sort();
}

describe('memory adapter MemoryStore (objects in typed arrays)', () => {
  it('keeps exactly the layout-spelled object keys in its table; every other key in its Map', async () => {
    const store = new MemoryStore();
    const a = memoryAdapter({ store });
    const h = 'ab'.padEnd(4, 'cd') + 'e'.repeat(60);
    const keys = {
      table: objectKey(h),
      upper: objectKey(h.toUpperCase()),
      wrongFolder: `objects/ab/ce/${h}.json`,
      shortHash: objectKey(h.slice(0, 63)),
      otherSuffix: `objects/ab/cd/${h}.tmp`,
      plain: 'index/root.json',
    };
    expect(keys.table.length).toBe(OBJECT_KEY_LENGTH);
    for (const [i, k] of Object.values(keys).entries()) await a.write(k, bytes(i));
    expect(store.objects.size).toBe(1);
    expect(store.others.size).toBe(5);
    expect(store.size).toBe(6);
    for (const [i, k] of Object.values(keys).entries()) expect(same(await a.read(k), bytes(i))).toBe(true);
    expect(await listAll(a, 'objects/ab/')).toEqual(Object.values(keys).filter((k) => k.startsWith('objects/ab/')).sort());
  });

  it('matches a Map under random writes, replaces, deletes and reads, through growth and back-shift deletes', async () => {
    const rand = mulberry32(14);
    const store = new MemoryStore();
    const a = memoryAdapter({ store });
    const model = new Map<string, Uint8Array>();
    // Few folders, so rows share folders and probe runs; a few keys the table does not keep.
    const pool = Array.from({ length: 3000 }, (_, i) => (i % 50 === 0 ? `objects/0${i % 3}/x/${i}.json` : objectKey(`0${Math.floor(rand() * 3)}` + hex(rand, 62))));
    for (let step = 0; step < 20_000; step++) {
      const k = pool[Math.floor(rand() * pool.length)]!;
      const r = rand();
      if (r < 0.5) {
        const v = bytes(step, step % 997 === 0 ? SLAB_MAX_VALUE + 1 : step % 499 === 0 ? 0 : undefined);
        await a.write(k, v);
        model.set(k, v);
      } else if (r < 0.8) {
        await a.delete(k);
        model.delete(k);
      } else {
        expect(same(await a.read(k), model.get(k))).toBe(true);
        expect(await a.has(k)).toBe(model.has(k));
      }
    }
    expect(store.size).toBe(model.size);
    for (const k of pool) expect(same(await a.read(k), model.get(k))).toBe(true);
    expect(await listAll(a, '')).toEqual([...model.keys()].sort());
    expect((await a.estimate!()).usage).toBe([...model.values()].reduce((n, v) => n + v.byteLength, 0));
  });

  it('lists by any prefix: whole folders, partial folders, partial hashes, and prefixes nothing can match', async () => {
    const rand = mulberry32(7);
    const a = memoryAdapter({ store: new MemoryStore() });
    const keys = Array.from({ length: 2000 }, () => objectKey(hex(rand, 64)));
    keys.push(objectKey('abcd' + hex(rand, 60)), objectKey('abcd' + hex(rand, 60)), objectKey('abce' + hex(rand, 60)));
    await a.writeMany!(keys.map((key, i) => ({ key, bytes: bytes(i) })));
    await a.write('objects/ab/cd/by-hand.txt', bytes(1));
    const all = [...keys, 'objects/ab/cd/by-hand.txt'];
    const prefixes = ['', 'o', 'objects', 'objects/', 'objects/a', 'objects/ab', 'objects/ab/', 'objects/ab/c', 'objects/ab/cd', 'objects/ab/cd/', 'objects/ab/cd/abc', 'objects/ab/cd/abcd', 'objects/ab/cd/b', 'objects/ab/ce/abce', 'objects/zz/', 'objects/AB/', 'objects/ab-', 'objectsX', 'journal/'];
    for (const p of prefixes) expect(await listAll(a, p), p).toEqual(all.filter((k) => k.startsWith(p)).sort());
  });

  it('gives a new version for every write, so swap sees a replace', async () => {
    const a = memoryAdapter({ store: new MemoryStore() });
    const k = objectKey('12'.repeat(32));
    expect(await a.swap!(k, bytes(1), null)).not.toBeNull();
    const v1 = (await a.readVersioned!(k))!.version;
    await a.write(k, bytes(1));
    const v2 = (await a.readVersioned!(k))!.version;
    expect(v2).not.toBe(v1);
    expect(await a.swap!(k, bytes(2), v1)).toBeNull();
    expect(same(await a.read(k), bytes(1))).toBe(true);
    expect(await a.swap!(k, bytes(3), v2)).not.toBeNull();
    expect(same(await a.read(k), bytes(3))).toBe(true);
  });

  it('gives back the slabs of deleted objects and keeps the survivors intact', async () => {
    const rand = mulberry32(3);
    const store = new MemoryStore();
    const a = memoryAdapter({ store });
    const keys = Array.from({ length: 20_000 }, () => objectKey(hex(rand, 64)));
    await a.writeMany!(keys.map((key, i) => ({ key, bytes: bytes(i, 200) })));
    const full = store.objects.counts.slabs;
    expect(full).toBeGreaterThanOrEqual(4);
    // Delete nine in ten: slabs fall under a quarter live and are compacted into fewer.
    await a.deleteMany!(keys.filter((_, i) => i % 10 !== 0));
    expect(store.objects.counts.compactions).toBeGreaterThan(0);
    expect(store.objects.counts.slabs).toBeLessThan(full);
    for (let i = 0; i < keys.length; i += 10) expect(same(await a.read(keys[i]!), bytes(i, 200))).toBe(true);
    expect(store.size).toBe(2000);
    expect(await listAll(a, 'objects/')).toEqual(keys.filter((_, i) => i % 10 === 0).sort());
  });

  it('is safe against a caller changing bytes after a write or after a read', async () => {
    const a = memoryAdapter({ store: new MemoryStore() });
    const k = objectKey('34'.repeat(32));
    const written = bytes(5);
    await a.write(k, written);
    written.fill(0);
    expect(same(await a.read(k), bytes(5))).toBe(true);
    (await a.read(k))!.fill(9);
    expect(same(await a.read(k), bytes(5))).toBe(true);
  });
});

describe('memory adapter MemoryStore hashing', () => {
  it('spreads keys chosen to share the words a slot is taken from: a lookup still visits a few slots', async () => {
    // 2,000 keys whose words 1 and 6 are equal: a slot taken from those two words alone (seeded or
    // not) puts them all in one probe run, and a lookup then walks half of it on average (~1,000 slots).
    const rand = mulberry32(99);
    const keys = Array.from({ length: 2000 }, () => {
      const w = hex(rand, 64).split('');
      for (let j = 0; j < 8; j++) w[8 + j] = w[48 + j] = '0123abcd'[j]!;
      return objectKey(w.join(''));
    });
    const store = new MemoryStore();
    const a = memoryAdapter({ store });
    await a.writeMany!(keys.map((key, i) => ({ key, bytes: bytes(i) })));
    const before = store.objects.counts.probes;
    for (const [i, k] of keys.entries()) expect(same(await a.read(k), bytes(i))).toBe(true);
    expect((store.objects.counts.probes - before) / keys.length).toBeLessThan(4);
    await a.deleteMany!(keys.slice(0, 1000));
    expect(await listAll(a, '')).toEqual(keys.slice(1000).sort());
  });
});
