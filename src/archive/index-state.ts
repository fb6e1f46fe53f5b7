/**
 * The index one archive handle works with, and what keeps it bounded.
 *
 * The index is index v2 (docs/format.md): a small root naming immutable
 * sorted runs, read piece by piece through the {@link IndexEngine}. The
 * handle adds the journal segments not folded yet (see `journal.ts`,
 * `fold.ts`) and its own changes as a *tail*: per hash, what changes against
 * the runs (bounded by the compaction thresholds, never the index). A fold
 * writes the journal's changes as one small run and a new root, under the
 * adapter's cross-process lock, so its cost is the journal's, not the
 * index's. A v1 `index.json` is migrated on open; a lost or torn index is
 * rebuilt from the objects.
 *
 * Every write, compaction and maintenance step of one handle runs through
 * {@link IndexState.serialised}, one at a time.
 *
 * @module
 */
import { deleteEach } from '../adapter/batch.js';
import { keepFoldedSegments } from './change-log.js';
import { refuseForeignLayout } from '../ccos/detect.js';
import { ConflictError, CorruptIndexError, throwIfAborted, UnsupportedVersionError } from '../errors.js';
import { KeyedMutex } from '../internal/mutex.js';
import { randomId } from '../internal/random-id.js';
import { fullJitter, retrying } from '../internal/retry.js';
import { foldSegments, loadSegments, type KnownSegment, type LoadedSegment } from './fold.js';
import { decodeIndexDocument, parseIndexDocument, TornIndex, type IndexRecord } from './index-file.js';
import { encodeSegment, type JournalRecord } from './journal.js';
import { INDEX_FORMAT, INDEX_KEY, INDEX_LOCK, segmentKey } from './layout.js';
import { rebuildFromObjects, type RebuildResult } from './rebuild.js';
import { anyObject, type ScanObserver } from './scan.js';
import type { ArchiveSettings } from './settings.js';
import { decodeRootDocument, isV2Document, type Root } from './v2/codec.js';
import { EMPTY_ROOT, IndexEngine } from './v2/engine.js';
import { migrateV1 } from './v2/migrate.js';
import { MissingPieceError } from './v2/run-reader.js';
import { IndexView } from './view.js';

/** Length of a handle's writer id in segment keys (the key pattern accepts 1 to 32 of `[0-9a-z]`). */
const WRITER_ID_LENGTH = 12;
/** Entries a merge at close() may rewrite: close stays cheap at any size; bigger merges wait for the next fold. */
const CLOSE_MERGE_LIMIT = 65_536;

/** A journal segment encoded and named, not yet written. */
export interface NewSegment {
  key: string;
  bytes: Uint8Array;
}

/** What `index.json` holds, read and classified. */
type Stored =
  | { kind: 'absent' }
  | { kind: 'torn'; reason: string }
  | { kind: 'v1'; raw: Uint8Array; entries: Map<string, IndexRecord> }
  | { kind: 'v2'; raw: Uint8Array; root: Root; version: string };

/** Attempts of one compaction when another writer keeps moving the root (swapping adapters). */
const ROOT_ATTEMPTS = 12;
/** Between attempts: full jitter from 40 ms, doubling, capped at 2 s. */
const ROOT_BACKOFF = fullJitter(40, 2000);

/** The index of one archive handle, its journal bookkeeping, compaction and rebuild; see the module doc. */
export class IndexState {
  readonly engine: IndexEngine;
  /** Reads of the index as this handle sees it: the runs plus the tail. */
  readonly view: IndexView;
  /** Own segments whose operations succeeded: never pending; their put lines need no `has` in a routine fold. */
  readonly completed = new Set<string>();
  /** This handle's id in the journal segment keys it writes. */
  private readonly writer = randomId(WRITER_ID_LENGTH);
  private seq = 0;
  /** Journal records and segments not yet compacted (own and others' known ones). */
  private journalRecords = 0;
  private journalSegments = 0;
  private nextCompactAt: number;
  private nextCompactSegments: number;
  /**
   * Records and bytes of this handle's own segments that still exist (segments are immutable), so
   * a fold neither reads them back nor encodes them again for the change log.
   */
  private readonly ownSegments = new Map<string, KnownSegment>();
  /**
   * The bytes {@link nextSegment} encoded, by the records they hold, until {@link noteSegment} books
   * them (the commit queue passes the same records array to both). Weak: a write that fails and is
   * never booked leaves nothing behind.
   */
  private readonly encoded = new WeakMap<readonly JournalRecord[], Uint8Array>();
  /** Packs of the change log this handle has written (their `seq`). */
  private packSeq = 0;
  private cleaned = false;
  private readonly serial = new KeyedMutex();

  constructor(private readonly settings: ArchiveSettings) {
    this.engine = new IndexEngine({ adapter: settings.adapter, concurrency: settings.concurrency, now: settings.now, graceMs: settings.graceMs });
    this.view = new IndexView(this.engine);
    this.nextCompactAt = this.recordThreshold();
    this.nextCompactSegments = settings.compactAfter;
  }

  // ---------------------------------------------------------------- open

  /** Reads the root and the journal tail (nothing else); migrates a v1 index; rebuilds a lost or torn one when allowed. */
  async load(signal?: AbortSignal): Promise<void> {
    const { adapter, autoRepair } = this.settings;
    throwIfAborted(signal);
    const stored = await this.readStored(signal); // an unknown version throws here, before anything is written
    // Not an index of ours, or none: someone else's data (a CCOS directory, another format) is refused before anything is written.
    if (stored.kind === 'absent' || stored.kind === 'torn') await refuseForeignLayout(adapter, { signal });
    if (stored.kind === 'v2') this.engine.adopt(stored.root, stored.raw, stored.version);
    else if (stored.kind === 'v1') await this.withIndexLock(() => this.retryMoved(ROOT_ATTEMPTS, () => this.adoptStored(signal), signal), signal);
    else if (stored.kind === 'torn' || (await anyObject(adapter, signal))) {
      if (autoRepair) return this.serialised(() => this.rebuild(signal));
    } else {
      // A new archive: lay down an empty root, unless another writer just did more.
      await this.withIndexLock(async () => {
        if (this.engine.swaps) {
          // Created only if still absent: a writer that lost the race adopts the winner's root.
          await this.engine.commitRoot(EMPTY_ROOT, [], signal, this.engine.base(null)).catch(async (e: unknown) => {
            if (!isRootConflict(e)) throw e;
            await this.adoptStored(signal);
          });
        } else if (!(await adapter.has(INDEX_KEY, { signal }))) await this.engine.commitRoot(EMPTY_ROOT, [], signal);
        else await this.adoptStored(signal);
      }, signal);
    }
    const segments = await loadSegments(adapter, this.settings.concurrency, signal);
    const folded = await this.guard(() => this.fold(segments, signal), signal);
    this.view.reset(folded.changes);
    this.setJournalRecords(segments);
    if (this.compactionDue()) await this.serialised(() => this.compactQuietly(signal));
  }

  /** Reads and classifies `index.json`; throws UNSUPPORTED_VERSION for a version this release does not know. */
  private async readStored(signal?: AbortSignal): Promise<Stored> {
    const read = await this.engine.readIndex(signal);
    // Whatever is read is what a later swap replaces (a torn or v1 document included).
    if (!read) {
      this.engine.version = null;
      return { kind: 'absent' };
    }
    const { bytes: raw, version } = read;
    this.engine.version = version;
    if (this.engine.isCurrent(raw)) return { kind: 'v2', raw, root: this.engine.root, version };
    const doc = parseIndexDocument(raw);
    if (doc instanceof TornIndex) return { kind: 'torn', reason: doc.reason };
    if (isV2Document(doc)) {
      const format = (doc as { format?: unknown }).format;
      if (format !== INDEX_FORMAT) {
        // Not a torn index of ours but someone else's document: refused and left alone, never rebuilt over
        // (docs/format.md: FOREIGN_LAYOUT once that code exists, UNSUPPORTED_VERSION until then).
        throw new UnsupportedVersionError(`2/${String(format)}`, `${INDEX_KEY} is version 2 of format ${JSON.stringify(format)}, not "${INDEX_FORMAT}"; it was left untouched`);
      }
      try {
        return { kind: 'v2', raw, root: decodeRootDocument(doc as Record<string, unknown>), version };
      } catch (e) {
        if (e instanceof CorruptIndexError) return { kind: 'torn', reason: e.message };
        throw e;
      }
    }
    const entries = decodeIndexDocument(doc);
    return entries instanceof TornIndex ? { kind: 'torn', reason: entries.reason } : { kind: 'v1', raw, entries };
  }

  /**
   * Under the lock: makes what `index.json` holds now current (migrating a v1
   * index). False when it is lost or torn (the caller rebuilds).
   */
  private async adoptStored(signal?: AbortSignal): Promise<boolean> {
    const stored = await this.readStored(signal);
    if (stored.kind === 'v2') this.engine.adopt(stored.root, stored.raw, stored.version);
    else if (stored.kind === 'v1') {
      await migrateV1(this.engine, stored.entries, stored.raw, signal);
      await this.cleanupOnce(signal);
    } else return false;
    return true;
  }

  // ---------------------------------------------------------------- journal

  /** True while some journal record is not folded into the index yet. */
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

  /** This handle's writer id in journal segment keys (change events mark its segments local). */
  get writerId(): string {
    return this.writer;
  }

  /** The next journal segment of this writer, encoded (not yet written). */
  nextSegment(records: readonly JournalRecord[]): NewSegment {
    const bytes = encodeSegment(records);
    this.encoded.set(records, bytes);
    return { key: segmentKey(this.settings.now(), this.writer, this.seq++), bytes };
  }

  /** Books a segment this handle has written (`records` as given to {@link nextSegment}: its bytes are kept too). */
  noteSegment(key: string, records: JournalRecord[]): void {
    this.ownSegments.set(key, { records, bytes: this.encoded.get(records) });
    this.journalRecords += records.length;
    this.journalSegments++;
  }

  /**
   * Journal records before a fold. A fold costs the journal, not the index, so
   * the bound is constant: four times `compactAfter` records, or `compactAfter`
   * segments (each costs a read when an archive is opened).
   */
  private recordThreshold(): number {
    return 4 * this.settings.compactAfter;
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

  /**
   * Runs `fn`; when a piece of the index turns out damaged (CORRUPT_INDEX) and
   * `autoRepairIndex` is on, rebuilds the index from the objects and runs `fn`
   * again. Call inside `serialised` (or during load).
   */
  async guard<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof CorruptIndexError) || !this.settings.autoRepair) throw e;
      await this.rebuild(signal);
      return fn();
    }
  }

  // ---------------------------------------------------------------- compaction

  /**
   * Folds every journal segment into the index (one level-0 run and a new
   * root), deletes the settled segments, then merges runs where a level is
   * full. Call inside `serialised`. `closing` keeps merges small.
   */
  async compact(signal?: AbortSignal, closing = false, attempts = ROOT_ATTEMPTS): Promise<void> {
    await this.withIndexLock(
      () =>
        this.retryMoved(attempts, async () => {
          // Another writer may have folded (or migrated) since: start from what is stored now.
          if (!(await this.adoptStored(signal))) {
            await this.rebuildLocked(signal); // the index vanished or was damaged under us: the objects decide
            return;
          }
          const since = this.engine.epoch;
          try {
            await this.foldAndStore(await this.loadSegments(signal), true, signal);
            await this.engine.mergeDue(signal, closing ? CLOSE_MERGE_LIMIT : Infinity);
            await this.cleanupOnce(signal);
          } catch (e) {
            if (!(e instanceof CorruptIndexError) || !this.settings.autoRepair) throw e;
            // Without a lock a piece goes missing when another writer merged its run away and
            // committed a new root: that is a lost race, retried from the new root, not damage.
            if (e instanceof MissingPieceError && (await this.engine.reload(signal, since))) throw rootMovedConflict(e);
            await this.rebuildLocked(signal);
          }
        }, signal),
      signal,
    );
  }

  /**
   * Runs `fn` again, from a fresh read of the root, while it loses a
   * compare-and-swap of the root to another writer (swapping adapters only:
   * under a lock the root cannot move). Bounded, with jittered backoff; the
   * last `ConflictError` is thrown. A losing attempt changed nothing: its
   * pieces were deleted and its journal segments kept.
   */
  private retryMoved<T>(attempts: number, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return retrying({ attempts, signal, retryable: (o) => !o.ok && isRootConflict(o.error), backoff: ROOT_BACKOFF }, fn);
  }

  /** Compaction as housekeeping: a failure (lock busy, backend hiccup) is retried after more writes. Call inside `serialised`. */
  async compactQuietly(signal?: AbortSignal): Promise<void> {
    try {
      // One attempt: a writer that loses the root to another has just had its journal folded by
      // that other one (a fold takes every segment), so retrying would mostly redo the same work.
      await this.compact(signal, false, 1);
    } catch {
      this.scheduleNextCompaction();
    }
  }

  /** Scans the objects (reading and hashing each) and stores the index they imply. Takes the lock; call inside `serialised`. */
  async rebuild(signal?: AbortSignal): Promise<void> {
    await this.withIndexLock(
      () =>
        this.retryMoved(ROOT_ATTEMPTS, async () => {
          // The rebuild replaces what is stored now (its version is what the swap must match).
          if (this.engine.swaps) await this.readStored(signal).catch(() => undefined);
          await this.rebuildLocked(signal);
        }, signal),
      signal,
    );
  }

  /** {@link rebuild} for a caller that holds the index lock already; resolves what the scan found. */
  async rebuildLocked(signal?: AbortSignal, onScan?: ScanObserver): Promise<RebuildResult> {
    const scan = await rebuildFromObjects(this.settings, this.engine, signal, onScan);
    const segments = await this.loadSegments(signal);
    // Segments written before the scan are reflected by it already; those written during it
    // are folded on top. No line is taken on trust here: the objects were just found to
    // disagree with what this handle believed. Lines of objects found corrupt must not re-add them.
    const corrupt = new Set(scan.corrupt);
    const filtered = segments.map((s) => ({ ...s, records: s.records.filter((r) => !corrupt.has(r.hash)) }));
    await this.foldAndStore(filtered, false, signal);
    await this.cleanupOnce(signal, true);
    return scan;
  }

  /** Folds `segments` over the current runs, stores the changes as a run, deletes settled segments, clears the tail. */
  private async foldAndStore(segments: LoadedSegment[], trust: boolean, signal?: AbortSignal): Promise<void> {
    const folded = await this.fold(segments, signal, trust);
    await this.engine.writeFold(folded.changes, signal);
    // From here on the runs hold everything; a failed delete only leaves a segment to fold again.
    // The change log gets its pack first, so a listener finds each segment in one place or the other.
    const settled = new Set(folded.settled);
    const { adapter, now, changeRetentionMs, concurrency } = this.settings;
    const packer = { writer: this.writer, nextSeq: () => this.packSeq++ };
    await keepFoldedSegments(adapter, segments.filter((s) => settled.has(s.key)), packer, now(), changeRetentionMs, concurrency, signal);
    await deleteEach(adapter, folded.settled, concurrency);
    for (const key of folded.settled) {
      this.completed.delete(key);
      this.ownSegments.delete(key);
    }
    this.view.reset(new Map());
    this.setJournalRecords(folded.pending);
  }

  /** Deletes unreferenced index pieces, once per handle (and after each rebuild, when `again`). */
  private async cleanupOnce(signal?: AbortSignal, again = false): Promise<void> {
    if (this.cleaned && !again) return;
    this.cleaned = true;
    await this.engine.cleanup(signal).catch(() => {});
  }

  /** Every journal segment; this handle's own are taken from memory. Forgets own segments deleted by others. */
  private async loadSegments(signal?: AbortSignal): Promise<LoadedSegment[]> {
    const segments = await loadSegments(this.settings.adapter, this.settings.concurrency, signal, this.ownSegments);
    const listed = new Set(segments.map((s) => s.key));
    for (const key of this.ownSegments.keys()) if (!listed.has(key)) this.ownSegments.delete(key);
    return segments;
  }

  private fold(segments: readonly LoadedSegment[], signal?: AbortSignal, trust = true): ReturnType<typeof foldSegments> {
    const { adapter, now, graceMs, concurrency } = this.settings;
    return foldSegments({
      adapter,
      lookup: (hashes) => this.engine.lookupMany(hashes, signal),
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

/** The conflict {@link IndexState.compact} retries when a piece vanished because the root moved on. */
function rootMovedConflict(cause: MissingPieceError): ConflictError {
  return new ConflictError(INDEX_KEY, `${INDEX_KEY} was changed by another writer while this one compacted (${cause.message}); read it again and retry`, { cause });
}

/** True for the conflict of a root swap lost to another writer. */
function isRootConflict(e: unknown): boolean {
  return e instanceof ConflictError && e.key === INDEX_KEY;
}
