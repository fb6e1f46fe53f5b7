/**
 * `openArchive`: the content-addressable archive over any {@link StorageAdapter}.
 *
 * Layout (the portable layout once closed):
 * - `objects/<aa>/<bb>/<hash>.json`: exactly the canonical bytes of a value.
 * - `index.json`: the compacted index (see `index-file.ts`).
 * - `journal/*.log`: index changes since the last compaction (see `journal.ts`).
 * - `quarantine/`: corrupt objects moved aside by `verify({ repair: true })`.
 *
 * Writes go through one in-process pipeline that group-commits: puts issued
 * while a batch is being committed are gathered into the next batch, which
 * costs one journal segment and one `writeMany` (one durability barrier)
 * however many values it holds; on an adapter whose `writeMany` is
 * all-or-nothing (`capabilities.atomicBatch`) the segment and the objects are
 * that one `writeMany`. `index.json` is rewritten only at compaction,
 * which runs when the journal has grown to a fraction of the index (so its
 * cost per put stays constant as the archive grows), under the adapter's lock.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { deleteEach, hasEach, writeBatch } from '../adapter/batch.js';
import { abortable } from '../internal/abort.js';
import { canonicalBytes, type JsonValue } from '../json/canonical.js';
import {
  AbortError,
  ClosedError,
  CorruptObjectError,
  InvalidArgumentError,
  InvalidJsonError,
  NotFoundError,
  throwIfAborted,
} from '../errors.js';
import { sha256Hex, sha256HexAsync } from '../hash.js';
import { KeyedMutex } from '../internal/mutex.js';
import { foldSegments, loadSegments, type LoadedSegment } from './fold.js';
import { assertCanonicalBytes, assertHash, isCanonicalJsonBytes } from './hash-args.js';
import { decodeIndex, encodeIndex, TornIndex, type IndexRecord } from './index-file.js';
import { encodeSegment, segmentKey, type JournalRecord } from './journal.js';
import { forEachLimit, mapLimit } from '../internal/pool.js';
import {
  INDEX_KEY,
  OBJECTS_PREFIX,
  objectKey,
  QUARANTINE_PREFIX,
  type ArchiveCallOptions,
  type ArchiveStats,
  type ContentArchive,
  type GcOptions,
  type GcReport,
  type IndexEntry,
  type OpenArchiveOptions,
  type VerifyOptions,
  type VerifyReport,
} from './types.js';

/** Name of the adapter lock that guards `index.json` and journal clean-up. */
export const INDEX_LOCK = 'archive-index';

const DEFAULTS = {
  compactAfter: 1024,
  pendingGraceMs: 60_000,
  lockTimeoutMs: 30_000,
  concurrency: 16,
  /** Most values one commit batch gathers from concurrent callers (a putMany is never split). */
  maxBatch: 2048,
};

const OBJECT_KEY = /^objects\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})\.json$/;

/** The hash named by an object key, or undefined when the key is not a well-formed object key. */
export function hashOfObjectKey(key: string): string | undefined {
  const m = OBJECT_KEY.exec(key);
  if (!m) return undefined;
  const hash = m[3]!;
  return hash.startsWith(m[1]! + m[2]!) ? hash : undefined;
}

const decoder = /* @__PURE__ */ new TextDecoder();

interface PutItem {
  /** Set once `hashed` settles. */
  hash: string;
  bytes: Uint8Array;
  /** The digest in progress (WebCrypto in browsers is async). */
  hashed: Promise<void>;
}

/** Digests in flight at once for one batch (WebCrypto copies its input, so unbounded would double a big batch's memory). */
const HASHES_IN_FLIGHT = 64;

/**
 * Put items whose hashes are being computed, a bounded number at a time. The
 * job joins the queue at once, so puts and deletes keep their call order; the
 * commit waits for the hashes.
 */
function hashing(list: readonly Uint8Array[]): PutItem[] {
  const items = list.map((bytes) => ({ hash: '', bytes }) as PutItem);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      // WebCrypto refused (e.g. an insecure context): the synchronous path gives the same digest.
      item.hash = await sha256HexAsync(item.bytes).catch(() => sha256Hex(item.bytes));
    }
  };
  const hashed = Promise.all(Array.from({ length: Math.min(HASHES_IN_FLIGHT, items.length) }, worker)).then(() => {});
  for (const item of items) item.hashed = hashed;
  return items;
}

interface Job {
  kind: 'put' | 'del';
  puts: PutItem[];
  dels: string[];
  signal: AbortSignal | undefined;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function randomId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  const bytes = new Uint8Array(8);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return [...bytes].map((b) => b.toString(36).padStart(2, '0')).join('').slice(0, 12);
}

const monotonic = (): number => (globalThis.performance ? globalThis.performance.now() : Date.now());

/**
 * Opens (or creates) the archive stored on `adapter`.
 *
 * Reads `index.json` and replays the journal; a missing index over existing
 * objects, or a torn one, is rebuilt from the objects when `autoRepairIndex`
 * is on (the default). The adapter stays the caller's: `close()` compacts the
 * index but does not close the adapter.
 *
 * @example
 * ```ts
 * const archive = await openArchive(memoryAdapter());
 * const hash = await archive.put({ hello: 'world' });
 * await archive.get(hash); // { hello: 'world' }
 * await archive.close();
 * ```
 */
export async function openArchive(adapter: StorageAdapter, options: OpenArchiveOptions = {}): Promise<ContentArchive> {
  if (!adapter || typeof adapter.read !== 'function' || typeof adapter.list !== 'function') {
    throw new InvalidArgumentError('openArchive needs a StorageAdapter (e.g. memoryAdapter() or nodeFsAdapter({ dir }))');
  }
  for (const k of ['compactAfter', 'pendingGraceMs', 'lockTimeoutMs', 'concurrency'] as const) {
    const v = options[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= (k === 'pendingGraceMs' ? 0 : 1))) {
      throw new InvalidArgumentError(`openArchive option ${k} must be a positive number, got ${String(v)}`);
    }
  }
  const archive = new Archive(adapter, options);
  await archive.load(options.signal);
  return archive;
}

class Archive implements ContentArchive {
  readonly adapter: StorageAdapter;
  private readonly now: () => number;
  private readonly autoRepair: boolean;
  private readonly compactAfter: number;
  private readonly graceMs: number;
  private readonly lockTimeoutMs: number;
  private readonly concurrency: number;
  private readonly writer = randomId();
  private seq = 0;

  /** The index as this handle knows it: index.json + journal + own changes. */
  private index = new Map<string, IndexRecord>();
  /** Journal records and segments not yet compacted (own and others' known ones). */
  private journalRecords = 0;
  private journalSegments = 0;
  /** Own segments whose operations succeeded: never pending; their put lines need no `has` in a routine fold. */
  private readonly completed = new Set<string>();
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
  private queue: Job[] = [];
  private draining = false;
  private closing = false;
  private closed = false;

  constructor(adapter: StorageAdapter, options: OpenArchiveOptions) {
    this.adapter = adapter;
    this.now = options.now ?? Date.now;
    this.autoRepair = options.autoRepairIndex ?? true;
    this.compactAfter = options.compactAfter ?? DEFAULTS.compactAfter;
    this.graceMs = options.pendingGraceMs ?? DEFAULTS.pendingGraceMs;
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs;
    this.concurrency = Math.floor(options.concurrency ?? DEFAULTS.concurrency);
    this.nextCompactAt = this.recordThreshold();
    this.nextCompactSegments = this.compactAfter;
  }

  // ---------------------------------------------------------------- open

  /** Loads index.json and the journal; rebuilds a lost or torn index when allowed. */
  async load(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const raw = await this.adapter.read(INDEX_KEY, { signal });
    let base: Map<string, IndexRecord> | undefined;
    if (raw) {
      const decoded = decodeIndex(raw);
      if (!(decoded instanceof TornIndex)) {
        base = decoded;
        this.stored = { bytes: raw, entries: decoded };
      }
      else if (this.autoRepair) return this.serialised(() => this.rebuild(signal));
      else base = new Map();
    } else if (await this.anyObject(signal)) {
      if (this.autoRepair) return this.serialised(() => this.rebuild(signal));
      base = new Map();
    } else {
      // A new archive: lay down an empty index.json, unless another writer just did more.
      await this.withIndexLock(async () => {
        if (!(await this.adapter.has(INDEX_KEY, { signal }))) await this.adapter.write(INDEX_KEY, encodeIndex(new Map()), { signal });
      }, signal);
      base = new Map();
    }
    const segments = await loadSegments(this.adapter, this.concurrency, signal);
    const folded = await this.fold(base, segments, signal);
    this.index = folded.entries; // a copy: `base` (the record of index.json) stays as read
    this.setJournalRecords(segments);
    if (this.journalRecords >= this.recordThreshold() || this.journalSegments >= this.compactAfter) await this.serialised(() => this.compactQuietly(signal));
  }

  private async anyObject(signal?: AbortSignal): Promise<boolean> {
    for await (const key of this.adapter.list(OBJECTS_PREFIX, { signal })) {
      if (hashOfObjectKey(key)) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- reads

  async getBytes(hash: string, options?: ArchiveCallOptions): Promise<Uint8Array> {
    this.assertOpen();
    assertHash(hash);
    throwIfAborted(options?.signal);
    const bytes = await this.adapter.read(objectKey(hash), { signal: options?.signal });
    if (!bytes) throw new NotFoundError(`no object ${hash} in the archive`);
    const actual = await sha256HexAsync(bytes);
    if (actual !== hash) throw new CorruptObjectError(hash, actual);
    return bytes;
  }

  async get<T extends JsonValue = JsonValue>(hash: string, options?: ArchiveCallOptions): Promise<T> {
    const bytes = await this.getBytes(hash, options);
    try {
      return JSON.parse(decoder.decode(bytes)) as T;
    } catch (e) {
      throw new CorruptObjectError(hash, hash, `object ${hash} hashes correctly but is not JSON; it was not stored by this archive`, { cause: e });
    }
  }

  async has(hash: string, options?: ArchiveCallOptions): Promise<boolean> {
    this.assertOpen();
    assertHash(hash);
    throwIfAborted(options?.signal);
    // The object, not the index, is the truth: another process may have added or removed it.
    return this.adapter.has(objectKey(hash), { signal: options?.signal });
  }

  async *list(options?: ArchiveCallOptions): AsyncIterable<string> {
    this.assertOpen();
    for (const hash of [...this.index.keys()]) {
      throwIfAborted(options?.signal);
      if (this.index.has(hash)) yield hash;
    }
  }

  async *entries(options?: ArchiveCallOptions): AsyncIterable<IndexEntry> {
    this.assertOpen();
    for (const hash of [...this.index.keys()]) {
      throwIfAborted(options?.signal);
      const e = this.index.get(hash);
      if (e) yield { hash, path: objectKey(hash), size: e.size, storedAt: e.storedAt };
    }
  }

  async stats(options?: ArchiveCallOptions): Promise<ArchiveStats> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    let bytes = 0;
    let oldest: number | undefined;
    let newest: number | undefined;
    for (const e of this.index.values()) {
      bytes += e.size;
      if (oldest === undefined || e.storedAt < oldest) oldest = e.storedAt;
      if (newest === undefined || e.storedAt > newest) newest = e.storedAt;
    }
    const out: ArchiveStats = { count: this.index.size, bytes };
    if (oldest !== undefined) out.oldest = oldest;
    if (newest !== undefined) out.newest = newest;
    return out;
  }

  // ---------------------------------------------------------------- writes

  async put(value: unknown, options?: ArchiveCallOptions): Promise<string> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    const [item] = hashing([canonicalBytes(value)]);
    await this.submitPuts([item!], options?.signal);
    return item!.hash;
  }

  async putBytes(bytes: Uint8Array, options?: ArchiveCallOptions): Promise<string> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    assertCanonicalBytes(bytes);
    const [item] = hashing([new Uint8Array(bytes)]);
    await this.submitPuts([item!], options?.signal);
    return item!.hash;
  }

  async putMany(values: Iterable<unknown>, options?: ArchiveCallOptions): Promise<string[]> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    if (values == null || typeof (values as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new InvalidArgumentError('putMany expects an iterable of JSON values');
    }
    // Canonicalise everything first: one bad value refuses the whole batch before anything is stored.
    const list: Uint8Array[] = [];
    for (const v of values) {
      try {
        list.push(canonicalBytes(v));
      } catch (e) {
        throw prefixJsonPath(e, list.length);
      }
    }
    const items = hashing(list);
    await this.submitPuts(items, options?.signal);
    return items.map((it) => it.hash);
  }

  async putManyBytes(list: Iterable<Uint8Array>, options?: ArchiveCallOptions): Promise<string[]> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    if (list == null || typeof (list as Iterable<Uint8Array>)[Symbol.iterator] !== 'function') {
      throw new InvalidArgumentError('putManyBytes expects an iterable of Uint8Array');
    }
    const copies: Uint8Array[] = [];
    for (const b of list) {
      assertCanonicalBytes(b, `$[${copies.length}]`);
      copies.push(new Uint8Array(b));
    }
    const items = hashing(copies);
    await this.submitPuts(items, options?.signal);
    return items.map((it) => it.hash);
  }

  async delete(hash: string, options?: ArchiveCallOptions): Promise<void> {
    this.assertOpen();
    assertHash(hash);
    throwIfAborted(options?.signal);
    await this.submit({ kind: 'del', puts: [], dels: [hash], signal: options?.signal });
  }

  private async submitPuts(items: PutItem[], signal: AbortSignal | undefined): Promise<void> {
    if (items.length === 0) return;
    await this.submit({ kind: 'put', puts: items, dels: [], signal });
  }

  /** Queues a job for the commit pipeline; resolves when it is committed. */
  private submit(job: Omit<Job, 'resolve' | 'reject'>): Promise<void> {
    throwIfAborted(job.signal);
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ ...job, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        void this.drain();
      }
    });
    // The caller may stop waiting on abort; the batch it joined still commits as a whole.
    return abortable(done, job.signal);
  }

  private async drain(): Promise<void> {
    // Let every put issued in this tick join the first batch.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      const live = batch.filter((j) => {
        if (!j.signal?.aborted) return true;
        j.reject(new AbortError(undefined, { cause: j.signal.reason }));
        return false;
      });
      if (live.length === 0) continue;
      try {
        await this.serialised(async () => {
          if (live[0]!.kind === 'put') await this.commitPuts(live.flatMap((j) => j.puts));
          else await this.commitDeletes(live.flatMap((j) => j.dels));
        });
        for (const j of live) j.resolve();
      } catch (e) {
        for (const j of live) j.reject(e);
      }
      if (this.journalRecords >= this.nextCompactAt || this.journalSegments >= this.nextCompactSegments) {
        await this.serialised(() => this.compactQuietly());
      }
    }
    this.draining = false;
  }

  /** The longest run of queued jobs of one kind, up to maxBatch items (a job is never split). */
  private takeBatch(): Job[] {
    const kind = this.queue[0]!.kind;
    let n = 0;
    let items = 0;
    while (n < this.queue.length) {
      const j = this.queue[n]!;
      if (j.kind !== kind) break;
      const size = j.puts.length + j.dels.length;
      if (n > 0 && items + size > DEFAULTS.maxBatch) break;
      items += size;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /** Commits a put batch: journal intent, then the objects behind one durability barrier. */
  private async commitPuts(all: PutItem[]): Promise<void> {
    await Promise.all(all.map((it) => it.hashed));
    const unique = new Map<string, PutItem>();
    for (const it of all) if (!unique.has(it.hash)) unique.set(it.hash, it);
    const items = [...unique.values()];
    if (this.adapter.capabilities.atomicBatch && this.adapter.writeMany) return this.commitPutsAtomically(items);
    const present = await hasEach(this.adapter, items.map((it) => objectKey(it.hash)), this.concurrency);
    const toWrite: PutItem[] = [];
    const toIndex: PutItem[] = [];
    items.forEach((it, i) => {
      if (!present[i]) {
        toWrite.push(it);
        toIndex.push(it);
      } else if (!this.index.has(it.hash)) toIndex.push(it); // an orphan: adopt it
    });
    if (toIndex.length === 0) return;
    const records = this.putRecords(toIndex);
    const started = monotonic();
    const segment = await this.writeSegment(records);
    if (toWrite.length === 1 && this.adapter.create) {
      await this.adapter.create(objectKey(toWrite[0]!.hash), toWrite[0]!.bytes);
    } else if (toWrite.length > 0) {
      await writeBatch(
        this.adapter,
        toWrite.map((it) => ({ key: objectKey(it.hash), bytes: it.bytes })),
      );
    }
    this.completed.add(segment);
    await this.rejournalIfSlow(started, records);
    this.indexPuts(records);
  }

  /**
   * The put commit on an adapter whose `writeMany` is all-or-nothing: the
   * journal segment and the objects go in ONE batch (one transaction, one
   * durability barrier), so neither can exist without the other and an
   * awaited put costs one backend round instead of three.
   *
   * Only values this handle already indexes are checked for presence (another
   * process may have deleted them); a value it does not know is written
   * without asking, since rewriting identical bytes over an existing object is
   * harmless and, at worst, adopts an orphan.
   */
  private async commitPutsAtomically(items: PutItem[]): Promise<void> {
    const known = items.filter((it) => this.index.has(it.hash));
    const present = await hasEach(this.adapter, known.map((it) => objectKey(it.hash)), this.concurrency);
    const missing = new Set(known.filter((_, i) => !present[i]));
    const toWrite = items.filter((it) => !this.index.has(it.hash) || missing.has(it));
    if (toWrite.length === 0) return;
    const records = this.putRecords(toWrite);
    const started = monotonic();
    const segment = this.nextSegment(records);
    await this.adapter.writeMany!([segment, ...toWrite.map((it) => ({ key: objectKey(it.hash), bytes: it.bytes }))]);
    this.noteSegment(segment.key, records);
    this.completed.add(segment.key);
    await this.rejournalIfSlow(started, records);
    this.indexPuts(records);
  }

  private putRecords(items: readonly PutItem[]): JournalRecord[] {
    const storedAt = Math.floor(this.now());
    return items.map((it) => ({ op: 'put', hash: it.hash, size: it.bytes.byteLength, storedAt }));
  }

  private indexPuts(records: readonly JournalRecord[]): void {
    for (const r of records) if (r.op === 'put' && !this.index.has(r.hash)) this.index.set(r.hash, { size: r.size, storedAt: r.storedAt });
  }

  /** Commits a delete batch: journal intent, then the objects. */
  private async commitDeletes(all: string[]): Promise<void> {
    const hashes = [...new Set(all)];
    const present = await hasEach(this.adapter, hashes.map(objectKey), this.concurrency);
    const targets = hashes.filter((h, i) => present[i] || this.index.has(h));
    if (targets.length === 0) return;
    const records: JournalRecord[] = targets.map((hash) => ({ op: 'del', hash }));
    const started = monotonic();
    const segment = await this.writeSegment(records);
    await deleteEach(this.adapter, targets.map(objectKey), this.concurrency);
    this.completed.add(segment);
    await this.rejournalIfSlow(started, records);
    for (const h of targets) this.index.delete(h);
  }

  /**
   * An operation slower than half the pending grace may have had its intent
   * voided by another process's compaction while it ran: write the lines again
   * now that the objects are settled, so no entry is lost.
   */
  private async rejournalIfSlow(started: number, records: JournalRecord[]): Promise<void> {
    if (monotonic() - started > this.graceMs / 2) this.completed.add(await this.writeSegment(records));
  }

  private async writeSegment(records: JournalRecord[]): Promise<string> {
    const segment = this.nextSegment(records);
    await this.adapter.write(segment.key, segment.bytes);
    this.noteSegment(segment.key, records);
    return segment.key;
  }

  /** The next journal segment of this writer, encoded (not yet written). */
  private nextSegment(records: readonly JournalRecord[]): { key: string; bytes: Uint8Array } {
    return { key: segmentKey(this.now(), this.writer, this.seq++), bytes: encodeSegment(records) };
  }

  /** Books a segment this handle has written. */
  private noteSegment(key: string, records: JournalRecord[]): void {
    this.ownSegments.set(key, records);
    this.journalRecords += records.length;
    this.journalSegments++;
  }

  // ---------------------------------------------------------------- index maintenance

  /**
   * Journal records before a compaction. A compaction rewrites the whole index,
   * so the threshold grows with it (a quarter of the index: O(1) index bytes per
   * put at any size). Segments are bounded separately by `compactAfter`: each
   * costs a read when an archive is opened, so single puts (one segment each)
   * fold after `compactAfter` of them, while batches (many records per segment)
   * may gather up to four times as many records first.
   */
  private recordThreshold(): number {
    return Math.max(4 * this.compactAfter, Math.floor(this.index.size / 4));
  }

  private setJournalRecords(pending: readonly LoadedSegment[]): void {
    this.journalRecords = pending.reduce((n, s) => n + s.records.length, 0);
    this.journalSegments = pending.length;
    this.scheduleNextCompaction();
  }

  /** After a compaction (or a failed one): what is left counts toward the next. */
  private scheduleNextCompaction(): void {
    this.nextCompactAt = this.journalRecords + this.recordThreshold();
    this.nextCompactSegments = this.journalSegments + this.compactAfter;
  }

  private fold(base: ReadonlyMap<string, IndexRecord>, segments: readonly LoadedSegment[], signal?: AbortSignal, trust = true) {
    return foldSegments({
      adapter: this.adapter,
      base,
      segments,
      completed: this.completed,
      ownWriter: this.writer,
      trustCompleted: trust,
      now: this.now(),
      graceMs: this.graceMs,
      concurrency: this.concurrency,
      signal,
    });
  }

  /** Runs `fn` holding the adapter's cross-process index lock, when the adapter has one. */
  private withIndexLock<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.adapter.capabilities.locking && this.adapter.lock) {
      return this.adapter.lock(INDEX_LOCK, fn, { timeoutMs: this.lockTimeoutMs, signal });
    }
    return fn();
  }

  /** Runs `fn` exclusive of every other write or maintenance step of this handle. */
  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial.run('archive', fn);
  }

  /**
   * Folds index.json and every journal segment into a new index.json, then
   * deletes the settled segments. Call inside `serialised`.
   */
  private async compact(signal?: AbortSignal): Promise<void> {
    await this.withIndexLock(async () => {
      const raw = await this.adapter.read(INDEX_KEY, { signal });
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

  /** Folds `segments` into `base`, stores index.json, deletes settled segments, adopts the result. */
  private async storeFold(base: ReadonlyMap<string, IndexRecord>, segments: LoadedSegment[], signal?: AbortSignal, trust = true): Promise<void> {
    const folded = await this.fold(base, segments, signal, trust);
    const bytes = encodeIndex(folded.entries);
    this.stored = undefined; // until the write is known to have landed
    await this.adapter.write(INDEX_KEY, bytes, { signal });
    this.stored = { bytes, entries: folded.entries };
    // From here on the index holds everything; a failed delete only leaves a segment to fold again.
    await deleteEach(this.adapter, folded.settled, this.concurrency);
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
    const segments = await loadSegments(this.adapter, this.concurrency, signal, this.ownSegments);
    const listed = new Set(segments.map((s) => s.key));
    for (const key of this.ownSegments.keys()) if (!listed.has(key)) this.ownSegments.delete(key);
    return segments;
  }

  /** Compaction as housekeeping: a failure (lock busy, backend hiccup) is retried after more writes. */
  private async compactQuietly(signal?: AbortSignal): Promise<void> {
    try {
      await this.compact(signal);
    } catch {
      this.scheduleNextCompaction();
    }
  }

  /** Scans the objects (reading and hashing each) and stores the index they imply. Holds the lock. */
  private async rebuild(signal?: AbortSignal): Promise<void> {
    await this.withIndexLock(() => this.rebuildLocked(signal), signal);
  }

  private async rebuildLocked(signal?: AbortSignal, onScan?: ScanObserver): Promise<ScanResult> {
    const scan = await this.scanObjects(signal, onScan);
    const base = new Map<string, IndexRecord>();
    const storedAt = Math.floor(this.now());
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

  async rebuildIndex(options?: ArchiveCallOptions): Promise<void> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    await this.serialised(() => this.rebuild(options?.signal));
  }

  // ---------------------------------------------------------------- verify, gc

  /**
   * Reads every object once, with a few reads in flight, keeping only hashes
   * and sizes (never the bytes) in memory.
   */
  private async scanObjects(signal?: AbortSignal, observe?: ScanObserver): Promise<ScanResult> {
    const good = new Map<string, number>();
    const corrupt: string[] = [];
    const corruptKeys: string[] = [];
    await forEachLimit(
      this.adapter.list(OBJECTS_PREFIX, { signal }),
      this.concurrency,
      async (key) => {
        const hash = hashOfObjectKey(key);
        const bytes = await this.adapter.read(key, { signal });
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

  async verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    this.assertOpen();
    const { signal, onProgress, repair } = options;
    throwIfAborted(signal);
    const total = this.index.size;
    let done = 0;
    let bytes = 0;
    const observe: ScanObserver = (n) => {
      done++;
      bytes += n;
      if (onProgress && (done % 64 === 0 || done === total)) onProgress({ done, total: Math.max(total, done), bytes });
    };
    const run = async (): Promise<VerifyReport> => {
      const indexed = new Map(this.index);
      const scan = await this.scanObjects(signal, observe);
      onProgress?.({ done, total: Math.max(total, done), bytes });
      const orphaned = [...scan.good.keys()].filter((h) => !indexed.has(h)).sort();
      const corruptSet = new Set(scan.corrupt);
      const unseen = [...indexed.keys()].filter((h) => !scan.good.has(h) && !corruptSet.has(h));
      // Confirm before reporting: an object put after the listing passed its shard is not missing.
      const stillThere = await hasEach(this.adapter, unseen.map(objectKey), this.concurrency, { signal });
      const missing = unseen.filter((_, i) => !stillThere[i]).sort();
      const corrupt = [...scan.corrupt].sort();
      const ok = corrupt.length === 0 && missing.length === 0 && orphaned.length === 0;
      let repaired = false;
      if (repair && !ok) {
        throwIfAborted(signal);
        for (const key of scan.corruptKeys) await this.quarantine(key, signal);
        await this.rebuildLocked(signal);
        repaired = true;
      }
      return { checked: done, corrupt, missing, orphaned, ok, repaired };
    };
    // A repairing verify holds the index lock throughout, so no compaction can slip between its scan and its rebuild.
    return repair ? this.serialised(() => this.withIndexLock(run, signal)) : run();
  }

  /** Moves a corrupt object under quarantine/ (copy, then delete the original). */
  private async quarantine(key: string, signal?: AbortSignal): Promise<void> {
    const bytes = await this.adapter.read(key, { signal });
    if (!bytes) return;
    await this.adapter.write(QUARANTINE_PREFIX + key.slice(OBJECTS_PREFIX.length), bytes);
    await this.adapter.delete(key);
  }

  async gc(options: GcOptions = {}): Promise<GcReport> {
    this.assertOpen();
    const { signal, keep } = options;
    throwIfAborted(signal);
    let keepSet: Set<string> | undefined;
    if (keep !== undefined) {
      if (keep === null || (typeof (keep as Iterable<string>)[Symbol.iterator] !== 'function' && typeof (keep as AsyncIterable<string>)[Symbol.asyncIterator] !== 'function')) {
        throw new InvalidArgumentError('gc({ keep }) expects an iterable of hashes');
      }
      keepSet = new Set();
      // Validate every hash before deleting anything: a typo must not cost data.
      for await (const h of keep as AsyncIterable<string>) {
        assertHash(h, 'gc keep entry');
        keepSet.add(h);
      }
    }
    let deleted = 0;
    let bytesFreed = 0;
    // Leftovers: quarantined objects.
    const leftovers: string[] = [];
    for await (const key of this.adapter.list(QUARANTINE_PREFIX, { signal })) leftovers.push(key);
    await mapLimit(
      leftovers,
      this.concurrency,
      async (key) => {
        const bytes = await this.adapter.read(key, { signal });
        await this.adapter.delete(key);
        deleted++;
        bytesFreed += bytes?.byteLength ?? 0;
      },
      signal,
    );
    if (keepSet) {
      const doomed: string[] = [];
      for await (const key of this.adapter.list(OBJECTS_PREFIX, { signal })) {
        const hash = hashOfObjectKey(key);
        if (hash && !keepSet.has(hash)) doomed.push(hash);
      }
      const sizes = await mapLimit(
        doomed,
        this.concurrency,
        async (h) => this.index.get(h)?.size ?? (await this.adapter.read(objectKey(h), { signal }))?.byteLength ?? 0,
        signal,
      );
      for (let i = 0; i < doomed.length; i += DEFAULTS.maxBatch) {
        throwIfAborted(signal);
        await this.submit({ kind: 'del', puts: [], dels: doomed.slice(i, i + DEFAULTS.maxBatch), signal: undefined });
      }
      deleted += doomed.length;
      bytesFreed += sizes.reduce((a, b) => a + b, 0);
    }
    if (this.journalRecords > 0) await this.serialised(() => this.compactQuietly(signal));
    return { deleted, bytesFreed };
  }

  // ---------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    try {
      // Wait for queued writes, then leave a compacted index.json behind.
      await this.waitIdle();
      await this.serialised(async () => {
        const raw = await this.adapter.read(INDEX_KEY);
        if (this.journalRecords > 0 || !raw || (await hasAny(this.adapter.list('journal/')))) await this.compact();
      });
    } finally {
      this.closed = true;
    }
  }

  private async waitIdle(): Promise<void> {
    while (this.draining || this.queue.length > 0) {
      await this.serialised(async () => {});
      await new Promise((r) => setTimeout(r, 0));
    }
  }

  private assertOpen(): void {
    if (this.closed || this.closing) throw new ClosedError('the archive is closed; open it again with openArchive()');
  }
}

type ScanObserver = (bytes: number) => void;

interface ScanResult {
  /** hash → size of every object whose bytes hash to its name and are canonical JSON. */
  good: Map<string, number>;
  /** Hashes (or keys, for misnamed files) of damaged objects. */
  corrupt: string[];
  corruptKeys: string[];
}

/**
 * True when `a` and `b` hold the same bytes. Compared as text: decoding is native and
 * string equality a memory compare, while a byte loop over megabytes is slow in JS.
 * `index.json` is ASCII, so equal text means equal bytes.
 */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && decoder.decode(a) === decoder.decode(b);
}

async function hasAny(iter: AsyncIterable<string>): Promise<boolean> {
  for await (const _ of iter) return true;
  return false;
}

/** Re-roots an INVALID_JSON error's path `$…` at `$[i]…`, so a putMany refusal names the value. */
function prefixJsonPath(e: unknown, index: number): unknown {
  if (!(e instanceof InvalidJsonError)) return e;
  return new InvalidJsonError(`$[${index}]${e.path.slice(1)}`, e.reason, { cause: e.cause });
}
