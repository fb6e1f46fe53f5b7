/**
 * Folding journal segments into an index, deciding from the objects
 * themselves whether each intent took effect.
 *
 * A journal line is written before the object operation it announces, so a
 * line alone does not prove anything: a `put` whose process died before the
 * object write, or a `del` that never reached the object, must not be
 * believed. Objects are the truth, so for every hash the journal touches the
 * fold asks the adapter whether the object exists now, and indexes it when it
 * does. Lines this very handle wrote and saw succeed are trusted without the
 * extra `has` (the common case, and the cheap one).
 *
 * A segment may be deleted once folded only when every line in it is settled
 * (a `put` whose object exists, a `del` whose object is gone). An unsettled
 * line in a young segment may belong to an operation still in flight in
 * another process or tab; deleting the segment would lose its index entry when
 * the object lands, so such a segment is kept for the next fold. Past
 * `graceMs` an unsettled line is void (its writer died or failed), and its
 * segment can go. A writer whose own operation took longer than half the grace
 * writes its lines again afterwards (see `commit-queue.ts`), so a slow writer never
 * loses an entry to an impatient compactor.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import type { IndexRecord } from './index-file.js';
import { decodeSegment, parseSegmentKey, type JournalRecord, type SegmentName } from './journal.js';
import { hasEach } from '../adapter/batch.js';
import { mapLimit } from '../internal/pool.js';
import { JOURNAL_PREFIX, objectKey } from './layout.js';

/** A segment read back from storage. */
export interface LoadedSegment extends SegmentName {
  records: JournalRecord[];
  damaged: number;
  /** The bytes it was decoded from (or written as): the change log keeps them as they are (`change-log.ts`). */
  bytes?: Uint8Array;
}

/** A segment this handle wrote, kept in memory while it exists: its records and bytes. */
export interface KnownSegment {
  records: JournalRecord[];
  bytes?: Uint8Array;
}

/**
 * Reads every journal segment (in time order); a segment that vanished meanwhile is skipped.
 * Segments named in `known` (ones this handle wrote: segments are immutable once written)
 * are taken from it instead of being read and decoded again.
 */
export async function loadSegments(
  adapter: StorageAdapter,
  concurrency: number,
  signal?: AbortSignal,
  known?: ReadonlyMap<string, KnownSegment>,
): Promise<LoadedSegment[]> {
  const names: SegmentName[] = [];
  for await (const key of adapter.list(JOURNAL_PREFIX, { signal })) {
    const name = parseSegmentKey(key);
    if (name) names.push(name);
  }
  names.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const loaded = await mapLimit(
    names,
    concurrency,
    async (name): Promise<LoadedSegment | undefined> => {
      const own = known?.get(name.key);
      if (own) return { ...name, records: own.records, damaged: 0, bytes: own.bytes };
      const bytes = await adapter.read(name.key, { signal });
      return bytes ? { ...name, ...decodeSegment(bytes), bytes } : undefined;
    },
    signal,
  );
  return loaded.filter((s): s is LoadedSegment => s !== undefined);
}

/** Inputs of {@link foldSegments}. */
export interface FoldInput {
  adapter: StorageAdapter;
  /** What the index (the runs, without the journal) holds for each hash, in order. */
  lookup: (hashes: readonly string[]) => Promise<(IndexRecord | undefined)[]>;
  segments: readonly LoadedSegment[];
  /** Segment keys whose lines this handle wrote and saw take effect. */
  completed: ReadonlySet<string>;
  /** This handle's writer id: its own segments are never in flight during a fold (folds are serialised with its writes). */
  ownWriter: string;
  /**
   * Believe the put lines of completed segments without asking the adapter (the
   * cheap path of a routine compaction). Off for rebuilds, which exist because
   * the objects may disagree with what this handle believes.
   */
  trustCompleted: boolean;
  now: number;
  graceMs: number;
  concurrency: number;
  signal?: AbortSignal;
}

/** What the fold changes for one hash: its new record (`null`: no longer indexed) and what the index held before. */
export interface FoldChange {
  rec: IndexRecord | null;
  base: IndexRecord | undefined;
}

/** What {@link foldSegments} gives. */
export interface FoldResult {
  /** Only real changes: a record for a hash the index lacks, `null` for one it holds. */
  changes: Map<string, FoldChange>;
  /** Segments fully settled (or void): safe to delete once `changes` are stored. */
  settled: string[];
  /** Segments kept because a line in them may still take effect. */
  pending: LoadedSegment[];
}

interface Touch {
  put?: { size: number; storedAt: number };
  check: boolean;
  /** A delete line names it: its presence is asked whatever the index holds. */
  del?: boolean;
}

/** Folds `segments` over the index `lookup` reads (see the module comment for the rules); the index itself is not touched. */
export async function foldSegments(input: FoldInput): Promise<FoldResult> {
  const { adapter, segments, completed, signal } = input;
  const touched = new Map<string, Touch>();
  for (const seg of segments) {
    const own = input.trustCompleted && completed.has(seg.key);
    for (const r of seg.records) {
      let t = touched.get(r.hash);
      if (!t) touched.set(r.hash, (t = { check: false }));
      if (r.op === 'put') {
        // The earliest put wins: it is when the object was first stored.
        if (!t.put) t.put = { size: r.size, storedAt: r.storedAt };
        if (!own) t.check = true;
      } else {
        t.check = true; // a delete is always confirmed against the object
        t.del = true;
      }
    }
  }

  const hashes = [...touched.keys()];
  const bases = await input.lookup(hashes);
  // A put line of a hash the index already holds (and no delete line) changes nothing whether or
  // not its object is there, so it is not asked about: with several writers on S3 each fold would
  // otherwise send a HEAD for every line of the others' segments that it has already folded.
  const toCheck = hashes.filter((h, i) => {
    const t = touched.get(h)!;
    return t.check && (t.del || !bases[i]);
  });
  const presence = new Map<string, boolean>();
  const found = await hasEach(adapter, toCheck.map(objectKey), input.concurrency, { signal });
  toCheck.forEach((h, i) => presence.set(h, found[i]!));
  const isPresent = (h: string) => presence.get(h) ?? true;
  const changes = new Map<string, FoldChange>();
  const needSize: string[] = [];
  hashes.forEach((h, i) => {
    const base = bases[i];
    const t = touched.get(h)!;
    if (!isPresent(h)) {
      if (base) changes.set(h, { rec: null, base });
    } else if (!base) {
      if (t.put) changes.set(h, { rec: t.put, base });
      else needSize.push(h);
    }
  });
  // Present objects only named by a delete line (a delete that did not happen): measure them.
  const sizes = await mapLimit(needSize, input.concurrency, (h) => adapter.read(objectKey(h), { signal }), signal);
  needSize.forEach((h, i) => {
    const bytes = sizes[i];
    if (bytes) changes.set(h, { rec: { size: bytes.byteLength, storedAt: Math.floor(input.now) }, base: undefined });
  });

  const settled: string[] = [];
  const pending: LoadedSegment[] = [];
  for (const seg of segments) {
    // This handle's own operations are finished (succeeded or failed) whenever it folds:
    // an object missing behind one of its lines is a failed put or a later removal.
    const young = seg.writer !== input.ownWriter && input.now - seg.time < input.graceMs;
    const unsettled = seg.records.some((r) => (r.op === 'put') !== isPresent(r.hash));
    if (young && unsettled) pending.push(seg);
    else settled.push(seg.key);
  }
  return { changes, settled, pending };
}
