/**
 * Writing one run: cells in strictly increasing hash order go out a page at a
 * time (so a merge of any size holds one page in memory), then the Bloom
 * filter, then the directory, whose digest the root will name. Nothing names
 * the run until the root does: a writer that dies half-way leaves pieces that
 * clean-up removes later.
 *
 * @module
 */
import type { StorageAdapter } from '../../adapter/contract.js';
import { swapsNatively } from '../../adapter/cas.js';
import { bytesEqual } from '../../internal/bytes.js';
import { sha256Hex } from '../../hash.js';
import { runBloomKey, runDirectoryKey, runPageKey } from '../layout.js';
import { Bloom, bloomBits } from './bloom.js';
import { encodeDirectory, encodePage, type Cell, type PageRef, type RunRef } from './codec.js';

/** Most entries in one page. */
export const PAGE_ENTRIES = 2048;

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
   * Adds the next cell. A promise only when the cell filled a page (it is
   * being written): a caller adding a million cells awaits one per page,
   * not one per cell (`await` of the undefined otherwise returned still works).
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
    return this.buffer.length >= PAGE_ENTRIES ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    const cells = this.buffer;
    if (cells.length === 0) return;
    this.buffer = [];
    const bytes = encodePage(cells);
    await this.store(runPageKey(this.id, this.pages.length), bytes);
    this.pages.push([cells[0]!.hash, cells[cells.length - 1]!.hash, cells.length, sha256Hex(bytes)]);
    this.count += cells.length;
  }

  /**
   * Stores one piece, written once: where the adapter has conditional writes
   * (S3's `If-None-Match: *`), by `create`, so that no piece already stored
   * is replaced. A refusal is another writer (or an earlier attempt) having
   * written this very run: its id comes from the run's content, so the bytes
   * are the same, and nothing is left to do. Bytes that differ belong to no
   * root (a root names a run by its directory's digest, which covers every
   * page and the filter) and are replaced as a plain write would.
   */
  private async store(key: string, bytes: Uint8Array): Promise<void> {
    const { adapter, signal } = this;
    if (swapsNatively(adapter) && adapter.create) {
      if (await adapter.create(key, bytes, { signal })) return;
      const stored = await adapter.read(key, { signal });
      if (stored && bytesEqual(stored, bytes)) return;
    }
    await adapter.write(key, bytes, { signal });
  }

  /** Writes what is left, the filter and the directory; resolves the run as a root names it. */
  async finish(level: number): Promise<RunRef> {
    await this.flush();
    const bloomBytes = this.bloom.bytes;
    await this.store(runBloomKey(this.id), bloomBytes);
    const directory = encodeDirectory({
      id: this.id,
      level,
      count: this.count,
      bloom: { bits: this.bloom.bits, hashes: this.bloom.hashes, sha256: sha256Hex(bloomBytes) },
      pages: this.pages,
    });
    await this.store(runDirectoryKey(this.id), directory);
    return { id: this.id, level, count: this.count, directory: sha256Hex(directory) };
  }
}
