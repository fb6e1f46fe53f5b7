/**
 * The storage engine behind the OPFS adapter: a log-structured key-value store
 * in a directory of the Origin Private File System.
 *
 * Why not one file per key: in headless Chromium on disk, one `createWritable`
 * per 1 KiB object runs at about 240/s, and a file per object through sync
 * access handles in a worker is no faster (file creation and rename dominate,
 * 100-250/s). One `write` + one `flush` of a whole batch appended to an open
 * sync access handle runs at about 15,000 objects/s. So every writer (a tab's
 * adapter) appends batches to its own segment file (`opfs-format.ts`), and an
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
 * @module
 */
import {
  encodeBatch,
  isSegmentHeader,
  parseRecords,
  parseSegmentName,
  RecordType,
  segmentHeader,
  segmentName,
  SEGMENT_HEADER_BYTES,
  type ChangeType,
  type ParsedRecord,
  type RecordInput,
} from './format.js';

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

/** Minimal shape of a sync access handle (not in TypeScript's DOM lib). */
interface SyncAccessHandle {
  read(buffer: Uint8Array, options?: { at?: number }): number;
  write(buffer: Uint8Array, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

type FileHandleWithSync = FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncAccessHandle> };
type IterableDirectory = FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };

interface Segment {
  readonly name: string;
  readonly writer: string;
  readonly seq: number;
  readonly own: boolean;
  handle: FileSystemFileHandle | undefined;
  /** Committed bytes known: the next scan starts here. */
  scannedTo: number;
  /** No more appends will come (rolled over, a later segment of its writer exists, or written whole). */
  sealed: boolean;
  /** Record bytes in this segment, and those still part of the current state. */
  totalBytes: number;
  liveBytes: number;
  /** Snapshot used for reads of segments we do not hold a handle on. */
  file: File | undefined;
  /** Header was wrong or a batch was damaged: nothing more is read from it. */
  broken: boolean;
}

/** Where one piece of a key's bytes lies. */
interface Part {
  seg: Segment;
  offset: number;
  length: number;
  stamp: number;
  tag: number;
  /** Size of the whole record (garbage accounting). */
  size: number;
  append: boolean;
}

/** The current state of a key: its last put/delete (the base) and the appends after it. */
interface KeyState {
  stamp: number;
  tag: number;
  /** The put part first (when the base is a put), then appends in stamp order. Empty: absent. */
  parts: Part[];
  /** The delete record that is the base, kept for garbage accounting. */
  tomb: { seg: Segment; size: number } | undefined;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_COMPACT_GARBAGE = 8 * 1024 * 1024;
const DEFAULT_COMPACT_SEGMENTS = 64;
/** Segments smaller than this are always worth merging. */
const SMALL_SEGMENT_BYTES = 1024 * 1024;
/** Bytes read per call when scanning a segment. */
const SCAN_CHUNK = 4 * 1024 * 1024;

const newer = (stamp: number, tag: number, than: { stamp: number; tag: number }) =>
  stamp > than.stamp || (stamp === than.stamp && tag > than.tag);

/** A random lowercase id of `n` base-36 characters. */
export function randomId(n = 16): string {
  const bytes = new Uint8Array(n);
  crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += (b % 36).toString(36);
  return out;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === 'NotFoundError' || name === 'NotReadableError';
}

/** Name of the Web Lock a writer holds for as long as it lives (so others can tell a dead writer's segments are complete). */
function writerLockName(root: string, writer: string): string {
  return `archive-storage:opfs:${root}:writer:${writer}`;
}

/** Writer ids whose lock is held right now, or undefined where Web Locks are missing (then every writer may be alive). */
async function liveWriters(root: string): Promise<Set<string> | undefined> {
  const locks = (globalThis as { navigator?: Navigator }).navigator?.locks;
  if (!locks?.query) return undefined;
  const prefix = writerLockName(root, '');
  const snapshot = await locks.query();
  const out = new Set<string>();
  for (const lock of snapshot.held ?? []) if (lock.name?.startsWith(prefix)) out.add(lock.name.slice(prefix.length));
  return out;
}

/** Takes this writer's lifetime lock; resolves the function that releases it. */
async function holdWriterLock(root: string, writer: string): Promise<() => void> {
  const locks = (globalThis as { navigator?: Navigator }).navigator?.locks;
  if (!locks?.request) return () => {};
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await new Promise<void>((granted, failed) => {
    locks.request(writerLockName(root, writer), () => {
      granted();
      return held;
    }).catch(failed);
  });
  return release;
}

/** Thrown when a segment the index points into is gone (compacted by another tab): the caller re-reads. */
class SegmentGone extends Error {}

/** The log-structured store over one OPFS directory. One instance per adapter (per tab or worker). */
export class PackEngine {
  readonly writer = randomId();
  /** Random tie-breaker of this writer's stamps. */
  private readonly tag = (crypto.getRandomValues(new Uint32Array(1))[0]! | 1) >>> 0;
  private lastStamp = 0;
  private seq = 0;

  private readonly segments = new Map<string, Segment>();
  private readonly index = new Map<string, KeyState>();
  private active: { seg: Segment; handle: SyncAccessHandle; size: number } | undefined;
  private refreshing: Promise<void> | undefined;
  /** Segments other writers told us grew (name → end offset), scanned before the next answer. */
  private readonly notices = new Map<string, number>();
  private channel: BroadcastChannel | undefined;
  private closed = false;
  private releaseWriterLock: () => void = () => {};
  private readonly segmentBytes: number;
  private readonly compactGarbage: number;
  private readonly compactSegments: number;

  private constructor(
    private readonly dir: FileSystemDirectoryHandle,
    private readonly options: EngineOptions,
  ) {
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.compactGarbage = options.compactGarbageBytes ?? DEFAULT_COMPACT_GARBAGE;
    this.compactSegments = options.compactSegments ?? DEFAULT_COMPACT_SEGMENTS;
  }

  /** Opens the directory `options.root` (creating it) and reads every segment in it. */
  static async open(options: EngineOptions): Promise<PackEngine> {
    const storage = (globalThis as { navigator?: Navigator }).navigator?.storage;
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
    engine.listen();
    return engine;
  }

  /** The name of the BroadcastChannel writers of `root` announce their batches on. */
  static channelName(root: string): string {
    return `archive-storage:opfs:${root}`;
  }

  private listen(): void {
    const BC = (globalThis as { BroadcastChannel?: typeof BroadcastChannel }).BroadcastChannel;
    if (!BC) return;
    this.channel = new BC(PackEngine.channelName(this.options.root));
    this.channel.onmessage = (event: MessageEvent) => {
      const msg = event.data as { type?: string; segment?: string; end?: number; writer?: string };
      if (msg?.type === 'commit' && msg.writer !== this.writer && typeof msg.segment === 'string' && typeof msg.end === 'number') {
        this.notices.set(msg.segment, Math.max(this.notices.get(msg.segment) ?? 0, msg.end));
      } else if (msg?.type === 'compacted') {
        this.notices.set('*', 0);
      }
    };
  }

  // ---------------------------------------------------------------- clock

  private nextStamp(): number {
    const s = Math.max(Date.now() * 1024, this.lastStamp + 1);
    this.lastStamp = s;
    return s;
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
    return (this.index.get(key)?.parts.length ?? 0) > 0;
  }

  /** Existence of each of `keys`, in order (see {@link read} on freshness). */
  async hasMany(keys: readonly string[]): Promise<boolean[]> {
    await this.catchUp();
    return keys.map((key) => (this.index.get(key)?.parts.length ?? 0) > 0);
  }

  /** Up to `limit` keys starting with `prefix` and sorting after `after`, in order (see {@link read} on freshness). */
  async listPage(prefix: string, after: string | undefined, limit: number): Promise<string[]> {
    await this.catchUp();
    const out: string[] = [];
    for (const [key, state] of this.index) {
      if (state.parts.length === 0 || !key.startsWith(prefix)) continue;
      if (after !== undefined && key <= after) continue;
      out.push(key);
    }
    out.sort();
    return out.length > limit ? out.slice(0, limit) : out;
  }

  private async readParts(parts: readonly Part[]): Promise<Uint8Array> {
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
    if (this.notices.size === 0) return;
    if (this.notices.has('*')) {
      this.notices.clear();
      await this.rebuild();
      return;
    }
    const names = [...this.notices.keys()];
    this.notices.clear();
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
    const seg: Segment = {
      name,
      writer,
      seq,
      own: writer === this.writer,
      handle,
      scannedTo: 0,
      sealed: false,
      totalBytes: 0,
      liveBytes: 0,
      file: undefined,
      broken: false,
    };
    this.segments.set(name, seg);
    return seg;
  }

  /** Reads the committed batches of `seg` past `seg.scannedTo` and applies them. */
  private async scanTail(seg: Segment): Promise<void> {
    if (seg.broken) return;
    const file = await this.fileOf(seg);
    seg.file = file;
    let from = seg.scannedTo;
    if (from === 0) {
      if (file.size < SEGMENT_HEADER_BYTES) return; // being created
      const head = new Uint8Array(await file.slice(0, SEGMENT_HEADER_BYTES).arrayBuffer());
      if (!isSegmentHeader(head)) {
        seg.broken = true;
        return;
      }
      from = SEGMENT_HEADER_BYTES;
      seg.scannedTo = from;
    }
    while (from < file.size) {
      // Whole batches only: read generously, parse, and continue from the last commit.
      const to = Math.min(file.size, from + SCAN_CHUNK);
      let bytes = new Uint8Array(await file.slice(from, to).arrayBuffer());
      let parsed = parseRecords(bytes, from);
      if (parsed.committedEnd === from && !parsed.damaged && to < file.size) {
        // A batch larger than the chunk: read it all.
        bytes = new Uint8Array(await file.slice(from, file.size).arrayBuffer());
        parsed = parseRecords(bytes, from);
      }
      this.applyAll(seg, parsed.records);
      if (parsed.damaged) {
        // A batch torn by a crash: nothing after it is trusted (its writer never appends past a tear).
        seg.broken = seg.sealed || seg.own;
      }
      if (parsed.committedEnd === from) break;
      from = parsed.committedEnd;
      seg.scannedTo = from;
    }
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
      if (r.stamp > this.lastStamp) this.lastStamp = r.stamp;
      this.apply(seg, r.type, r.key, r.stamp, r.tag, r.valueOffset, r.valueLength, r.size);
    }
  }

  // ---------------------------------------------------------------- the index

  private garbage(seg: Segment, size: number): void {
    seg.liveBytes -= size;
  }

  /** Applies one record to the index: last stamp wins, appends after their base in stamp order. */
  private apply(seg: Segment, type: ChangeType, key: string, stamp: number, tag: number, offset: number, length: number, size: number): void {
    seg.totalBytes += size;
    seg.liveBytes += size;
    const state = this.index.get(key);
    if (state && !newer(stamp, tag, state)) {
      // Older than the key's last put or delete (or the same record seen twice, e.g. a compaction copy).
      this.garbage(seg, size);
      return;
    }
    if (type === RecordType.Append) {
      const part: Part = { seg, offset, length, stamp, tag, size, append: true };
      if (!state) {
        this.index.set(key, { stamp: -Infinity, tag: 0, parts: [part], tomb: undefined });
        return;
      }
      let i = state.parts.length;
      while (i > 0 && newer(state.parts[i - 1]!.stamp, state.parts[i - 1]!.tag, part) && state.parts[i - 1]!.append) i--;
      state.parts.splice(i, 0, part);
      return;
    }
    // A put or delete newer than the base: it becomes the base; older pieces become garbage.
    const kept: Part[] = [];
    if (state) {
      for (const p of state.parts) {
        if (p.append && newer(p.stamp, p.tag, { stamp, tag })) kept.push(p);
        else this.garbage(p.seg, p.size);
      }
      if (state.tomb) this.garbage(state.tomb.seg, state.tomb.size);
    }
    if (type === RecordType.Put) {
      kept.unshift({ seg, offset, length, stamp, tag, size, append: false });
      this.index.set(key, { stamp, tag, parts: kept, tomb: undefined });
    } else {
      this.index.set(key, { stamp, tag, parts: kept, tomb: { seg, size } });
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
      stamp: this.nextStamp(),
      tag: this.tag,
    }));
    await this.appendRecords(inputs);
  }

  /** Encodes `inputs` (stamps and tags already set) as one batch, appends it durably, applies it. */
  private async appendRecords(inputs: readonly RecordInput[]): Promise<void> {
    const { bytes, valueOffsets } = encodeBatch(inputs, this.lastStamp, this.tag);
    const { seg, base } = this.options.mode === 'sync' ? await this.appendSync(bytes) : await this.appendWritable(bytes);
    let at = base;
    inputs.forEach((input, i) => {
      const valueOffset = base + valueOffsets[i]!;
      const valueLength = input.type === RecordType.Delete ? 0 : (input.value?.byteLength ?? 0);
      this.apply(seg, input.type, input.key, input.stamp, input.tag, valueOffset, valueLength, valueOffset + valueLength - at);
      at = valueOffset + valueLength;
    });
    seg.scannedTo = base + bytes.byteLength;
    this.channel?.postMessage({ type: 'commit', writer: this.writer, segment: seg.name, end: seg.scannedTo });
  }

  /** Appends to the active segment through its sync access handle, flushed before returning. */
  private async appendSync(bytes: Uint8Array): Promise<{ seg: Segment; base: number }> {
    if (this.active && this.active.size + bytes.byteLength > this.segmentBytes && this.active.size > SEGMENT_HEADER_BYTES) {
      this.sealActive();
    }
    if (!this.active) await this.startSegment();
    const active = this.active!;
    const base = active.size;
    try {
      const written = active.handle.write(bytes, { at: base });
      if (written !== bytes.byteLength) throw new Error(`short write: ${written} of ${bytes.byteLength} bytes`);
      active.handle.flush();
    } catch (error) {
      // Take the partial batch back so the segment ends at a commit; if even that fails, never append here again.
      try {
        active.handle.truncate(base);
        active.handle.flush();
      } catch {
        this.sealActive();
      }
      throw error;
    }
    active.size = base + bytes.byteLength;
    return { seg: active.seg, base };
  }

  private async startSegment(): Promise<void> {
    const name = segmentName(this.writer, this.seq++);
    const handle = (await this.dir.getFileHandle(name, { create: true })) as FileHandleWithSync;
    const sync = await handle.createSyncAccessHandle();
    try {
      const header = segmentHeader();
      sync.truncate(0);
      sync.write(header, { at: 0 });
      sync.flush();
    } catch (error) {
      sync.close();
      await this.dir.removeEntry(name).catch(() => {});
      throw error;
    }
    const seg = this.addSegment(name, this.writer, this.seq - 1, handle);
    seg.scannedTo = SEGMENT_HEADER_BYTES;
    this.active = { seg, handle: sync, size: SEGMENT_HEADER_BYTES };
  }

  private sealActive(): void {
    if (!this.active) return;
    try {
      this.active.handle.close();
    } catch {
      /* already closed */
    }
    this.active.seg.sealed = true;
    this.active.seg.file = undefined;
    this.active = undefined;
  }

  /** Writes the batch as a new, whole segment file (the browser swaps it in on close). */
  private async appendWritable(bytes: Uint8Array): Promise<{ seg: Segment; base: number }> {
    const name = segmentName(this.writer, this.seq++);
    const handle = await this.dir.getFileHandle(name, { create: true });
    const header = segmentHeader();
    const whole = new Uint8Array(header.byteLength + bytes.byteLength);
    whole.set(header);
    whole.set(bytes, header.byteLength);
    try {
      try {
        await writeWholeFile(handle, whole, whole.byteLength);
      } catch (error) {
        if (!isDataPipeAbort(error)) throw error;
        // Chromium may close a large write's data pipe before its verdict (often
        // QuotaExceededError) reaches the page, which then sees only this AbortError.
        // Written again in pieces that fit the pipe, the browser's answer arrives:
        // the real error, or success when the abort was something passing.
        await writeWholeFile(handle, whole, PIPE_SAFE_CHUNK);
      }
    } catch (error) {
      await this.dir.removeEntry(name).catch(() => {});
      throw error;
    }
    const seg = this.addSegment(name, this.writer, this.seq - 1, handle);
    seg.sealed = true;
    return { seg, base: header.byteLength };
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

  /**
   * Segments a compaction would rewrite. `all`: every complete one (and our
   * active one, which it seals). Otherwise only those worth it: small ones
   * (the main-thread engine writes one file per batch), mostly-garbage ones,
   * and damaged ones; a big segment that is mostly live is left alone, so
   * compaction never keeps rewriting the same data as the archive grows.
   */
  private compactionCandidates(all: boolean): Set<Segment> {
    const out = new Set<Segment>();
    for (const seg of this.segments.values()) {
      const ownActive = this.active?.seg === seg;
      if (!(seg.sealed || seg.broken || ownActive)) continue; // other writers' growing segments are theirs
      const worth = seg.broken || (!ownActive && seg.totalBytes < SMALL_SEGMENT_BYTES) || seg.liveBytes * 2 < seg.totalBytes;
      if (all || worth) out.add(seg);
    }
    return out;
  }

  /** True when a compaction would pay for itself: enough garbage, or many small files, among its candidates. */
  wantsCompaction(): boolean {
    let garbage = 0;
    let small = 0;
    for (const seg of this.compactionCandidates(false)) {
      garbage += seg.totalBytes - seg.liveBytes;
      if (seg.totalBytes < SMALL_SEGMENT_BYTES) small++;
    }
    return garbage >= this.compactGarbage || small >= this.compactSegments;
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
    const locks = (globalThis as { navigator?: Navigator }).navigator?.locks;
    const run = async (): Promise<boolean> => {
      await this.refresh();
      const candidates = this.compactionCandidates(all);
      if (candidates.size === 0) return false;
      if (this.active && candidates.has(this.active.seg)) this.sealActive();
      const batch: RecordInput[] = [];
      let batchBytes = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        await this.appendRecordsRaw(batch.splice(0));
        batchBytes = 0;
      };
      for (const [key, state] of [...this.index]) {
        for (const part of state.parts) {
          if (!candidates.has(part.seg)) continue;
          const value = await this.readRange(part.seg, part.offset, part.length);
          batch.push({ type: part.append ? RecordType.Append : RecordType.Put, key, value, stamp: part.stamp, tag: part.tag });
          batchBytes += value.byteLength + key.length;
        }
        if (state.tomb && candidates.has(state.tomb.seg)) {
          batch.push({ type: RecordType.Delete, key, stamp: state.stamp, tag: state.tag });
          batchBytes += key.length;
        }
        if (batchBytes >= 16 * 1024 * 1024) await flush();
      }
      await flush();
      for (const seg of candidates) {
        try {
          await this.dir.removeEntry(seg.name);
        } catch {
          // Still open somewhere (or already gone): its records are copied, so it is only garbage now.
        }
      }
      this.channel?.postMessage({ type: 'compacted', writer: this.writer });
      this.resetIndex();
      await this.refresh();
      return true;
    };
    if (!locks?.request) return run();
    return locks.request(`archive-storage:opfs:${this.options.root}:compact`, { ifAvailable: true }, (lock) => (lock ? run() : false));
  }

  /** Appends already-stamped records as one batch without applying them (compaction re-reads afterwards). */
  private async appendRecordsRaw(inputs: readonly RecordInput[]): Promise<void> {
    const { bytes } = encodeBatch(inputs, this.lastStamp, this.tag);
    if (this.options.mode === 'sync') await this.appendSync(bytes);
    else await this.appendWritable(bytes);
  }

  /** Releases the sync access handle. The engine cannot be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sealActive();
    this.channel?.close();
    this.releaseWriterLock();
  }
}

/** Pieces of a retried `createWritable` write: small enough to fit a data pipe's buffer at once. */
const PIPE_SAFE_CHUNK = 64 * 1024;

/** Writes `bytes` as the whole new content of `handle` (swapped in on close), `chunk` bytes per write call. */
async function writeWholeFile(handle: FileSystemFileHandle, bytes: Uint8Array<ArrayBuffer>, chunk: number): Promise<void> {
  let stream: FileSystemWritableFileStream | undefined;
  try {
    stream = await handle.createWritable();
    if (bytes.byteLength <= chunk) await stream.write(bytes);
    else for (let at = 0; at < bytes.byteLength; at += chunk) await stream.write(bytes.subarray(at, at + chunk));
    await stream.close();
  } catch (error) {
    await stream?.abort().catch(() => {});
    throw error;
  }
}

/** Chromium's `AbortError: Failed to write data to data pipe` (see appendWritable). */
function isDataPipeAbort(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'AbortError' && /data pipe/i.test(String((error as Error).message));
}
