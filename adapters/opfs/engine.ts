/**
 * The storage engine behind the OPFS adapter: a log-structured key-value store
 * in a directory of the Origin Private File System.
 *
 * Why not one file per key: in headless Chromium on disk, one `createWritable`
 * per 1 KiB object runs at about 240/s, and a file per object through sync
 * access handles in a worker is no faster (file creation and rename dominate,
 * 100-250/s). One `write` + one `flush` of a whole batch appended to an open
 * sync access handle runs at about 15,000 objects/s. So every writer (a tab's
 * adapter) appends batches to its own segment file (`format.ts`), and an
 * in-memory index maps each key to where its bytes are. Keys keep the
 * portable layout (`objects/aa/bb/<hash>.json`, `index.json`): listing and
 * bundle export see exactly the keys any other adapter would hold.
 *
 * Two I/O modes:
 * - `sync` (in a dedicated worker): the writer keeps a sync access handle on
 *   its active segment; a batch is one `write` and one `flush` (durable on
 *   disk) before any caller is told it succeeded.
 * - `writable` (main thread, where no worker can run): each batch becomes a
 *   new segment file written with `createWritable`, which the browser swaps in
 *   atomically on `close()`.
 *
 * Several writers (tabs) on one directory never share a file, so they never
 * meet `NoModificationAllowedError` on each other's handles. Before answering
 * reads, an engine re-lists the directory and reads the new tails of the
 * others' segments (once per round of reads, however many), so a write that
 * resolved in one tab is seen by every read issued after it in another.
 * Records carry a clock stamp, so the last writer wins the same way in every
 * tab whatever order the segments are read in.
 *
 * This module ties the pieces together: `writer.ts` (our own segments and
 * clock), `segment.ts` (segment files and their I/O), `key-index.ts` (key →
 * bytes, last stamp wins), `announcements.ts` (the channel between writers),
 * `writer-lock.ts` (which writers are alive), `compaction.ts` (when and what
 * to rewrite).
 *
 * @module
 */
import { storageManager } from '../../src/platform.js';
import { Announcements } from './announcements.js';
import { compactionCandidates, liveRecords, worthCompacting } from './compaction.js';
import { encodeBatch, parseRecords, parseSegmentName, RecordType, SEGMENT_HEADER_BYTES, type ParsedRecord, type RecordInput } from './format.js';
import { KeyIndex } from './key-index.js';
import { isNotFound, newSegment, scanTail, SegmentGone, type IterableDirectory, type Segment } from './segment.js';
import { holdWriterLock, liveWriters, withCompactionLock } from './writer-lock.js';
import { SegmentWriter } from './writer.js';

/** One change of a batch handed to {@link PackEngine.commit}. */
export type Change =
  | { op: 'put'; key: string; bytes: Uint8Array }
  | { op: 'delete'; key: string }
  | { op: 'append'; key: string; bytes: Uint8Array };

/** Options of {@link PackEngine.open}. */
export interface EngineOptions {
  /** Name of the directory under the origin's OPFS root. */
  root: string;
  /** `sync`: sync access handles (workers only); `writable`: a new file per batch with createWritable. */
  mode: 'sync' | 'writable';
  /** A writer starts a new segment once its active one reaches this size (default 64 MiB). */
  segmentBytes?: number;
  /** Compact once the segments worth compacting hold this many bytes of garbage (overwritten or deleted; default 8 MiB). */
  compactGarbageBytes?: number;
  /** Compact once there are this many small segments (default 64; `writable` mode makes one per batch). */
  compactSegments?: number;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_COMPACT_GARBAGE = 8 * 1024 * 1024;
const DEFAULT_COMPACT_SEGMENTS = 64;
/** The log-structured store over one OPFS directory. One instance per adapter (per tab or worker). */
export class PackEngine {
  private readonly segments = new Map<string, Segment>();
  private readonly index = new KeyIndex();
  /** Our own segments and stamp clock. */
  private readonly own: SegmentWriter;
  /** What other writers announced: scanned before the next answer. */
  private announcements: Announcements | undefined;
  private closed = false;
  private releaseWriterLock: () => void = () => {};
  private readonly compactGarbage: number;
  private readonly compactSegments: number;

  private constructor(
    private readonly dir: FileSystemDirectoryHandle,
    private readonly options: EngineOptions,
  ) {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.own = new SegmentWriter(dir, options.mode, segmentBytes, (name, seq, handle) => this.addSegment(name, this.writer, seq, handle));
    this.compactGarbage = options.compactGarbageBytes ?? DEFAULT_COMPACT_GARBAGE;
    this.compactSegments = options.compactSegments ?? DEFAULT_COMPACT_SEGMENTS;
  }

  /** This engine's writer id (in its segment names and lifetime lock). */
  get writer(): string {
    return this.own.id;
  }

  /** The segment we append to through a sync access handle, if any. */
  private get active() {
    return this.own.active;
  }

  /** Opens the directory `options.root` (creating it) and reads every segment in it. */
  static async open(options: EngineOptions): Promise<PackEngine> {
    const storage = storageManager();
    if (!storage?.getDirectory) throw new Error('the Origin Private File System (navigator.storage.getDirectory) is not available here');
    const top = await storage.getDirectory();
    const dir = await top.getDirectoryHandle(options.root, { create: true });
    const engine = new PackEngine(dir, options);
    engine.releaseWriterLock = await holdWriterLock(options.root, engine.writer);
    try {
      await engine.refresh();
    } catch (error) {
      engine.close();
      throw error;
    }
    engine.announcements = new Announcements(options.root, engine.writer);
    return engine;
  }

  // ---------------------------------------------------------------- reads

  /**
   * The bytes under `key`, or undefined, as this engine's index knows them.
   * Call {@link refresh} first for an answer that includes every write other
   * writers completed before now (the service does, once per round of reads).
   */
  async read(key: string): Promise<Uint8Array | undefined> {
    await this.catchUp();
    for (let attempt = 0; ; attempt++) {
      const state = this.index.get(key);
      if (!state || state.parts.length === 0) return undefined;
      try {
        return await this.readParts(state.parts);
      } catch (error) {
        // A segment was compacted away under us: re-read the directory and try once more.
        if (!(error instanceof SegmentGone) || attempt > 0) throw error;
        await this.rebuild();
      }
    }
  }

  /** True when `key` exists (see {@link read} on freshness). */
  async has(key: string): Promise<boolean> {
    await this.catchUp();
    return this.index.has(key);
  }

  /** Existence of each of `keys`, in order (see {@link read} on freshness). */
  async hasMany(keys: readonly string[]): Promise<boolean[]> {
    await this.catchUp();
    return keys.map((key) => this.index.has(key));
  }

  /** Up to `limit` keys starting with `prefix` and sorting after `after`, in order (see {@link read} on freshness). */
  async listPage(prefix: string, after: string | undefined, limit: number): Promise<string[]> {
    await this.catchUp();
    return this.index.page(prefix, after, limit);
  }

  private async readParts(parts: readonly { seg: Segment; offset: number; length: number }[]): Promise<Uint8Array> {
    if (parts.length === 1) return this.readRange(parts[0]!.seg, parts[0]!.offset, parts[0]!.length);
    const pieces = await Promise.all(parts.map((p) => this.readRange(p.seg, p.offset, p.length)));
    const out = new Uint8Array(pieces.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of pieces) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  private async readRange(seg: Segment, offset: number, length: number): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    if (this.active && this.active.seg === seg) {
      const out = new Uint8Array(length);
      const n = this.active.handle.read(out, { at: offset });
      if (n !== length) throw new Error(`short read in ${seg.name}: ${n} of ${length} bytes at ${offset}`);
      return out;
    }
    try {
      if (!seg.file || seg.file.size < offset + length) seg.file = await this.fileOf(seg);
      return new Uint8Array(await seg.file.slice(offset, offset + length).arrayBuffer());
    } catch (error) {
      if (isNotFound(error)) throw new SegmentGone(seg.name);
      throw error;
    }
  }

  private async fileOf(seg: Segment): Promise<File> {
    seg.handle ??= await this.dir.getFileHandle(seg.name);
    return seg.handle.getFile();
  }

  // ---------------------------------------------------------------- discovering other writers' data

  /** Scans the segments other writers announced since the last call. */
  private async catchUp(): Promise<void> {
    const names = this.announcements?.take() ?? [];
    if (names === 'rebuild') return this.rebuild();
    for (const name of names) {
      let seg = this.segments.get(name);
      if (!seg) {
        const parsed = parseSegmentName(name);
        if (!parsed) continue;
        seg = this.addSegment(name, parsed.writer, parsed.seq, undefined);
      }
      await this.scanTail(seg).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
  }

  /**
   * Lists the directory and scans what is new: unknown segments from the
   * start, other writers' growing segments from where we stopped. Concurrent
   * callers share one pass that starts after they asked.
   */
  refresh(): Promise<void> {
    if (!this.refreshRunning) {
      this.refreshRunning = this.runRefresh().finally(() => {
        this.refreshRunning = undefined;
      });
      return this.refreshRunning;
    }
    // The running pass may have listed the directory before this caller asked: queue one more, shared.
    this.refreshQueued ??= this.refreshRunning
      .catch(() => {})
      .then(() => {
        this.refreshQueued = undefined;
        return this.refresh();
      });
    return this.refreshQueued;
  }
  private refreshRunning: Promise<void> | undefined;
  private refreshQueued: Promise<void> | undefined;

  private async runRefresh(): Promise<void> {
    if (this.ownRescanNeeded && this.active) {
      this.ownRescanNeeded = false;
      await this.scanActive();
    }
    const names = new Set<string>();
    for await (const name of (this.dir as IterableDirectory).keys()) names.add(name);
    let vanished = false;
    for (const seg of this.segments.values()) if (!names.has(seg.name)) vanished = true;
    if (vanished) {
      // Segments were compacted away: their records live on, copied, in newer segments. Start over.
      this.resetIndex();
      if (this.active) {
        this.ownRescanNeeded = false;
        await this.scanActive();
      }
    }
    const latest = new Map<string, number>();
    for (const name of names) {
      const parsed = parseSegmentName(name);
      if (!parsed) continue;
      latest.set(parsed.writer, Math.max(latest.get(parsed.writer) ?? -1, parsed.seq));
      if (!this.segments.has(name)) this.addSegment(name, parsed.writer, parsed.seq, undefined);
    }
    const growing = [...this.segments.values()].filter((seg) => seg !== this.active?.seg && !seg.broken && !(seg.sealed && seg.scannedTo > 0));
    // Writers that are gone (their lock is free) will not append again: their segments are complete once scanned.
    const alive = growing.some((seg) => !seg.own) ? await liveWriters(this.options.root) : undefined;
    await Promise.all(
      growing.map(async (seg) => {
        const finished = seg.own || (latest.get(seg.writer) ?? -1) > seg.seq || (alive !== undefined && !alive.has(seg.writer));
        try {
          await this.scanTail(seg);
        } catch (error) {
          if (!isNotFound(error)) throw error;
          return;
        }
        if (finished) seg.sealed = true;
      }),
    );
  }

  /** Forgets every segment and key, then reads the directory again. */
  private async rebuild(): Promise<void> {
    this.resetIndex();
    await this.refresh();
  }

  private resetIndex(): void {
    this.index.clear();
    for (const [name, seg] of this.segments) {
      if (this.active?.seg === seg) {
        // Our own active segment is re-read too, through the handle we hold.
        seg.scannedTo = 0;
        seg.totalBytes = seg.liveBytes = 0;
        continue;
      }
      this.segments.delete(name);
    }
    this.ownRescanNeeded = this.active !== undefined;
  }
  private ownRescanNeeded = false;

  private addSegment(name: string, writer: string, seq: number, handle: FileSystemFileHandle | undefined): Segment {
    const seg = newSegment(name, writer, seq, writer === this.writer, handle);
    this.segments.set(name, seg);
    return seg;
  }

  /** Reads the committed batches of `seg` past `seg.scannedTo` and applies them. */
  private async scanTail(seg: Segment): Promise<void> {
    if (seg.broken) return;
    const file = await this.fileOf(seg);
    seg.file = file;
    await scanTail(seg, file, (records) => this.applyAll(seg, records));
  }

  /** Re-reads our own active segment through its handle (after the index was reset). */
  private async scanActive(): Promise<void> {
    const active = this.active!;
    const bytes = new Uint8Array(active.size - SEGMENT_HEADER_BYTES);
    active.handle.read(bytes, { at: SEGMENT_HEADER_BYTES });
    const parsed = parseRecords(bytes, SEGMENT_HEADER_BYTES);
    this.applyAll(active.seg, parsed.records);
    active.seg.scannedTo = parsed.committedEnd;
  }

  private applyAll(seg: Segment, records: readonly ParsedRecord[]): void {
    for (const r of records) {
      if (r.stamp > this.own.lastStamp) this.own.lastStamp = r.stamp;
      this.index.apply(seg, r.type, r.key, r.stamp, r.tag, r.valueOffset, r.valueLength, r.size);
    }
  }

  // ---------------------------------------------------------------- writes

  /**
   * Commits `changes` as one batch: one append (one write + one flush, or one
   * new file) behind one commit record, so all of it lands or none of it does.
   * Resolves once the bytes are durable.
   */
  async commit(changes: readonly Change[]): Promise<void> {
    if (this.closed) throw new Error('engine closed');
    if (changes.length === 0) return;
    await this.catchUp();
    const inputs: RecordInput[] = changes.map((c) => ({
      type: c.op === 'put' ? RecordType.Put : c.op === 'delete' ? RecordType.Delete : RecordType.Append,
      key: c.key,
      value: c.op === 'delete' ? undefined : c.bytes,
      stamp: this.own.nextStamp(),
      tag: this.own.tag,
    }));
    await this.appendRecords(inputs);
  }

  /** Encodes `inputs` (stamps and tags already set) as one batch, appends it durably, applies it. */
  private async appendRecords(inputs: readonly RecordInput[]): Promise<void> {
    const { bytes, valueOffsets } = encodeBatch(inputs, this.own.lastStamp, this.own.tag);
    const { seg, base } = await this.own.append(bytes);
    let at = base;
    inputs.forEach((input, i) => {
      const valueOffset = base + valueOffsets[i]!;
      const valueLength = input.type === RecordType.Delete ? 0 : (input.value?.byteLength ?? 0);
      this.index.apply(seg, input.type, input.key, input.stamp, input.tag, valueOffset, valueLength, valueOffset + valueLength - at);
      at = valueOffset + valueLength;
    });
    seg.scannedTo = base + bytes.byteLength;
    this.announcements?.commit(seg.name, seg.scannedTo);
  }

  // ---------------------------------------------------------------- maintenance

  /** Bytes of records no longer part of any key's state, over all segments we know. */
  garbageStats(): { totalBytes: number; liveBytes: number; segments: number } {
    let totalBytes = 0;
    let liveBytes = 0;
    for (const seg of this.segments.values()) {
      totalBytes += seg.totalBytes;
      liveBytes += seg.liveBytes;
    }
    return { totalBytes, liveBytes, segments: this.segments.size };
  }

  /** True when a compaction would pay for itself: enough garbage, or many small files, among its candidates. */
  wantsCompaction(): boolean {
    const candidates = compactionCandidates(this.segments.values(), this.active?.seg, false);
    return worthCompacting(candidates, { garbageBytes: this.compactGarbage, segments: this.compactSegments });
  }

  /**
   * Rewrites the live records of complete segments (all of them, or with
   * `all` false only those {@link compactionCandidates} finds worth it) into
   * new segments of this writer and deletes the old files, under a Web Lock so two tabs never
   * compact at once (returns false when another tab is compacting). Records
   * keep their stamps, so every tab resolves them the same way; tombstones are
   * kept (an older put may live in a segment still being written by another
   * tab). A crash at any point leaves either the old files or both (copies are
   * the same records), never neither.
   */
  async compact(all = true): Promise<boolean> {
    return withCompactionLock(this.options.root, async () => {
      await this.refresh();
      const candidates = compactionCandidates(this.segments.values(), this.active?.seg, all);
      if (candidates.size === 0) return false;
      if (this.active && candidates.has(this.active.seg)) this.own.seal();
      for await (const batch of liveRecords(this.index, candidates, (seg, offset, length) => this.readRange(seg, offset, length))) {
        await this.appendRecordsRaw(batch);
      }
      for (const seg of candidates) {
        try {
          await this.dir.removeEntry(seg.name);
        } catch {
          // Still open somewhere (or already gone): its records are copied, so it is only garbage now.
        }
      }
      this.announcements?.compacted();
      this.resetIndex();
      await this.refresh();
      return true;
    });
  }

  /** Appends already-stamped records as one batch without applying them (compaction re-reads afterwards). */
  private async appendRecordsRaw(inputs: readonly RecordInput[]): Promise<void> {
    await this.own.append(encodeBatch(inputs, this.own.lastStamp, this.own.tag).bytes);
  }

  /** Releases the sync access handle. The engine cannot be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.own.seal();
    this.announcements?.close();
    this.releaseWriterLock();
  }
}
