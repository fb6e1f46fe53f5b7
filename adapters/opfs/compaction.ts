/**
 * The OPFS engine's compaction policy and its copy step: which segments are
 * worth rewriting, when that pays, and the live records to copy out of them.
 *
 * @module
 */
import { RecordType, type RecordInput } from './format.js';
import type { KeyIndex } from './key-index.js';
import type { Segment } from './segment.js';

/** Segments smaller than this are always worth merging. */
const SMALL_SEGMENT_BYTES = 1024 * 1024;
/** Bytes of live records copied per batch of a compaction. */
const COPY_BATCH_BYTES = 16 * 1024 * 1024;

/**
 * Segments a compaction would rewrite. `all`: every complete one (and our
 * active one, which it seals). Otherwise only those worth it: small ones
 * (the main-thread engine writes one file per batch), mostly-garbage ones,
 * and damaged ones; a big segment that is mostly live is left alone, so
 * compaction never keeps rewriting the same data as the archive grows.
 */
export function compactionCandidates(segments: Iterable<Segment>, active: Segment | undefined, all: boolean): Set<Segment> {
  const out = new Set<Segment>();
  for (const seg of segments) {
    const ownActive = active === seg;
    if (!(seg.sealed || seg.broken || ownActive)) continue; // other writers' growing segments are theirs
    const worth = seg.broken || (!ownActive && seg.totalBytes < SMALL_SEGMENT_BYTES) || seg.liveBytes * 2 < seg.totalBytes;
    if (all || worth) out.add(seg);
  }
  return out;
}

/** True when compacting `candidates` would pay for itself: enough garbage, or many small files. */
export function worthCompacting(candidates: Iterable<Segment>, limits: { garbageBytes: number; segments: number }): boolean {
  let garbage = 0;
  let small = 0;
  for (const seg of candidates) {
    garbage += seg.totalBytes - seg.liveBytes;
    if (seg.totalBytes < SMALL_SEGMENT_BYTES) small++;
  }
  return garbage >= limits.garbageBytes || small >= limits.segments;
}

/**
 * The live records held in `candidates`, in batches of about 16 MiB, with
 * their original stamps (so every tab resolves the copies as it did the
 * originals). Tombstones are copied too: an older put may live in a segment
 * another tab is still writing.
 */
export async function* liveRecords(
  index: KeyIndex,
  candidates: ReadonlySet<Segment>,
  read: (seg: Segment, offset: number, length: number) => Promise<Uint8Array>,
): AsyncGenerator<RecordInput[]> {
  let batch: RecordInput[] = [];
  let batchBytes = 0;
  for (const [key, state] of index.entries()) {
    for (const part of state.parts) {
      if (!candidates.has(part.seg)) continue;
      const value = await read(part.seg, part.offset, part.length);
      batch.push({ type: part.append ? RecordType.Append : RecordType.Put, key, value, stamp: part.stamp, tag: part.tag });
      batchBytes += value.byteLength + key.length;
    }
    if (state.tomb && candidates.has(state.tomb.seg)) {
      batch.push({ type: RecordType.Delete, key, stamp: state.stamp, tag: state.tag });
      batchBytes += key.length;
    }
    if (batchBytes >= COPY_BATCH_BYTES) {
      yield batch;
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length > 0) yield batch;
}
