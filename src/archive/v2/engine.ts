/**
 * Index v2's engine (docs/format.md, "Index v2"): the current root, a reader
 * per run, the bounded page cache, and every way the index changes — a fold's
 * changes written as a level-0 run, tiered merges, a whole new base (migration
 * from v1, rebuild), clean-up of pieces no root names. Memory holds the root,
 * the directories and filters of the runs it names, and the cache; never the
 * index.
 *
 * Every change follows the same order (crash safety): the run's pieces, then
 * the root (the adapter's atomic `write`), then the deletion of what the old
 * root named and the new one does not. Callers hold the adapter's index lock
 * around changes.
 *
 * Where the adapter has no lock but compare-and-swap (S3), the root is the
 * only thing changed in place and it changes only by `swap` against the
 * version it was read at: every change is computed from one root (a
 * {@link Base}) and committed on top of exactly that root or not at all
 * (`ConflictError`, the change's new pieces deleted again). The caller then
 * re-reads the root and computes its change again; nothing another writer
 * committed is ever replaced.
 *
 * @module
 */
import type { StorageAdapter } from '../../adapter/contract.js';
import { deleteEach } from '../../adapter/batch.js';
import { swapsNatively } from '../../adapter/cas.js';
import { ConflictError, CorruptIndexError } from '../../errors.js';
import { sha256Hex } from '../../hash.js';
import { mapLimit } from '../../internal/pool.js';
import type { IndexRecord } from '../index-file.js';
import { INDEX_KEY, INDEX_RUNS_PREFIX, runBloomKey, runDirectoryKey, runId, runOfKey, runPageKey } from '../layout.js';
import { decodeRoot, encodePage, encodeRoot, type Cell, type Root, type RunRef } from './codec.js';
import { forEachCell, mergeCells, resumable, type CellStream } from './merge.js';
import { PageCache } from './page-cache.js';
import { MissingPieceError, RunReader } from './run-reader.js';
import { RunWriter } from './run-writer.js';

/** Runs of one level that are merged into one run of the next. */
export const FANOUT = 4;
/** Entries of a level-0 run, roughly (a fold of 4 x compactAfter records): level L holds runs of about this x 4^L. */
export const LEVEL_BASE = 4096;

/** The root of an empty index. */
export const EMPTY_ROOT: Root = { count: 0, bytes: 0, oldest: null, newest: null, runs: [] };

/** What a fold changes for one hash: the new cell (`null` = remove) and what the runs held before. */
export interface Change {
  rec: IndexRecord | null;
  base: IndexRecord | undefined;
}

/** The level a run of `count` entries belongs to, so a big base run is not merged with small ones. */
export function levelFor(count: number): number {
  let level = 0;
  for (let cap = LEVEL_BASE; cap < count; cap *= FANOUT) level++;
  return level;
}

/** What the engine runs with. */
export interface EngineOptions {
  adapter: StorageAdapter;
  concurrency: number;
  now: () => number;
  /** Pieces no root names are deleted once their run id is this old (ms). */
  graceMs: number;
  cacheBytes?: number;
}

const decoder = /* @__PURE__ */ new TextDecoder();

/**
 * The root a change was computed from: the engine's `epoch` when it was
 * adopted (bumped by every adoption, so a root reloaded mid-change is noticed)
 * and its version token (`null`: no root stored; `''` when not swapping).
 */
export interface Base {
  readonly epoch: number;
  readonly version: string | null;
}

/** `index.json` as read, with the version token a swap needs (`''` when the adapter does not swap). */
export interface StoredIndex {
  bytes: Uint8Array;
  version: string;
}

/** See the module doc. */
export class IndexEngine {
  root: Root = EMPTY_ROOT;
  /** The bytes of `root` as read or written (undefined before any). */
  rootBytes: Uint8Array | undefined;
  readonly cache: PageCache;
  /** True when the root changes by compare-and-swap (the adapter has `swap` and no lock). */
  readonly swaps: boolean;
  /** Bumped by every {@link adopt}. */
  epoch = 0;
  /** Version token of `rootBytes` (swapping adapters); `null` before any root was read or written. */
  version: string | null = null;
  private readers = new Map<string, RunReader>();

  constructor(private readonly o: EngineOptions) {
    this.cache = new PageCache(o.cacheBytes);
    this.swaps = swapsNatively(o.adapter);
  }

  /** What a change computed from the current root is based on. */
  base(version: string | null = this.version): Base {
    return { epoch: this.epoch, version };
  }

  /** Reads `index.json` with its version token (what a later swap must match). */
  async readIndex(signal?: AbortSignal): Promise<StoredIndex | undefined> {
    if (this.swaps) return this.o.adapter.readVersioned!(INDEX_KEY, { signal });
    const bytes = await this.o.adapter.read(INDEX_KEY, { signal });
    return bytes && { bytes, version: '' };
  }

  /** Makes `root` current; readers of runs it still names are kept (with their directory and filter). */
  adopt(root: Root, bytes: Uint8Array, version: string | null = this.version): void {
    const next = new Map<string, RunReader>();
    for (const ref of root.runs) {
      const old = this.readers.get(ref.id);
      next.set(ref.id, old && old.ref.directory === ref.directory ? old : new RunReader(this.o.adapter, ref, this.cache));
    }
    this.readers = next;
    this.root = root;
    this.rootBytes = bytes;
    this.version = version;
    this.epoch++;
  }

  /** True when `bytes` are the current root's. */
  isCurrent(bytes: Uint8Array): boolean {
    const cur = this.rootBytes;
    return cur !== undefined && cur.byteLength === bytes.byteLength && decoder.decode(cur) === decoder.decode(bytes);
  }

  private reader(ref: RunRef): RunReader {
    return this.readers.get(ref.id) ?? new RunReader(this.o.adapter, ref, this.cache);
  }

  /**
   * Reads the root again after a piece went missing: another writer may have
   * merged the run away. True when the root differs from the one adopted at
   * `since` (an {@link epoch}): a different root was adopted now, or another
   * call of this handle adopted one in the meantime (two reads of one handle
   * can meet the same missing piece; the first to reload must not leave the
   * second believing the piece is damaged).
   */
  async reload(signal?: AbortSignal, since = this.epoch): Promise<boolean> {
    const stored = await this.readIndex(signal);
    if (!stored) throw new MissingPieceError(INDEX_KEY, `${INDEX_KEY} is missing`);
    if (!this.isCurrent(stored.bytes)) this.adopt(decodeRoot(stored.bytes), stored.bytes, stored.version);
    return this.epoch !== since;
  }

  /** Runs `fn`; when a piece is missing because the root moved on, again on the new root. */
  private async fresh<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const since = this.epoch;
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof MissingPieceError) || attempt >= 3 || !(await this.reload(signal, since))) throw e;
      }
    }
  }

  // ---------------------------------------------------------------- reading

  /** The live record of `hash` in the runs, newest run first; undefined when absent or removed. */
  lookup(hash: string, signal?: AbortSignal): Promise<IndexRecord | undefined> {
    return this.fresh(async () => {
      for (const ref of this.root.runs) {
        const r = await this.reader(ref).get(hash, signal);
        if (r !== undefined) return r ?? undefined;
      }
      return undefined;
    }, signal);
  }

  /**
   * {@link lookup} of each of `hashes`, in order. The Bloom filters are asked
   * first, synchronously, for all of them: most hashes a put brings are new,
   * and those then cost no page read and no await at all.
   */
  lookupMany(hashes: readonly string[], signal?: AbortSignal): Promise<(IndexRecord | undefined)[]> {
    if (this.root.runs.length === 0 || hashes.length === 0) return Promise.resolve(hashes.map(() => undefined));
    return this.fresh(async () => {
      const runs = this.root.runs.map((ref) => this.reader(ref));
      const blooms = await Promise.all(runs.map((r) => r.bloom(signal)));
      const out: (IndexRecord | undefined)[] = new Array(hashes.length).fill(undefined);
      const maybe: number[] = [];
      hashes.forEach((h, i) => {
        if (blooms.some((b, k) => runs[k]!.ref.count > 0 && b.mayContain(h))) maybe.push(i);
      });
      const found = await mapLimit(maybe, this.o.concurrency, (i) => this.lookup(hashes[i]!, signal), signal);
      maybe.forEach((i, n) => (out[i] = found[n]));
      return out;
    }, signal);
  }

  /**
   * Cells of the runs (tombstones included) with `from <= hash < to`, merged
   * in hash order, a batch at a time (no await per cell); a run merged away
   * under the scan is picked up from the newer root after the last hash given.
   */
  scan(from = '', to?: string, signal?: AbortSignal): CellStream {
    let since = this.epoch;
    return resumable(
      from,
      (at, inclusive) => {
        since = this.epoch;
        return mergeCells(this.root.runs.map((ref) => this.reader(ref).cells(at, inclusive, to, signal)));
      },
      async (e, attempt) => e instanceof MissingPieceError && attempt < 3 && (await this.reload(signal, since)),
    );
  }

  // ---------------------------------------------------------------- changing (under the index lock)

  /**
   * Writes `root` as the new `index.json` on top of `base` (by swap where the
   * adapter swaps), adopts it, then deletes the pieces of `dropped` runs it no
   * longer names. `ConflictError` when the stored root is no longer `base`'s:
   * nothing was written.
   */
  async commitRoot(root: Root, dropped: readonly RunRef[], signal?: AbortSignal, base: Base = this.base()): Promise<void> {
    this.assertBase(base);
    const bytes = encodeRoot(root);
    let version: string | null = this.version;
    if (this.swaps) {
      version = await this.o.adapter.swap!(INDEX_KEY, bytes, base.version, { signal });
      if (version === null) throw rootMoved();
    } else {
      await this.o.adapter.write(INDEX_KEY, bytes, { signal });
    }
    const old = dropped.map((ref) => this.reader(ref));
    this.adopt(root, bytes, version);
    const named = new Set(root.runs.map((r) => r.id));
    // The new root is durable: from here a failure only leaves pieces for clean-up.
    await this.deleteRuns(old.filter((r) => !named.has(r.ref.id))).catch(() => {});
  }

  /** Throws `ConflictError` when the current root is no longer the one `base` was taken from. */
  private assertBase(base: Base): void {
    if (base.epoch !== this.epoch) throw rootMoved();
  }

  /** {@link commitRoot} of a root naming the new run `fresh`; when it loses, `fresh`'s pieces are deleted again. */
  private async commitWith(fresh: RunRef | undefined, root: Root, dropped: readonly RunRef[], signal: AbortSignal | undefined, base: Base): Promise<void> {
    try {
      await this.commitRoot(root, dropped, signal, base);
    } catch (e) {
      if (e instanceof ConflictError && fresh) await this.deleteRuns([new RunReader(this.o.adapter, fresh, this.cache)]).catch(() => {});
      throw e;
    }
  }

  /** Writes a fold's changes as one level-0 run and a root naming it. No change, no write. */
  async writeFold(changes: ReadonlyMap<string, Change>, signal?: AbortSignal, base: Base = this.base()): Promise<void> {
    this.assertBase(base); // changes computed from another root must not be committed on this one
    const cells: Cell[] = [];
    let { count, bytes, oldest, newest } = this.root;
    for (const hash of [...changes.keys()].sort()) {
      const { rec, base } = changes.get(hash)!;
      if (rec && !base) {
        cells.push({ hash, rec });
        count++;
        bytes += rec.size;
        if (oldest === null || rec.storedAt < oldest) oldest = rec.storedAt;
        if (newest === null || rec.storedAt > newest) newest = rec.storedAt;
      } else if (!rec && base) {
        cells.push({ hash, rec: null });
        count--;
        bytes -= base.size;
      }
    }
    if (cells.length === 0) return;
    const id = runId(this.o.now(), sha256Hex(encodePage(cells)));
    if (this.root.runs.some((r) => r.id === id)) return; // the very same fold is already current
    const writer = new RunWriter(this.o.adapter, id, cells.length, signal);
    for (const c of cells) {
      const p = writer.add(c); // a promise only when a page is full
      if (p) await p;
    }
    const ref = await writer.finish(0);
    if (count === 0) oldest = newest = null;
    await this.commitWith(ref, { count, bytes, oldest, newest, runs: [ref, ...this.root.runs] }, [], signal, base);
  }

  /**
   * Merges, while some level holds {@link FANOUT} runs, that level's runs into
   * one run of the next level. Tombstones are dropped when nothing older than
   * the merged runs remains; a merge of every run makes the root's totals exact.
   * `maxEntries` skips merges bigger than that (close() keeps to cheap ones).
   */
  async mergeDue(signal?: AbortSignal, maxEntries = Infinity): Promise<void> {
    for (;;) {
      const base = this.base();
      const runs = this.root.runs;
      const block = dueBlock(runs);
      if (!block) return;
      const [start, end] = block;
      const group = runs.slice(start, end);
      const total = group.reduce((n, r) => n + r.count, 0);
      if (total > maxEntries) return;
      const level = group[0]!.level + 1;
      const bottom = end === runs.length;
      const id = runId(this.o.now(), sha256Hex(`merge ${level} ${group.map((r) => `${r.id}:${r.directory}`).join(' ')}`));
      const writer = new RunWriter(this.o.adapter, id, total, signal);
      await forEachCell(mergeCells(group.map((ref) => this.reader(ref).cells('', true, undefined, signal))), (c) => (bottom && !c.rec ? undefined : writer.add(c)));
      const merged = writer.size > 0 ? [await writer.finish(level)] : [];
      const root: Root = { ...this.root, runs: [...runs.slice(0, start), ...merged, ...runs.slice(end)] };
      if (start === 0 && bottom) Object.assign(root, writer.live);
      await this.commitWith(merged[0], root, group, signal, base);
    }
  }

  /**
   * Replaces the whole index by the live `cells` (strictly increasing hashes):
   * one run at the level its size calls for, and a root with exact totals.
   * Migration from v1 and rebuilds use it. `maxCount` sizes the Bloom filter.
   */
  async replaceAll(
    cells: AsyncIterable<Cell> | Iterable<Cell>,
    maxCount: number,
    digest: string,
    signal?: AbortSignal,
    base: Base = this.base(),
  ): Promise<void> {
    const writer = new RunWriter(this.o.adapter, runId(this.o.now(), digest), maxCount, signal);
    for await (const c of cells) {
      const p = c.rec ? writer.add(c) : undefined;
      if (p) await p;
    }
    const runs = writer.size > 0 ? [await writer.finish(levelFor(writer.size))] : [];
    await this.commitWith(runs[0], { ...writer.live, runs }, this.root.runs, signal, base);
  }

  /** Deletes pieces under `index/` that no current root names and whose run id is older than the grace period. */
  async cleanup(signal?: AbortSignal): Promise<void> {
    const named = new Set(this.root.runs.map((r) => r.id));
    const now = this.o.now();
    const doomed: string[] = [];
    for await (const key of this.o.adapter.list(INDEX_RUNS_PREFIX, { signal })) {
      const run = runOfKey(key);
      if (run && !named.has(run.id) && now - run.time >= this.o.graceMs) doomed.push(key);
    }
    await deleteEach(this.o.adapter, doomed, this.o.concurrency);
  }

  /** Deletes every piece of `runs` (listed from the directory when it reads, else by prefix). */
  private async deleteRuns(runs: readonly RunReader[]): Promise<void> {
    for (const r of runs) {
      const id = r.ref.id;
      let keys: string[];
      try {
        const d = await r.directory();
        keys = [...d.pages.map((_, n) => runPageKey(id, n)), runBloomKey(id), runDirectoryKey(id)];
      } catch (e) {
        if (!(e instanceof CorruptIndexError)) throw e;
        keys = [];
        for await (const k of this.o.adapter.list(`${INDEX_RUNS_PREFIX}${id}/`)) keys.push(k);
      }
      await deleteEach(this.o.adapter, keys, this.o.concurrency);
    }
  }
}

/** The error of a change whose root moved on under it. */
function rootMoved(): ConflictError {
  return new ConflictError(INDEX_KEY, `${INDEX_KEY} was changed by another writer while this one was changing it; read it again and retry`);
}

/** The first contiguous block of at least FANOUT runs of one level, as [start, end). */
function dueBlock(runs: readonly RunRef[]): [number, number] | undefined {
  for (let i = 0; i < runs.length; ) {
    let j = i;
    while (j < runs.length && runs[j]!.level === runs[i]!.level) j++;
    if (j - i >= FANOUT) return [i, j];
    i = j;
  }
  return undefined;
}
