/**
 * Rebuilding the index from the objects (a lost or damaged index, `verify({
 * repair })`, `rebuildIndex()`): every object read and hashed, slice by slice
 * (see `objectShards`), and the good ones written as one new run in hash
 * order, keeping the stored time the old index had where it can still be read.
 * Memory holds one slice's hashes, not the archive's.
 *
 * @module
 */
import { CorruptIndexError } from '../errors.js';
import { randomHex } from '../internal/random-id.js';
import type { Cell } from './v2/codec.js';
import type { IndexEngine } from './v2/engine.js';
import { countObjects, objectShards, scanObjects, type ScanObserver } from './scan.js';
import type { ArchiveSettings } from './settings.js';

/** What a rebuild found. */
export interface RebuildResult {
  /** Good objects indexed. */
  count: number;
  /** Hashes (or keys) of damaged objects, left out. */
  corrupt: string[];
  corruptKeys: string[];
}

/** Replaces the engine's index by what the objects say. Call under the index lock. */
export async function rebuildFromObjects(
  settings: ArchiveSettings,
  engine: IndexEngine,
  signal?: AbortSignal,
  observe?: ScanObserver,
): Promise<RebuildResult> {
  const { adapter, concurrency } = settings;
  const total = await countObjects(adapter, signal);
  const storedAt = Math.floor(settings.now());
  const result: RebuildResult = { count: 0, corrupt: [], corruptKeys: [] };
  async function* cells(): AsyncGenerator<Cell> {
    for (const shard of objectShards(total)) {
      const scan = await scanObjects(adapter, concurrency, signal, observe, shard.prefix);
      result.corrupt.push(...scan.corrupt);
      result.corruptKeys.push(...scan.corruptKeys);
      const hashes = [...scan.good.keys()].sort();
      // The old index may be the very thing that is damaged: then the stored times start over.
      const old = await engine.lookupMany(hashes, signal).catch((e: unknown) => {
        if (e instanceof CorruptIndexError) return [];
        throw e;
      });
      for (let i = 0; i < hashes.length; i++) {
        result.count++;
        yield { hash: hashes[i]!, rec: { size: scan.good.get(hashes[i]!)!, storedAt: old[i]?.storedAt ?? storedAt } };
      }
    }
  }
  await engine.replaceAll(cells(), total, randomHex(16), signal);
  return result;
}
