/**
 * Two reads of one handle meet the same index piece gone (another handle
 * merged its run away and moved the root): the first to read the root again
 * adopts the new one, and the second must go on from it too, not take the
 * piece for damage (with auto-repair off that was a CORRUPT_INDEX; with it
 * on, a rebuild of the whole index from the objects).
 */
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { openArchive } from '../src/archive/index.js';

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const h of it) out.push(h);
  return out;
}

describe('a root moved under concurrent reads of one handle', () => {
  it('every read goes on from the new root', async () => {
    const store = new Map<string, Uint8Array>();
    const writer = await openArchive(memoryAdapter({ store }), { compactAfter: 1 });
    const hashes: string[] = [];
    for (let i = 0; i < 6; i++) hashes.push(...(await writer.putMany(Array.from({ length: 3000 }, (_, k) => ({ i, k })))));
    await writer.close();
    // The reader adopts this root (several runs) without reading any page yet.
    const reader = await openArchive(memoryAdapter({ store }), { autoRepairIndex: false });
    const named = JSON.parse(new TextDecoder().decode(store.get('index.json'))) as { runs: { id: string }[] };
    // Another handle folds more batches: its merges take the level-0 runs the reader's root names and delete their pieces.
    const merger = await openArchive(memoryAdapter({ store }), { compactAfter: 1 });
    for (let i = 6; i < 12; i++) hashes.push(...(await merger.putMany(Array.from({ length: 3000 }, (_, k) => ({ i, k })))));
    await merger.close();
    const gone = named.runs.filter((r) => !store.has(`index/${r.id}/directory.json`));
    expect(gone.length).toBeGreaterThan(0);
    const listings = await Promise.all([collect(reader.list()), collect(reader.list()), collect(reader.list())]);
    for (const l of listings) expect(l).toEqual([...new Set(hashes)].sort());
    await reader.close();
  });
});
