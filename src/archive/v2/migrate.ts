/**
 * Migration from index v1 (docs/format.md, "Migration from v1"): the entries
 * of a v1 `index.json` written as one run, in hash order, then the v2 root put
 * over `index.json` with the adapter's atomic write. A kill before the root
 * lands leaves the v1 document (and maybe unreferenced pieces, removed by a
 * later clean-up); after, the v2 root with its run. Never neither.
 *
 * @module
 */
import { sha256Hex } from '../../hash.js';
import type { IndexRecord } from '../index-file.js';
import type { IndexEngine } from './engine.js';

/** Writes `entries` (a decoded v1 index whose bytes were `raw`) as the v2 index. Call under the index lock. */
export async function migrateV1(engine: IndexEngine, entries: ReadonlyMap<string, IndexRecord>, raw: Uint8Array, signal?: AbortSignal): Promise<void> {
  const hashes = [...entries.keys()].sort();
  // The run id's digest is the v1 document's: a retried migration of the same document writes the same pieces.
  await engine.replaceAll(
    hashes.map((hash) => ({ hash, rec: entries.get(hash)! })),
    hashes.length,
    sha256Hex(raw),
    signal,
  );
}
