/**
 * The writing side of the change log (format.md, "Change log v2"): a fold
 * keeps the journal segments it folded in ONE pack,
 * `changes/<newest>-<oldest>-<writer>-<seq>.pack`, their lines byte for byte
 * (`src/changes/pack.ts`), and trims what is older than the retention, so
 * that a listener of `changes()` that was away finds what happened while it
 * was gone. Reading it is `src/changes/`.
 *
 * One file per fold, not one per segment: on node-fs every file is a temp
 * file and a rename, on S3 a PUT, and a close after 300 single puts folds 300
 * segments. The bytes are the ones the fold already holds, so no line is
 * encoded or hashed again.
 *
 * The log is a convenience beside the data, never the data: a pack that fails
 * leaves the fold to go on (the index already holds the change), and nothing
 * in the archive reads `changes/` to decide what is stored.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { deleteEach } from '../adapter/batch.js';
import { encodePack } from '../changes/pack.js';
import type { JournalRecord } from './journal.js';
import { CHANGES_PREFIX, changeKeyTimes, changePackKey } from './layout.js';

/** At most this many change files (packs and segments) are kept, whatever the retention (a folder of them is listed by every catch-up). */
export const MAX_CHANGE_SEGMENTS = 8_192;

/** A folded segment: its journal key, the time in its name, the records it held and, when known, its stored bytes. */
export interface FoldedSegment {
  key: string;
  time: number;
  records: readonly JournalRecord[];
  bytes?: Uint8Array;
}

/** Who writes a pack: the folding handle's writer id and its next pack number. */
export interface PackWriter {
  writer: string;
  nextSeq(): number;
}

/**
 * Writes the folded `segments` (those with a record, in name order) as one
 * pack, then deletes change files older than `retentionMs` (or beyond
 * {@link MAX_CHANGE_SEGMENTS}, oldest first). Does nothing when `retentionMs`
 * is 0. Never throws: a failure only shortens what a listener can catch up on.
 */
export async function keepFoldedSegments(
  adapter: StorageAdapter,
  segments: readonly FoldedSegment[],
  by: PackWriter,
  now: number,
  retentionMs: number,
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> {
  if (retentionMs <= 0) return;
  const parts = segments.filter((s) => s.records.length > 0).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  try {
    if (parts.length > 0) {
      // Name order is time order: the first part is the oldest, the last the newest.
      const key = changePackKey(parts[parts.length - 1]!.time, parts[0]!.time, by.writer, by.nextSeq());
      await adapter.write(key, encodePack(parts), { signal });
    }
    await trimChangeLog(adapter, now, retentionMs, concurrency, signal);
  } catch {
    // The index holds every change already; a shorter log is all that is lost.
  }
}

/**
 * Deletes change files (packs and segments) whose name's leading time (a
 * pack's newest part) is older than `now - retentionMs`, and the oldest
 * beyond {@link MAX_CHANGE_SEGMENTS}.
 */
export async function trimChangeLog(
  adapter: StorageAdapter,
  now: number,
  retentionMs: number,
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> {
  const files: { key: string; time: number }[] = [];
  for await (const key of adapter.list(CHANGES_PREFIX, { signal })) {
    const times = changeKeyTimes(key);
    if (times) files.push({ key, time: times.newest });
  }
  files.sort((a, b) => a.time - b.time || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const cutoff = now - retentionMs;
  let drop = Math.max(0, files.length - MAX_CHANGE_SEGMENTS);
  while (drop < files.length && files[drop]!.time < cutoff) drop++;
  if (drop > 0) await deleteEach(adapter, files.slice(0, drop).map((f) => f.key), concurrency, { signal });
}
