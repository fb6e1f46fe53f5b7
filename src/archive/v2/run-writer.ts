/**
 * Writing one run: cells in strictly increasing hash order go out a page at a
 * time (so a merge of any size holds one page in memory), then the Bloom
 * filter, then the directory, whose digest the root will name. Nothing names
 * the run until the root does: a writer that dies half-way leaves pieces that
 * clean-up removes later.
 *
 * @module
 */
import type { StorageAdapter, WriteEntry } from '../../adapter/contract.js';
import { writeBatch } from '../../adapter/batch.js';
import { swapsNatively } from '../../adapter/cas.js';
import { bytesEqual } from '../../internal/bytes.js';
import { sha256Hex } from '../../hash.js';
import { mapLimit } from '../../internal/pool.js';
import { runBloomKey, runDirectoryKey, runPageKey } from '../layout.js';
import { Bloom, bloomBits } from './bloom.js';
import { encodeDirectory, encodePage, type Cell, type PageRef, type RunRef } from './codec.js';

/** Most entries in one page. */
export const PAGE_ENTRIES = 2048;
/**
 * Pages encoded before they are written, together, in one `writeMany` (a few
 * MB at most): on SQLite or IndexedDB a write is a transaction, with its own
 * commit, so a fold's one page, filter and directory were three commits; they
 * are one now, and a big merge pays one per this many pages.
 */
export const PAGES_PER_WRITE = 8;

/** What the live cells of a written run add up to (for a root that covers exactly this run). */
export interface LiveTotals {
  count: number;
  bytes: number;
  oldest: number | null;
  newest: number | null;
}

/** Streams cells into a new run; see the module doc. */
export class RunWriter {
  private readonly bloom: Bloom;
  private readonly pages: PageRef[] = [];
  private buffer: Cell[] = [];
  /** Encoded pages not written yet (at most {@link PAGES_PER_WRITE}). */
  private pending: WriteEntry[] = [];
  private count = 0;
  private last = '';
  /** Live cells written so far. */
  readonly live: LiveTotals = { count: 0, bytes: 0, oldest: null, newest: null };

  /** `maxCount` bounds the cells to come (it sizes the Bloom filter; more still works, with more false positives). */
  constructor(
    private readonly adapter: StorageAdapter,
    readonly id: string,
    maxCount: number,
    private readonly signal?: AbortSignal,
  ) {
    this.bloom = Bloom.empty(bloomBits(maxCount));
  }

  get size(): number {
    return this.count + this.buffer.length;
  }

  /**
   * Adds the next cell. A promise only when the cell filled the last page of
   * a write (they are being written): a caller adding a million cells awaits
   * one per {@link PAGES_PER_WRITE} pages, not one per cell (`await` of the
   * undefined otherwise returned still works).
   */
  add(cell: Cell): Promise<void> | undefined {
    if (cell.hash <= this.last) throw new Error(`run ${this.id}: cells out of order (${cell.hash} after ${this.last})`);
    this.last = cell.hash;
    this.bloom.add(cell.hash);
    if (cell.rec) {
      const l = this.live;
      l.count++;
      l.bytes += cell.rec.size;
      if (l.oldest === null || cell.rec.storedAt < l.oldest) l.oldest = cell.rec.storedAt;
      if (l.newest === null || cell.rec.storedAt > l.newest) l.newest = cell.rec.storedAt;
    }
    this.buffer.push(cell);
    if (this.buffer.length < PAGE_ENTRIES) return undefined;
    this.encodeBuffer();
    return this.pending.length >= PAGES_PER_WRITE ? this.writePending() : undefined;
  }

  /** Encodes the buffered cells as the next page, to be written with the next batch. */
  private encodeBuffer(): void {
    const cells = this.buffer;
    if (cells.length === 0) return;
    this.buffer = [];
    const bytes = encodePage(cells);
    this.pending.push({ key: runPageKey(this.id, this.pages.length), bytes });
    this.pages.push([cells[0]!.hash, cells[cells.length - 1]!.hash, cells.length, sha256Hex(bytes)]);
    this.count += cells.length;
  }

  private async writePending(extra: readonly WriteEntry[] = []): Promise<void> {
    const entries = extra.length ? [...this.pending, ...extra] : this.pending;
    this.pending = [];
    if (entries.length === 0) return;
    const { adapter, signal } = this;
    if (swapsNatively(adapter) && adapter.create) {
      await mapLimit(entries, PAGES_PER_WRITE + 2, (e) => this.createOnce(e), signal);
    } else await writeBatch(adapter, entries, { signal });
  }

  /**
   * Stores one piece, written once, where the adapter has conditional writes
   * and no lock (S3's `If-None-Match: *`): no piece already stored is
   * replaced. A refusal is another writer (or an earlier attempt) having
   * written this very run: ids of merged runs come from their content, so the
   * bytes are the same and nothing is left to do. Bytes that differ belong to
   * no root (a root names a run by its directory's digest, which covers every
   * page and the filter) and are replaced as a plain write would.
   */
  private async createOnce({ key, bytes }: WriteEntry): Promise<void> {
    const { adapter, signal } = this;
    if (await adapter.create!(key, bytes, { signal })) return;
    const stored = await adapter.read(key, { signal });
    if (!stored || !bytesEqual(stored, bytes)) await adapter.write(key, bytes, { signal });
  }

  /** Writes what is left, the filter and the directory; resolves the run as a root names it. */
  async finish(level: number): Promise<RunRef> {
    this.encodeBuffer();
    const bloomBytes = this.bloom.bytes;
    const directory = encodeDirectory({
      id: this.id,
      level,
      count: this.count,
      bloom: { bits: this.bloom.bits, hashes: this.bloom.hashes, sha256: sha256Hex(bloomBytes) },
      pages: this.pages,
    });
    // The last pages, the filter and the directory in one batch: nothing names the run until a root does.
    await this.writePending([
      { key: runBloomKey(this.id), bytes: bloomBytes },
      { key: runDirectoryKey(this.id), bytes: directory },
    ]);
    return { id: this.id, level, count: this.count, directory: sha256Hex(directory) };
  }
}
