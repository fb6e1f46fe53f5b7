/**
 * `openArchive`: the content-addressable archive over any {@link StorageAdapter}.
 *
 * Layout (the portable layout once closed; spelled in `layout.ts`):
 * - `objects/<aa>/<bb>/<hash>.json`: exactly the canonical bytes of a value.
 * - `index.json`: the compacted index (see `index-file.ts`).
 * - `journal/*.log`: index changes since the last compaction (see `journal.ts`).
 * - `quarantine/`: corrupt objects moved aside by `verify({ repair: true })`.
 *
 * A handle is four parts, one concern each: this public class (reads, and the
 * checks in front of every write), the commit queue that group-commits writes
 * (`commit-queue.ts`), the index with its journal, compaction and rebuild
 * (`index-state.ts`), and verify/gc (`maintenance.ts`).
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { canonicalBytes, type JsonValue } from '../json/canonical.js';
import { ClosedError, CorruptIndexError, CorruptObjectError, InvalidArgumentError, InvalidJsonError, NotFoundError, throwIfAborted } from '../errors.js';
import { sha256HexAsync } from '../hash.js';
import { openReferences, type References } from '../refs/index.js';
import { ChangeHub } from '../changes/hub.js';
import type { ArchiveChange, ChangesOptions, WatchOptions } from '../changes/types.js';
import { CommitQueue } from './commit-queue.js';
import { assertCanonicalBytes, assertHash } from './hash-args.js';
import { IndexState } from './index-state.js';
import type { LiveCell } from './view.js';
import { mapCells, resumable, type CellStream } from './v2/merge.js';
import { INDEX_KEY, JOURNAL_PREFIX, objectKey } from './layout.js';
import { collectGarbage, verifyArchive } from './maintenance.js';
import { hashing } from './put-items.js';
import { checkOpenArguments, resolveSettings, type ArchiveSettings } from './settings.js';
import type {
  ArchiveCallOptions,
  ArchiveStats,
  ContentArchive,
  GcOptions,
  GcReport,
  IndexEntry,
  OpenArchiveOptions,
  VerifyOptions,
  VerifyReport,
} from './types.js';

// Once exported from here; the layout module spells them now.
export { hashOfObjectKey, INDEX_LOCK } from './layout.js';

const decoder = /* @__PURE__ */ new TextDecoder();

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
  checkOpenArguments(adapter, options);
  const archive = new Archive(resolveSettings(adapter, options));
  await archive.state.load(options.signal);
  return archive;
}

class Archive implements ContentArchive {
  readonly adapter: StorageAdapter;
  readonly state: IndexState;
  readonly commits: CommitQueue;
  private closing = false;
  private closed = false;
  private refsHandle: References | undefined;
  private readonly hub: ChangeHub;

  constructor(readonly settings: ArchiveSettings) {
    this.adapter = settings.adapter;
    this.state = new IndexState(settings);
    this.commits = new CommitQueue(settings, this.state);
    const { adapter, now, changeRetentionMs, concurrency } = settings;
    this.hub = new ChangeHub({ adapter, now, retentionMs: changeRetentionMs, concurrency, channel: `archive-storage:changes:${adapter.name}` });
    // The journal's writer id, so that this handle's own segments read as local changes.
    this.hub.noteWriter(this.state.writerId);
  }

  /** Opened on first use: an adapter with neither compare-and-swap nor a lock still opens as an archive. */
  get refs(): References {
    return (this.refsHandle ??= openReferences(this, { changeRetentionMs: this.settings.changeRetentionMs }));
  }

  // ---------------------------------------------------------------- change events

  changes(options?: ChangesOptions): AsyncIterable<ArchiveChange> {
    this.assertOpen();
    return this.hub.changes(options);
  }

  watch(listener: (change: ArchiveChange) => void, options?: WatchOptions): () => void {
    this.assertOpen();
    return this.hub.watch(listener, options);
  }

  /** A references handle on this archive writes its change segments as `id` (ReferenceArchive). */
  noteChangeWriter(id: string): void {
    this.hub.noteWriter(id);
  }

  /** A change of this handle (or of a references handle on it) is stored: wake the listeners (ReferenceArchive). */
  announceChange(): void {
    this.hub.announce();
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

  list(options?: ArchiveCallOptions): AsyncIterable<string> {
    return mapCells(this.listing(options?.signal), (c) => c.hash, options?.signal);
  }

  entries(options?: ArchiveCallOptions): AsyncIterable<IndexEntry> {
    return mapCells(this.listing(options?.signal), ({ hash, rec }) => ({ hash, path: objectKey(hash), size: rec.size, storedAt: rec.storedAt }), options?.signal);
  }

  /**
   * The index's live cells in hash order, a page's worth at a time (an item
   * of list() or entries() is then answered without a generator step). A
   * damaged piece is rebuilt (auto-repair) and the listing goes on after the
   * last hash given. Nothing happens before the first item is asked for.
   */
  private listing(signal: AbortSignal | undefined): CellStream<LiveCell> {
    return resumable<LiveCell>(
      '',
      (at, inclusive) => {
        this.assertOpen();
        return this.state.view.entries(inclusive ? at : at + '0', undefined, signal);
      },
      async (e, attempt) => {
        if (attempt > 0 || !(e instanceof CorruptIndexError) || !this.settings.autoRepair) return false;
        await this.state.serialised(() => this.state.rebuild(signal));
        return true;
      },
    );
  }

  async stats(options?: ArchiveCallOptions): Promise<ArchiveStats> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    return this.state.view.stats(options?.signal);
  }

  // ---------------------------------------------------------------- writes

  async put(value: unknown, options?: ArchiveCallOptions): Promise<string> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    const [item] = hashing([canonicalBytes(value)]);
    await this.commits.submitPuts([item!], options?.signal);
    this.hub.announce();
    return item!.hash;
  }

  async putBytes(bytes: Uint8Array, options?: ArchiveCallOptions): Promise<string> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    assertCanonicalBytes(bytes);
    const [item] = hashing([new Uint8Array(bytes)]);
    await this.commits.submitPuts([item!], options?.signal);
    this.hub.announce();
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
    await this.commits.submitPuts(items, options?.signal);
    this.hub.announce();
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
    await this.commits.submitPuts(items, options?.signal);
    this.hub.announce();
    return items.map((it) => it.hash);
  }

  async delete(hash: string, options?: ArchiveCallOptions): Promise<void> {
    this.assertOpen();
    assertHash(hash);
    throwIfAborted(options?.signal);
    await this.commits.submitDeletes([hash], options?.signal);
    this.hub.announce();
  }

  // ---------------------------------------------------------------- maintenance

  async verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    this.assertOpen();
    return verifyArchive(this, options);
  }

  async rebuildIndex(options?: ArchiveCallOptions): Promise<void> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    await this.state.serialised(() => this.state.rebuild(options?.signal));
  }

  async gc(options: GcOptions = {}): Promise<GcReport> {
    this.assertOpen();
    const report = await collectGarbage(this, options);
    if (report.deleted > 0) this.hub.announce();
    return report;
  }

  // ---------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.hub.close(); // ends every changes() iteration
    try {
      // Wait for queued writes, then leave a compacted index.json behind.
      await this.commits.whenIdle();
      await this.state.serialised(async () => {
        const raw = await this.adapter.read(INDEX_KEY);
        if (this.state.hasJournalRecords() || !raw || (await hasAny(this.adapter.list(JOURNAL_PREFIX)))) await this.state.compact(undefined, true);
      });
    } finally {
      this.closed = true;
    }
  }

  private assertOpen(): void {
    if (this.closed || this.closing) throw new ClosedError('the archive is closed; open it again with openArchive()');
  }
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
