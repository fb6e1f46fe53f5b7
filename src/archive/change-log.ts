/**
 * The writing side of the change log (format.md, "Change log v1"): a fold
 * keeps the journal segments it folded under `changes/<same name>`, and trims
 * what is older than the retention, so that a listener of `changes()` that was
 * away finds what happened while it was gone. Reading it is `src/changes/`.
 *
 * The log is a convenience beside the data, never the data: a copy that fails
 * leaves the fold to go on (the index already holds the change), and nothing
 * in the archive reads `changes/` to decide what is stored.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { deleteEach, writeBatch } from '../adapter/batch.js';
import { encodeSegment, type JournalRecord } from './journal.js';
import { CHANGE_KEY_PATTERN, CHANGES_PREFIX, changeKeyOfSegment } from './layout.js';

/** At most this many change segments are kept, whatever the retention (a folder of them is listed by every catch-up). */
export const MAX_CHANGE_SEGMENTS = 8_192;

/** A folded segment: its journal key and the records it held. */
export interface FoldedSegment {
  key: string;
  records: readonly JournalRecord[];
}

/**
 * Copies folded `segments` into the change log, then deletes change segments
 * older than `retentionMs` (or beyond {@link MAX_CHANGE_SEGMENTS}, oldest
 * first). Does nothing when `retentionMs` is 0. Never throws: a failure only
 * shortens what a listener can catch up on.
 */
export async function keepFoldedSegments(
  adapter: StorageAdapter,
  segments: readonly FoldedSegment[],
  now: number,
  retentionMs: number,
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> {
  if (retentionMs <= 0) return;
  const copies = segments.filter((s) => s.records.length > 0).map((s) => ({ key: changeKeyOfSegment(s.key), bytes: encodeSegment(s.records) }));
  try {
    if (copies.length > 0) await writeBatch(adapter, copies, { signal });
    await trimChangeLog(adapter, now, retentionMs, concurrency, signal);
  } catch {
    // The index holds every change already; a shorter log is all that is lost.
  }
}

/** Deletes change segments named older than `now - retentionMs`, and the oldest beyond {@link MAX_CHANGE_SEGMENTS}. */
export async function trimChangeLog(
  adapter: StorageAdapter,
  now: number,
  retentionMs: number,
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> {
  const keys: string[] = [];
  for await (const key of adapter.list(CHANGES_PREFIX, { signal })) if (CHANGE_KEY_PATTERN.test(key)) keys.push(key);
  keys.sort();
  const cutoff = now - retentionMs;
  let drop = Math.max(0, keys.length - MAX_CHANGE_SEGMENTS);
  while (drop < keys.length && Number(CHANGE_KEY_PATTERN.exec(keys[drop]!)![1]) < cutoff) drop++;
  if (drop > 0) await deleteEach(adapter, keys.slice(0, drop), concurrency, { signal });
}
