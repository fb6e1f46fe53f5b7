/**
 * Lookups in runs of more than one page (2,048 entries a page): a hash on any
 * page is found, so a delete of it is indexed and a put of it is known. Until
 * this test, a lookup only ever looked at a run's first page (its binary
 * search over the directory was given a length of 0): deletes of hashes on
 * later pages left them listed with their objects gone.
 */
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { openArchive } from '../src/archive/index.js';

async function listed(archive: { list(): AsyncIterable<string> }): Promise<string[]> {
  const out: string[] = [];
  for await (const h of archive.list()) out.push(h);
  return out;
}

describe('index runs of several pages', () => {
  it('finds, deletes and re-puts hashes on every page of a run', async () => {
    const store = new Map<string, Uint8Array>();
    const values = Array.from({ length: 5000 }, (_, k) => ({ k }));
    const first = await openArchive(memoryAdapter({ store }));
    const hashes = await first.putMany(values);
    await first.close(); // one run of three pages
    const sorted = [...hashes].sort();
    const onPages = [sorted[10]!, sorted[2500]!, sorted[4990]!]; // pages 0, 1 and 2
    const second = await openArchive(memoryAdapter({ store }));
    for (const h of onPages) await second.delete(h);
    expect((await second.stats()).count).toBe(4997);
    await second.close();
    const third = await openArchive(memoryAdapter({ store }), { autoRepairIndex: false });
    expect((await third.stats()).count).toBe(4997);
    const left = new Set(await listed(third));
    for (const h of onPages) expect(left.has(h)).toBe(false);
    expect(left.size).toBe(4997);
    const report = await third.verify();
    expect([report.corrupt, report.orphaned, report.missing]).toEqual([[], [], []]);
    // A value already indexed on a later page keeps its first stored time when put again.
    const before = new Map<string, number>();
    for await (const e of third.entries()) before.set(e.hash, e.storedAt);
    await third.putMany([values[hashes.indexOf(sorted[4000]!)]!]);
    await third.close();
    const fourth = await openArchive(memoryAdapter({ store }), { autoRepairIndex: false });
    const after = new Map<string, number>();
    for await (const e of fourth.entries()) after.set(e.hash, e.storedAt);
    expect(after.get(sorted[4000]!)).toBe(before.get(sorted[4000]!));
    expect(after.size).toBe(4997);
    await fourth.close();
  });
});
