/**
 * Scanning the objects themselves: the ground truth a rebuild and `verify`
 * start from. A scan reads and hashes every object, a few at a time, and
 * keeps only hashes and sizes (never the bytes) in memory.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { sha256HexAsync } from '../hash.js';
import { forEachLimit } from '../internal/pool.js';
import { TimeSlicer } from '../internal/yield.js';
import { isCanonicalJsonBytes } from './hash-args.js';
import { hashOfObjectKey, OBJECTS_PREFIX } from './layout.js';

/** Called once per object read by a scan, with its size in bytes. */
export type ScanObserver = (bytes: number) => void;

/** What a scan found. */
export interface ScanResult {
  /** hash → size of every object whose bytes hash to its name and are canonical JSON. */
  good: Map<string, number>;
  /** Hashes (or keys, for misnamed files) of damaged objects. */
  corrupt: string[];
  /** The keys of the damaged objects, in the order of `corrupt`. */
  corruptKeys: string[];
}

/** Reads every object once, with `concurrency` reads in flight; an object deleted meanwhile is skipped. */
export async function scanObjects(
  adapter: StorageAdapter,
  concurrency: number,
  signal?: AbortSignal,
  observe?: ScanObserver,
  prefix = OBJECTS_PREFIX,
): Promise<ScanResult> {
  const good = new Map<string, number>();
  const corrupt: string[] = [];
  const corruptKeys: string[] = [];
  // A synchronous backend (memory, SQLite) answers every read in a microtask: without a turn of the
  // event loop now and then, no timer (a progress bar, the abort of a time limit) runs until the scan is done.
  const slice = new TimeSlicer(signal);
  await forEachLimit(
    adapter.list(prefix, { signal }),
    concurrency,
    async (key) => {
      const pause = slice.pause();
      if (pause) await pause;
      const hash = hashOfObjectKey(key);
      const bytes = await adapter.read(key, { signal });
      if (!bytes) return; // deleted meanwhile
      const ok = hash !== undefined && (await sha256HexAsync(bytes)) === hash && isCanonicalJsonBytes(bytes);
      if (ok) good.set(hash, bytes.byteLength);
      else {
        corrupt.push(hash ?? key);
        corruptKeys.push(key);
      }
      observe?.(bytes.byteLength);
    },
    signal,
  );
  return { good, corrupt, corruptKeys };
}

/** True when at least one well-formed object key exists (an archive whose index is gone). */
export async function anyObject(adapter: StorageAdapter, signal?: AbortSignal): Promise<boolean> {
  for await (const key of adapter.list(OBJECTS_PREFIX, { signal })) {
    if (hashOfObjectKey(key)) return true;
  }
  return false;
}

/** One slice of the object space: keys under `prefix`, hashes in [`from`, `to`) (`to` undefined: no upper bound). */
export interface ObjectShard {
  prefix: string;
  from: string;
  to: string | undefined;
}

/**
 * The slices a whole-archive pass (verify, rebuild) walks one at a time, so
 * it holds one slice's hashes in memory, never all of them: the whole object
 * space up to 65,536 objects, 16 slices (first hex digit) up to about a
 * million, else 256 (`objects/<aa>/`). Few slices for a small archive, since
 * a list call costs a round trip (and on some backends a pass over all keys).
 */
export function objectShards(count: number): ObjectShard[] {
  const digits = count <= 65_536 ? 0 : count <= 1_048_576 ? 1 : 2;
  if (digits === 0) return [{ prefix: OBJECTS_PREFIX, from: '', to: undefined }];
  const n = 16 ** digits;
  const hex = (i: number) => i.toString(16).padStart(digits, '0');
  return Array.from({ length: n }, (_, i) => ({
    prefix: OBJECTS_PREFIX + hex(i) + (digits === 2 ? '/' : ''),
    from: hex(i),
    to: i + 1 < n ? hex(i + 1) : undefined,
  }));
}

/** Object keys listed (not read): sizes a rebuild's Bloom filter and picks its slices. */
export async function countObjects(adapter: StorageAdapter, signal?: AbortSignal): Promise<number> {
  let n = 0;
  for await (const key of adapter.list(OBJECTS_PREFIX, { signal })) if (hashOfObjectKey(key)) n++;
  return n;
}
