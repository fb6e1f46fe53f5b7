/**
 * The index as stored, without a handle: the root and its runs, merged. For
 * tools and tests that check what an archive left behind (its journal is not
 * included; after `close()` there is none).
 *
 * @module
 */
import type { StorageAdapter } from '../../adapter/contract.js';
import { CorruptIndexError } from '../../errors.js';
import type { IndexEntry } from '../types.js';
import { INDEX_KEY, objectKey } from '../layout.js';
import { decodeRoot, type Root } from './codec.js';
import { IndexEngine } from './engine.js';

/** The v2 root stored on `adapter` (CORRUPT_INDEX when it is missing or not a v2 root). */
export async function readStoredRoot(adapter: StorageAdapter, signal?: AbortSignal): Promise<Root> {
  const bytes = await adapter.read(INDEX_KEY, { signal });
  if (!bytes) throw new CorruptIndexError(INDEX_KEY, `${INDEX_KEY} is missing`);
  return decodeRoot(bytes);
}

/** Every live entry of the stored v2 index, in hash order, every piece checked. */
export async function* storedEntries(adapter: StorageAdapter, signal?: AbortSignal): AsyncGenerator<IndexEntry> {
  const engine = new IndexEngine({ adapter, concurrency: 4, now: Date.now, graceMs: Infinity });
  const bytes = await adapter.read(INDEX_KEY, { signal });
  if (!bytes) throw new CorruptIndexError(INDEX_KEY, `${INDEX_KEY} is missing`);
  engine.adopt(decodeRoot(bytes), bytes);
  for await (const c of engine.scan('', undefined, signal)) {
    if (c.rec) yield { hash: c.hash, path: objectKey(c.hash), size: c.rec.size, storedAt: c.rec.storedAt };
  }
}
