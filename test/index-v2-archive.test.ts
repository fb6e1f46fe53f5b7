/**
 * Index v2 through the archive: migration from v1 (entries and stored times
 * kept), pieces that are torn, missing or lying (CORRUPT_INDEX naming the
 * key; rebuilt from the objects with autoRepairIndex), two handles on one
 * store compacting at once, and a handle that holds only what it must.
 */
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { encodeIndex, type IndexRecord } from '../src/archive/index-file.js';
import { openArchive } from '../src/archive/index.js';
import { INDEX_KEY, objectKey, runDirectoryKey, runPageKey } from '../src/archive/layout.js';
import { decodeRoot } from '../src/archive/v2/codec.js';
import { storedEntries } from '../src/archive/v2/stored.js';
import { canonicalBytes } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const values = (n: number, tag = 'v') => Array.from({ length: n }, (_, i) => ({ tag, i, pad: 'z'.repeat(i % 13) }));

/** A store holding a v1 archive of `n` objects, as 0.1 left it. */
function v1Store(n: number): { store: Map<string, Uint8Array>; entries: Map<string, IndexRecord> } {
  const store = new Map<string, Uint8Array>();
  const entries = new Map<string, IndexRecord>();
  values(n, 'old').forEach((v, i) => {
    const bytes = canonicalBytes(v);
    const hash = sha256Hex(bytes);
    store.set(objectKey(hash), bytes);
    entries.set(hash, { size: bytes.byteLength, storedAt: 1_600_000_000_000 + i });
  });
  store.set(INDEX_KEY, encodeIndex(entries));
  return { store, entries };
}

/** A closed archive with several runs (compactAfter 2: a fold every two puts). */
async function manyRuns(store = new Map<string, Uint8Array>()) {
  const archive = await openArchive(memoryAdapter({ store }), { compactAfter: 2, pendingGraceMs: 0 });
  const hashes: string[] = [];
  for (const v of values(60)) hashes.push(await archive.put(v));
  await archive.close();
  return { store, hashes: hashes.sort(), root: decodeRoot(store.get(INDEX_KEY)!) };
}

describe('index v2 in the archive', () => {
  it('a v1 archive is migrated on open: same entries and stored times, a v2 root, the v1 document gone', async () => {
    const { store, entries } = v1Store(5000);
    const archive = await openArchive(memoryAdapter({ store }), { autoRepairIndex: false });
    const root = decodeRoot(store.get(INDEX_KEY)!);
    expect(root).toMatchObject({ count: 5000, oldest: 1_600_000_000_000, newest: 1_600_000_004_999 });
    const listed = await collect(archive.entries());
    expect(listed.map((e) => e.hash)).toEqual([...entries.keys()].sort());
    for (const e of listed) expect({ size: e.size, storedAt: e.storedAt }).toEqual(entries.get(e.hash));
    expect((await archive.stats()).count).toBe(5000);
    const more = await archive.putMany(values(10, 'new'));
    await archive.close();
    expect((await collect(storedEntries(memoryAdapter({ store })))).length).toBe(5010);
    expect(more.every((h) => store.has(objectKey(h)))).toBe(true);
    expect((await (await openArchive(memoryAdapter({ store }))).verify()).ok).toBe(true);
  });

  it('a lying page: CORRUPT_INDEX naming it without auto-repair; rebuilt from the objects with it', async () => {
    const { store, hashes, root } = await manyRuns();
    expect(root.runs.length).toBeGreaterThan(1);
    const run = root.runs[root.runs.length - 1]!;
    const key = runPageKey(run.id, 0);
    // Same shape, a different size: only the digest can tell.
    store.set(key, enc.encode(dec.decode(store.get(key)!).replace(/,(\d+),/, (_, n: string) => `,${Number(n) + 7},`)));
    const strict = await openArchive(memoryAdapter({ store }), { autoRepairIndex: false });
    await expect(collect(strict.list())).rejects.toMatchObject({ code: 'CORRUPT_INDEX', key });
    await expect(strict.put(values(60)[0])).rejects.toMatchObject({ code: 'CORRUPT_INDEX' });
    await strict.rebuildIndex();
    expect(await collect(strict.list())).toEqual(hashes);
    await strict.close();
    // verify finds the damage too: with auto-repair it rebuilds the index and checks again; with repair as well.
    const verifying = await openArchive(memoryAdapter({ store }));
    await verifying.close();
    const reroot = decodeRoot(store.get(INDEX_KEY)!);
    const lyingKey = runPageKey(reroot.runs[0]!.id, 0);
    store.set(lyingKey, enc.encode(dec.decode(store.get(lyingKey)!).replace(/,(\d+),/, (_, n: string) => `,${Number(n) + 1},`)));
    const v = await openArchive(memoryAdapter({ store }));
    expect(await v.verify()).toMatchObject({ ok: true, checked: 60 });
    expect(await collect(v.list())).toEqual(hashes);
    await v.close();
    const strictVerify = await openArchive(memoryAdapter({ store }), { autoRepairIndex: false });
    const r2 = decodeRoot(store.get(INDEX_KEY)!);
    const k2 = runPageKey(r2.runs[0]!.id, 0);
    store.set(k2, enc.encode(dec.decode(store.get(k2)!).replace(/,(\d+),/, (_, n: string) => `,${Number(n) + 1},`)));
    await expect(strictVerify.verify()).rejects.toMatchObject({ code: 'CORRUPT_INDEX', key: k2 });
    expect(await strictVerify.verify({ repair: true })).toMatchObject({ ok: true });
    expect(await collect(strictVerify.list())).toEqual(hashes);
    await strictVerify.close();
    const r3 = decodeRoot(store.get(INDEX_KEY)!);
    store.set(runPageKey(r3.runs[0]!.id, 0), enc.encode('{"entries":[],"version":2}'));
    const healing = await openArchive(memoryAdapter({ store }));
    expect(await collect(healing.list())).toEqual(hashes);
    expect((await healing.verify()).ok).toBe(true);
  });

  it('a missing page, directory or filter, and a torn directory, are rebuilt with auto-repair', async () => {
    for (const damage of ['page', 'directory', 'bloom', 'torn'] as const) {
      const { store, hashes, root } = await manyRuns();
      const id = root.runs[0]!.id;
      if (damage === 'page') store.delete(runPageKey(id, 0));
      if (damage === 'directory') store.delete(runDirectoryKey(id));
      if (damage === 'bloom') store.delete(`index/${id}/bloom.bin`);
      if (damage === 'torn') store.set(runDirectoryKey(id), store.get(runDirectoryKey(id))!.slice(0, 20));
      const archive = await openArchive(memoryAdapter({ store }));
      expect(await collect(archive.list()), damage).toEqual(hashes);
      expect((await archive.stats()).count, damage).toBe(60);
      // put asks the index: it goes through the same repair
      await archive.put({ after: damage });
      expect((await archive.verify()).ok, damage).toBe(true);
      await archive.close();
      for (const k of store.keys()) if (k.startsWith('index/')) expect(store.get(k)!.byteLength).toBeGreaterThan(0);
    }
  });

  it('a torn root is rebuilt on open (and counted as empty without auto-repair)', async () => {
    const { store, hashes } = await manyRuns();
    store.set(INDEX_KEY, enc.encode('{"format":"archive-storage/index","runs":[{"id":"nope"}],"version":2}'));
    const strict = await openArchive(memoryAdapter({ store }), { autoRepairIndex: false });
    expect((await strict.stats()).count).toBe(0);
    const healed = await openArchive(memoryAdapter({ store }));
    expect(await collect(healed.list())).toEqual(hashes);
  });

  it('two handles on one memory store compacting at once lose no entry', async () => {
    const store = new Map<string, Uint8Array>();
    const a = await openArchive(memoryAdapter({ store }), { compactAfter: 3 });
    const b = await openArchive(memoryAdapter({ store }), { compactAfter: 3 });
    const run = async (archive: typeof a, tag: string) => {
      const out: string[] = [];
      for (let i = 0; i < 30; i++) {
        if (i % 3 === 0) out.push(...(await archive.putMany(values(5, `${tag}${i}`))));
        else out.push(await archive.put({ tag, i }));
      }
      return out;
    };
    const [ha, hb] = await Promise.all([run(a, 'a'), run(b, 'b')]);
    await Promise.all([a.close(), b.close()]);
    const expected = [...new Set([...ha, ...hb])].sort();
    expect((await collect(storedEntries(memoryAdapter({ store })))).map((e) => e.hash)).toEqual(expected);
    const c = await openArchive(memoryAdapter({ store }));
    expect(await collect(c.list())).toEqual(expected);
    expect((await c.stats()).count).toBe(expected.length);
    expect((await c.verify()).ok).toBe(true);
  });

  it('deletes leave tombstones that merges drop; stats stay exact', async () => {
    const store = new Map<string, Uint8Array>();
    const archive = await openArchive(memoryAdapter({ store }), { compactAfter: 1, pendingGraceMs: 0 });
    const hashes = await archive.putMany(values(40));
    for (const h of hashes.slice(0, 25)) await archive.delete(h);
    expect((await archive.stats()).count).toBe(15);
    await archive.close();
    const root = decodeRoot(store.get(INDEX_KEY)!);
    expect(root.count).toBe(15);
    expect(root.bytes).toBe(hashes.slice(25).reduce((n, h) => n + store.get(objectKey(h))!.byteLength, 0));
    expect((await collect(storedEntries(memoryAdapter({ store })))).map((e) => e.hash)).toEqual(hashes.slice(25).sort());
  });

  it('opening reads the root and the journal only', async () => {
    const { store } = await manyRuns();
    const reads: string[] = [];
    const inner = memoryAdapter({ store });
    const spy = { ...inner, read: (k: string, o?: { signal?: AbortSignal }) => (reads.push(k), inner.read(k, o)) };
    const archive = await openArchive(spy as typeof inner);
    expect(reads.filter((k) => k.startsWith('index/'))).toEqual([]);
    expect((await archive.stats()).count).toBe(60);
    expect(reads.filter((k) => k.startsWith('index/'))).toEqual([]);
  });
});
