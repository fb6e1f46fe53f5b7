/**
 * The index one archive handle keeps, and what keeps it bounded.
 *
 * The handle's index is `index.json` (see `index-file.ts`) plus the journal
 * segments not yet folded into it (see `journal.ts`, `fold.ts`) plus its own
 * changes. `index.json` is rewritten only at compaction, which runs when the
 * journal has grown to a fraction of the index (so its cost per put stays
 * constant as the archive grows), under the adapter's cross-process lock. A
 * lost or torn `index.json` is rebuilt from the objects.
 *
 * Every write, compaction and maintenance step of one handle runs through
 * {@link IndexState.serialised}, one at a time.
 *
 * @module
 */
import { deleteEach } from '../adapter/batch.js';
import { throwIfAborted } from '../errors.js';
import { KeyedMutex } from '../internal/mutex.js';
import { randomId } from '../internal/random-id.js';
import { foldSegments, loadSegments, type LoadedSegment } from './fold.js';
import { decodeIndex, encodeIndex, TornIndex, type IndexRecord } from './index-file.js';
import { encodeSegment, type JournalRecord } from './journal.js';
import { INDEX_KEY, INDEX_LOCK, segmentKey } from './layout.js';
import { anyObject, scanObjects, type ScanObserver, type ScanResult } from './scan.js';
import type { ArchiveSettings } from './settings.js';

/** Length of a handle's writer id in segment keys (the key pattern accepts 1 to 32 of `[0-9a-z]`). */
const WRITER_ID_LENGTH = 12;

const decoder = /* @__PURE__ */ new TextDecoder();

/** A journal segment encoded and named, not yet written. */
export interface NewSegment {
  key: string;
  bytes: Uint8Array;
}

/** The index of one archive handle, its journal bookkeeping, compaction and rebuild; see the module doc. */
export class IndexState {
  /**
   * The index as this handle knows it: index.json + journal + own changes.
   * Replaced by a new map at each compaction, so read it through this field
   * every time rather than keeping it.
   */
  index = new Map<string, IndexRecord>();
  /** Own segments whose operations succeeded: never pending; their put lines need no `has` in a routine fold. */
  readonly completed = new Set<string>();
  /** This handle's id in the journal segment keys it writes. */
  private readonly writer = randomId(WRITER_ID_LENGTH);
  private seq = 0;
  /** Journal records and segments not yet compacted (own and others' known ones). */
  private journalRecords = 0;
  private journalSegments = 0;
  /** Compaction is next attempted once journalRecords reaches this, or journalSegments reaches nextCompactSegments. */
  private nextCompactAt: number;
  private nextCompactSegments: number;
  /**
   * Records of this handle's own segments that still exist (segments are immutable),
   * so a compaction does not read and re-checksum what this handle itself wrote.
   */
  private readonly ownSegments = new Map<string, JournalRecord[]>();
  /**
   * The `index.json` this handle last read or wrote, and what it decodes to. A
   * compaction that reads back exactly these bytes (nobody else compacted since)
   * reuses the entries instead of parsing the whole document again.
   */
  private stored: { bytes: Uint8Array; entries: ReadonlyMap<string, IndexRecord> } | undefined;
  private readonly serial = new KeyedMutex();

  constructor(private readonly settings: ArchiveSettings) {
    this.nextCompactAt = this.recordThreshold();
    this.nextCompactSegments = settings.compactAfter;
  }

  // ---------------------------------------------------------------- open

  /** Loads index.json and the journal; rebuilds a lost or torn index when allowed. */
  async load(signal?: AbortSignal): Promise<void> {
    const { adapter, autoRepair } = this.settings;
    throwIfAborted(signal);
    const raw = await adapter.read(INDEX_KEY, { signal });
    let base: Map<string, IndexRecord> | undefined;
    if (raw) {
      const decoded = decodeIndex(raw);
      if (!(decoded instanceof TornIndex)) {
        base = decoded;
        this.stored = { bytes: raw, entries: decoded };
      }
      else if (autoRepair) return this.serialised(() => this.rebuild(signal));
      else base = new Map();
    } else if (await anyObject(adapter, signal)) {
      if (autoRepair) return this.serialised(() => this.rebuild(signal));
      base = new Map();
    } else {
      // A new archive: lay down an empty index.json, unless another writer just did more.
      await this.withIndexLock(async () => {
        if (!(await adapter.has(INDEX_KEY, { signal }))) await adapter.write(INDEX_KEY, encodeIndex(new Map()), { signal });
      }, signal);
      base = new Map();
    }
    const segments = await loadSegments(adapter, this.settings.concurrency, signal);
    const folded = await this.fold(base, segments, signal);
    this.index = folded.entries; // a copy: `base` (the record of index.json) stays as read
    this.setJournalRecords(segments);
    if (this.journalRecords >= this.recordThreshold() || this.journalSegments >= this.settings.compactAfter) {
      await this.serialised(() => this.compactQuietly(signal));
    }
  }

  // ---------------------------------------------------------------- journal

  /** True while some journal record is not folded into index.json yet. */
  hasJournalRecords(): boolean {
    return this.journalRecords > 0;
  }

  /** True once the journal has grown enough since the last compaction to compact again. */
  compactionDue(): boolean {
    return this.journalRecords >= this.nextCompactAt || this.journalSegments >= this.nextCompactSegments;
  }

  /** Writes a segment of `records` (the intent, before the object operations); resolves its key. */
  async writeSegment(records: JournalRecord[]): Promise<string> {
    const segment = this.nextSegment(records);
    await this.settings.adapter.write(segment.key, segment.bytes);
    this.noteSegment(segment.key, records);
    return segment.key;
  }

  /** The next journal segment of this writer, encoded (not yet written). */
  nextSegment(records: readonly JournalRecord[]): NewSegment {
    return { key: segmentKey(this.settings.now(), this.writer, this.seq++), bytes: encodeSegment(records) };
  }

  /** Books a segment this handle has written. */
  noteSegment(key: string, records: JournalRecord[]): void {
    this.ownSegments.set(key, records);
    this.journalRecords += records.length;
    this.journalSegments++;
  }

  /**
   * Journal records before a compaction. A compaction rewrites the whole index,
   * so the threshold grows with it (a quarter of the index: O(1) index bytes per
   * put at any size). Segments are bounded separately by `compactAfter`: each
   * costs a read when an archive is opened, so single puts (one segment each)
   * fold after `compactAfter` of them, while batches (many records per segment)
   * may gather up to four times as many records first.
   */
  private recordThreshold(): number {
    return Math.max(4 * this.settings.compactAfter, Math.floor(this.index.size / 4));
  }

  private setJournalRecords(pending: readonly LoadedSegment[]): void {
    this.journalRecords = pending.reduce((n, s) => n + s.records.length, 0);
    this.journalSegments = pending.length;
    this.scheduleNextCompaction();
  }

  /** After a compaction (or a failed one): what is left counts toward the next. */
  private scheduleNextCompaction(): void {
    this.nextCompactAt = this.journalRecords + this.recordThreshold();
    this.nextCompactSegments = this.journalSegments + this.settings.compactAfter;
  }

  // ---------------------------------------------------------------- exclusion

  /** Runs `fn` holding the adapter's cross-process index lock, when the adapter has one. */
  withIndexLock<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const { adapter } = this.settings;
    if (adapter.capabilities.locking && adapter.lock) {
      return adapter.lock(INDEX_LOCK, fn, { timeoutMs: this.settings.lockTimeoutMs, signal });
    }
    return fn();
  }

  /** Runs `fn` exclusive of every other write or maintenance step of this handle. */
  serialised<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial.run('archive', fn);
  }

  // ---------------------------------------------------------------- compaction

  /**
   * Folds index.json and every journal segment into a new index.json, then
   * deletes the settled segments. Call inside `serialised`.
   */
  async compact(signal?: AbortSignal): Promise<void> {
    await this.withIndexLock(async () => {
      const raw = await this.settings.adapter.read(INDEX_KEY, { signal });
      const decoded = raw ? (this.stored && sameBytes(raw, this.stored.bytes) ? this.stored.entries : decodeIndex(raw)) : undefined;
      if (!decoded || decoded instanceof TornIndex) {
        // The index vanished or was damaged under us: the objects decide.
        await this.rebuildLocked(signal);
        return;
      }
      const segments = await this.loadSegments(signal);
      await this.storeFold(decoded, segments, signal);
    }, signal);
  }

  /** Compaction as housekeeping: a failure (lock busy, backend hiccup) is retried after more writes. Call inside `serialised`. */
  async compactQuietly(signal?: AbortSignal): Promise<void> {
    try {
      await this.compact(signal);
    } catch {
      this.scheduleNextCompaction();
    }
  }

  /** Scans the objects (reading and hashing each) and stores the index they imply. Takes the lock; call inside `serialised`. */
  async rebuild(signal?: AbortSignal): Promise<void> {
    await this.withIndexLock(() => this.rebuildLocked(signal), signal);
  }

  /** {@link rebuild} for a caller that holds the index lock already; resolves what the scan found. */
  async rebuildLocked(signal?: AbortSignal, onScan?: ScanObserver): Promise<ScanResult> {
    const scan = await scanObjects(this.settings.adapter, this.settings.concurrency, signal, onScan);
    const base = new Map<string, IndexRecord>();
    const storedAt = Math.floor(this.settings.now());
    for (const [hash, size] of scan.good) base.set(hash, { size, storedAt: this.index.get(hash)?.storedAt ?? storedAt });
    const segments = await this.loadSegments(signal);
    // Segments written before the scan are reflected by it already; those written during it
    // are folded on top. No line is taken on trust here: the objects were just found to
    // disagree with what this handle believed. Lines of objects found corrupt must not re-add them.
    const corrupt = new Set(scan.corrupt);
    const filtered = segments.map((s) => ({ ...s, records: s.records.filter((r) => !corrupt.has(r.hash)) }));
    await this.storeFold(base, filtered, signal, false);
    return scan;
  }

  /** Folds `segments` into `base`, stores index.json, deletes settled segments, adopts the result. */
  private async storeFold(base: ReadonlyMap<string, IndexRecord>, segments: LoadedSegment[], signal?: AbortSignal, trust = true): Promise<void> {
    const { adapter } = this.settings;
    const folded = await this.fold(base, segments, signal, trust);
    const bytes = encodeIndex(folded.entries);
    this.stored = undefined; // until the write is known to have landed
    await adapter.write(INDEX_KEY, bytes, { signal });
    this.stored = { bytes, entries: folded.entries };
    // From here on the index holds everything; a failed delete only leaves a segment to fold again.
    await deleteEach(adapter, folded.settled, this.settings.concurrency);
    for (const key of folded.settled) {
      this.completed.delete(key);
      this.ownSegments.delete(key);
    }
    // The handle's working index is a copy: its own puts must not alter the record of what is stored.
    this.index = new Map(folded.entries);
    this.setJournalRecords(folded.pending);
  }

  /** Every journal segment; this handle's own are taken from memory. Forgets own segments deleted by others. */
  private async loadSegments(signal?: AbortSignal): Promise<LoadedSegment[]> {
    const segments = await loadSegments(this.settings.adapter, this.settings.concurrency, signal, this.ownSegments);
    const listed = new Set(segments.map((s) => s.key));
    for (const key of this.ownSegments.keys()) if (!listed.has(key)) this.ownSegments.delete(key);
    return segments;
  }

  private fold(base: ReadonlyMap<string, IndexRecord>, segments: readonly LoadedSegment[], signal?: AbortSignal, trust = true) {
    const { adapter, now, graceMs, concurrency } = this.settings;
    return foldSegments({
      adapter,
      base,
      segments,
      completed: this.completed,
      ownWriter: this.writer,
      trustCompleted: trust,
      now: now(),
      graceMs,
      concurrency,
      signal,
    });
  }
}

/**
 * True when `a` and `b` hold the same bytes. Compared as text: decoding is native and
 * string equality a memory compare, while a byte loop over megabytes is slow in JS.
 * `index.json` is ASCII, so equal text means equal bytes.
 */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && decoder.decode(a) === decoder.decode(b);
}
