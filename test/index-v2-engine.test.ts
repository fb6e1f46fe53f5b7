/**
 * Index v2's engine against a model (a Map): folds, tiered merges, lookups and
 * the merged listing agree with it after any sequence of changes; the root's
 * totals are exact; every piece a root no longer names is deleted; pieces that
 * lie are CORRUPT_INDEX naming their key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { sha256Hex } from '../src/hash.js';
import type { IndexRecord } from '../src/archive/index-file.js';
import { INDEX_KEY, runPageKey } from '../src/archive/layout.js';
import { Bloom, bloomBits } from '../src/archive/v2/bloom.js';
import { decodeRoot } from '../src/archive/v2/codec.js';
import { EMPTY_ROOT, IndexEngine, levelFor, type Change } from '../src/archive/v2/engine.js';
import { PageCache } from '../src/archive/v2/page-cache.js';
import { RunReader } from '../src/archive/v2/run-reader.js';
import { PAGE_ENTRIES } from '../src/archive/v2/run-writer.js';
import { bytesEqual } from '../src/internal/bytes.js';

const hashOf = (n: number) => sha256Hex(`v${n}`);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** An engine on a fresh store holding an empty root (as a new archive lays down; a fold with no change writes none). */
async function setup(cacheBytes?: number) {
  const store = new Map<string, Uint8Array>();
  let t = 1_700_000_000_000;
  const engine = new IndexEngine({ adapter: memoryAdapter({ store }), concurrency: 4, now: () => t++, graceMs: 0, cacheBytes });
  await engine.commitRoot(EMPTY_ROOT, []);
  return { store, engine };
}

/** Applies `ops` to the model and returns the fold's changes (as the archive's fold computes them). */
async function changesOf(engine: IndexEngine, model: Map<string, IndexRecord>, ops: [number, number | null][]): Promise<Map<string, Change>> {
  const changes = new Map<string, Change>();
  const hashes = [...new Set(ops.map(([n]) => hashOf(n)))];
  const bases = await engine.lookupMany(hashes);
  const last = new Map<string, number | null>();
  for (const [n, size] of ops) last.set(hashOf(n), size);
  hashes.forEach((h, i) => {
    const size = last.get(h)!;
    const base = bases[i];
    expect(base).toEqual(model.get(h));
    if (size === null && base) {
      changes.set(h, { rec: null, base });
      model.delete(h);
    } else if (size !== null && !base) {
      const rec = { size, storedAt: 1000 + size };
      changes.set(h, { rec, base });
      model.set(h, rec);
    }
  });
  return changes;
}

async function expectMatches(engine: IndexEngine, store: Map<string, Uint8Array>, model: Map<string, IndexRecord>) {
  const listed = (await collect(engine.scan())).filter((c) => c.rec);
  expect(listed.map((c) => c.hash)).toEqual([...model.keys()].sort());
  for (const c of listed) expect(c.rec).toEqual(model.get(c.hash));
  const root = decodeRoot(store.get(INDEX_KEY)!);
  expect(root.count).toBe(model.size);
  expect(root.bytes).toBe([...model.values()].reduce((n, r) => n + r.size, 0));
  // Every piece under index/ belongs to a run the root names (graceMs 0: clean-up removes the rest).
  await engine.cleanup();
  const named = new Set(root.runs.map((r) => r.id));
  for (const k of store.keys()) if (k.startsWith('index/')) expect(named.has(k.split('/')[1]!)).toBe(true);
  // A run per level stays under the fan-out.
  const perLevel = new Map<number, number>();
  for (const r of root.runs) perLevel.set(r.level, (perLevel.get(r.level) ?? 0) + 1);
  for (const n of perLevel.values()) expect(n).toBeLessThan(4);
}

describe('index v2 engine', () => {
  it('folds and merges agree with a Map model (lookups, listing, totals)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.option(fc.integer({ min: 1, max: 999 }), { nil: null })), { minLength: 1, maxLength: 40 }), {
          minLength: 1,
          maxLength: 24,
        }),
        async (folds) => {
          const { store, engine } = await setup(4096);
          const model = new Map<string, IndexRecord>();
          for (const ops of folds) {
            await engine.writeFold(await changesOf(engine, model, ops));
            await engine.mergeDue();
          }
          await expectMatches(engine, store, model);
          const probe = Array.from({ length: 301 }, (_, n) => hashOf(n));
          expect(await engine.lookupMany(probe)).toEqual(probe.map((h) => model.get(h)));
        },
      ),
      { numRuns: 40, examples: [[[[[0, null]]]]] },
    );
  });

  it('runs span many pages; range scans give exactly the range', async () => {
    const { store, engine } = await setup();
    const model = new Map<string, IndexRecord>();
    const ops: [number, number][] = Array.from({ length: 3 * PAGE_ENTRIES + 17 }, (_, n) => [n, 1 + (n % 50)]);
    await engine.writeFold(await changesOf(engine, model, ops));
    const root = decodeRoot(store.get(INDEX_KEY)!);
    expect(store.has(runPageKey(root.runs[0]!.id, 3))).toBe(true);
    await expectMatches(engine, store, model);
    const inRange = [...model.keys()].filter((h) => h >= '4' && h < 'a').sort();
    expect((await collect(engine.scan('4', 'a'))).map((c) => c.hash)).toEqual(inRange);
  });

  it('a run read from any hash, inclusive or not, up to any bound: exactly that range, page edges included', async () => {
    const { store, engine } = await setup();
    const model = new Map<string, IndexRecord>();
    await engine.writeFold(await changesOf(engine, model, Array.from({ length: 2 * PAGE_ENTRIES + 5 }, (_, n) => [n, 1 + (n % 7)] as [number, number])));
    const ref = decodeRoot(store.get(INDEX_KEY)!).runs[0]!;
    const reader = new RunReader(memoryAdapter({ store }), ref, new PageCache());
    const all = [...model.keys()].sort();
    const edges = [0, 1, PAGE_ENTRIES - 1, PAGE_ENTRIES, PAGE_ENTRIES + 1, 2 * PAGE_ENTRIES - 1, 2 * PAGE_ENTRIES, all.length - 1];
    const points = ['', ...edges.map((i) => all[i]!), all[PAGE_ENTRIES]!.slice(0, 10), 'g'];
    for (const from of points) {
      for (const inclusive of [true, false]) {
        for (const to of [undefined, all[1]!, all[PAGE_ENTRIES]!, all[2 * PAGE_ENTRIES - 1]!, 'g']) {
          const want = all.filter((h) => (inclusive ? h >= from : h > from) && (to === undefined || h < to));
          const got = (await collect(reader.cells(from, inclusive, to))).map((c) => c.hash);
          expect(got, `${from} ${inclusive} ${to}`).toEqual(want);
        }
      }
    }
  });

  it('replaceAll writes one run at the level its size calls for, with exact totals', async () => {
    const { store, engine } = await setup();
    const cells = Array.from({ length: 5000 }, (_, n) => ({ hash: hashOf(n), rec: { size: n, storedAt: n } })).sort((a, b) => (a.hash < b.hash ? -1 : 1));
    await engine.replaceAll(cells, cells.length, 'ab'.repeat(10));
    const root = decodeRoot(store.get(INDEX_KEY)!);
    expect(root.runs).toHaveLength(1);
    expect(root.runs[0]!.level).toBe(levelFor(5000));
    expect(root).toMatchObject({ count: 5000, oldest: 0, newest: 4999, bytes: (4999 * 5000) / 2 });
  });

  it('a page that lies, a directory that lies, a missing page: CORRUPT_INDEX naming the key', async () => {
    const { store, engine } = await setup();
    const model = new Map<string, IndexRecord>();
    await engine.writeFold(await changesOf(engine, model, Array.from({ length: 50 }, (_, n) => [n, n + 1] as [number, number])));
    const run = decodeRoot(store.get(INDEX_KEY)!).runs[0]!;
    const pageKey = runPageKey(run.id, 0);
    const good = store.get(pageKey)!;
    // Same shape, another size: the digest catches it.
    store.set(pageKey, new TextEncoder().encode(new TextDecoder().decode(good).replace(/,(\d+),/, (_, n: string) => `,${Number(n) + 1},`)));
    engine.cache.clear();
    const fresh = new IndexEngine({ adapter: memoryAdapter({ store }), concurrency: 2, now: Date.now, graceMs: 0 });
    fresh.adopt(decodeRoot(store.get(INDEX_KEY)!), store.get(INDEX_KEY)!);
    await expect(collect(fresh.scan())).rejects.toMatchObject({ code: 'CORRUPT_INDEX', key: pageKey });
    store.delete(pageKey);
    const again = new IndexEngine({ adapter: memoryAdapter({ store }), concurrency: 2, now: Date.now, graceMs: 0 });
    again.adopt(decodeRoot(store.get(INDEX_KEY)!), store.get(INDEX_KEY)!);
    await expect(again.lookupMany([...model.keys()])).rejects.toMatchObject({ code: 'CORRUPT_INDEX', key: pageKey });
    store.set(pageKey, good);
    const dirKey = `index/${run.id}/directory.json`;
    store.set(dirKey, new TextEncoder().encode(new TextDecoder().decode(store.get(dirKey)!).replace('"level":0', '"level":1')));
    const third = new IndexEngine({ adapter: memoryAdapter({ store }), concurrency: 2, now: Date.now, graceMs: 0 });
    third.adopt(decodeRoot(store.get(INDEX_KEY)!), store.get(INDEX_KEY)!);
    await expect(collect(third.scan())).rejects.toMatchObject({ code: 'CORRUPT_INDEX', key: dirKey });
  });

  it('Bloom filter: no false negatives, about 0.06 % false positives at 16 bits and 8 positions per entry', () => {
    const n = 5000;
    const bloom = Bloom.empty(bloomBits(n));
    expect(bloom.bits).toBeGreaterThanOrEqual(16 * n);
    expect(bloom.hashes).toBe(8);
    for (let i = 0; i < n; i++) bloom.add(hashOf(i));
    for (let i = 0; i < n; i++) expect(bloom.mayContain(hashOf(i))).toBe(true);
    // 0.8 % (10 bits, 7 positions, the first v2 builds) made a put at 1M objects read a page for
    // one new hash in twelve; expected here ~29 of 50,000, the bound is 2.5x that.
    let fp = 0;
    for (let i = n; i < n + 50_000; i++) if (bloom.mayContain(hashOf(i))) fp++;
    expect(fp / 50_000).toBeLessThan(0.0015);
  });

  it('Bloom filter: sets exactly the bits docs/format.md names (word k of the hash, modulo bits), at any size', () => {
    // The spelling of the rule, with BigInt: no floating point anywhere.
    const spec = (hashes: string[], bits: number, k: number): Uint8Array => {
      const out = new Uint8Array(bits / 8);
      for (const h of hashes) {
        for (let j = 0; j < k; j++) {
          const p = Number(BigInt(`0x${h.slice(8 * j, 8 * j + 8)}`) % BigInt(bits));
          out[p >>> 3]! |= 1 << (p & 7);
        }
      }
      return out;
    };
    // Words at the edges too: 0, 2^32 - 1, and multiples of bits and one below them.
    const edge = (bits: number) =>
      [0, 0xffffffff, bits, bits - 1, bits * 3, bits * 3 - 1, Math.floor(0xffffffff / bits) * bits, Math.floor(0xffffffff / bits) * bits - 1]
        .filter((w) => w >= 0 && w <= 0xffffffff)
        .map((w) => w.toString(16).padStart(8, '0').repeat(8));
    for (const [bits, k] of [[8, 8], [80, 7], [30_008, 8], [160_000_000, 8], [2 ** 28 + 8, 3]] as const) {
      const hashes = [...Array.from({ length: 300 }, (_, i) => hashOf(i)), ...edge(bits)];
      const bloom = Bloom.empty(bits, k);
      for (const h of hashes) bloom.add(h);
      expect(bytesEqual(bloom.bytes, spec(hashes, bits, k)), `${bits} bits`).toBe(true);
      for (const h of hashes) expect(bloom.mayContain(h)).toBe(true);
    }
  });

  it('Bloom filter: a filter of the first v2 builds (10 bits, 7 positions) is read with the parameters its directory names', () => {
    const n = 3000;
    const old = Bloom.empty(Math.ceil((10 * n) / 8) * 8, 7);
    for (let i = 0; i < n; i++) old.add(hashOf(i));
    const read = new Bloom(old.bytes.slice(), 7);
    for (let i = 0; i < n; i++) expect(read.mayContain(hashOf(i))).toBe(true);
    let fp = 0;
    for (let i = n; i < n + 20_000; i++) if (read.mayContain(hashOf(i))) fp++;
    expect(fp / 20_000).toBeLessThan(0.02);
  });

  it('the page cache stays within its bound, least recently used out first', () => {
    const cache = new PageCache(100);
    const page = { hashes: [], sizes: [], storedAt: [] };
    for (let i = 0; i < 10; i++) cache.set(`p${i}`, page, 30);
    expect(cache.size).toBeLessThanOrEqual(100);
    expect(cache.get('p9')).toBe(page);
    expect(cache.get('p0')).toBeUndefined();
  });
});
