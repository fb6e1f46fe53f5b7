/**
 * Several writers on one store with no lock, only compare-and-swap of the
 * index root (what S3 gives): each writer its own archive handle on a shared
 * memory store whose adapter hides its lock, compaction forced often, all
 * writing at once. Every acknowledged hash must be listed afterwards and
 * `verify` must be clean. The same run on a store with neither lock nor swap
 * must lose entries (the property the test guards can fail). The real-S3
 * version of this, four processes on radosgw, is test/s3-multiwriter.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { openArchive } from '../src/archive/index.js';

/** The memory adapter as a lock-less backend: with `swap` (like S3 with conditional writes) or without (like a lenient S3). */
function lockless(store: Map<string, Uint8Array>, swap: boolean): StorageAdapter {
  const a = memoryAdapter({ store });
  const view: StorageAdapter = { ...a, capabilities: { ...a.capabilities, locking: false, compareAndSwap: swap } };
  delete (view as { lock?: unknown }).lock;
  if (!swap) {
    delete (view as { swap?: unknown }).swap;
    delete (view as { readVersioned?: unknown }).readVersioned;
  }
  // Let other writers run between the steps of each one (a network would): reads and writes yield a macrotask.
  const tick = () => new Promise((r) => setTimeout(r, Math.random() * 2));
  for (const call of ['read', 'write', 'has', 'readVersioned', 'swap', 'delete'] as const) {
    const f = (view as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>)[call];
    if (f) (view as unknown as Record<string, unknown>)[call] = async (...args: unknown[]) => (await tick(), f(...args));
  }
  return view;
}

async function race(swap: boolean, writers = 4, perWriter = 200): Promise<{ acknowledged: Set<string>; listed: Set<string>; problems: number }> {
  const store = new Map<string, Uint8Array>();
  const acknowledged = new Set<string>();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const archive = await openArchive(lockless(store, swap), { compactAfter: 2 });
      for (let i = 0; i < perWriter; i += 25) {
        const values = Array.from({ length: 25 }, (_, k) => ({ writer: w, n: i + k }));
        for (const h of await archive.putMany(values)) acknowledged.add(h);
      }
      await archive.close();
    }),
  );
  const reader = await openArchive(memoryAdapter({ store }));
  const listed = new Set<string>();
  for await (const h of reader.list()) listed.add(h);
  const report = await reader.verify();
  await reader.close();
  const problems = report.corrupt.length + report.orphaned.length + report.missing.length;
  return { acknowledged, listed, problems };
}

describe('writers sharing a store by compare-and-swap of the root', () => {
  it('lose no entry: every acknowledged hash is listed, verify is clean', async () => {
    for (let round = 0; round < 2; round++) {
      const { acknowledged, listed, problems } = await race(true);
      expect(acknowledged.size).toBe(4 * 200);
      expect([...acknowledged].filter((h) => !listed.has(h))).toEqual([]);
      expect(listed.size).toBe(acknowledged.size);
      expect(problems).toBe(0);
    }
  });

  it('without the swap the same race loses entries (so the test above can fail)', async () => {
    let lost = 0;
    for (let round = 0; round < 3 && lost === 0; round++) {
      const { acknowledged, listed } = await race(false);
      lost = [...acknowledged].filter((h) => !listed.has(h)).length;
    }
    expect(lost).toBeGreaterThan(0);
  });
});

describe('write-once pieces on a store without a lock', () => {
  /** A lock-less swapping store that counts how objects and index pieces are written. */
  function counted(store: Map<string, Uint8Array>, onCreate?: (key: string, bytes: Uint8Array) => void) {
    // Like S3: no lock, no all-or-nothing batch, so puts take the segment-then-objects path.
    const view = lockless(store, true);
    Object.assign(view, { capabilities: { ...view.capabilities, atomicBatch: false, batchHeadFirst: false } });
    const calls = { create: new Map<string, number>(), write: new Map<string, number>() };
    const area = (key: string) => key.split('/', 1)[0]!;
    const bump = (m: Map<string, number>, key: string) => m.set(area(key), (m.get(area(key)) ?? 0) + 1);
    const { create, write } = view;
    view.create = async (key, bytes, options) => {
      bump(calls.create, key);
      onCreate?.(key, bytes);
      return create!.call(view, key, bytes, options);
    };
    view.write = async (key, bytes, options) => {
      bump(calls.write, key);
      return write.call(view, key, bytes, options);
    };
    return { view, calls };
  }

  it('objects and run pieces are created (If-None-Match: * on S3), never written over', async () => {
    const store = new Map<string, Uint8Array>();
    const { view, calls } = counted(store);
    const archive = await openArchive(view, { compactAfter: 2 });
    for (let i = 0; i < 6; i++) await archive.putMany(Array.from({ length: 20 }, (_, k) => ({ i, k })));
    await archive.close();
    expect(calls.create.get('objects')).toBe(120);
    expect(calls.create.get('index')).toBeGreaterThan(0);
    expect(calls.write.get('objects') ?? 0).toBe(0);
    expect(calls.write.get('index') ?? 0).toBe(0);
  });

  it('a piece another writer already stored is kept when its bytes are ours, replaced when they are not', async () => {
    const store = new Map<string, Uint8Array>();
    let n = 0;
    const planted = { same: 0, other: 0 };
    // Before every second piece is created, "another writer" has stored it: alternately the same bytes, or others.
    const { view } = counted(store, (key, bytes) => {
      if (!key.startsWith('index/') || n++ % 2 === 0) return;
      const same = n % 4 === 2;
      planted[same ? 'same' : 'other']++;
      store.set(key, same ? new Uint8Array(bytes) : new TextEncoder().encode('not this run'));
    });
    const archive = await openArchive(view, { compactAfter: 2 });
    const hashes: string[] = [];
    for (let i = 0; i < 6; i++) hashes.push(...(await archive.putMany(Array.from({ length: 20 }, (_, k) => ({ i, k })))));
    await archive.close();
    expect(planted.same).toBeGreaterThan(1);
    expect(planted.other).toBeGreaterThan(1);
    const reader = await openArchive(memoryAdapter({ store }), { autoRepairIndex: false });
    const listed: string[] = [];
    for await (const h of reader.list()) listed.push(h);
    expect(listed.sort()).toEqual([...new Set(hashes)].sort());
    const report = await reader.verify();
    expect([report.corrupt, report.orphaned, report.missing]).toEqual([[], [], []]);
    await reader.close();
  });
});
