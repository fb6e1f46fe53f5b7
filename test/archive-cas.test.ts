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
