/**
 * Reading one run, trusting nothing: the directory must hash to the digest
 * the root names, the filter and every page to the digests the directory
 * names, and a page must hold what its directory says (see codec.ts). The
 * directory and the filter are read once per run and kept (about 1.3 bytes
 * per entry for the filter, a few bytes per page for the directory); pages
 * go through the shared, bounded {@link PageCache}.
 *
 * @module
 */
import type { StorageAdapter } from '../../adapter/contract.js';
import { CorruptIndexError } from '../../errors.js';
import { sha256Hex } from '../../hash.js';
import type { IndexRecord } from '../index-file.js';
import { runBloomKey, runDirectoryKey, runPageKey } from '../layout.js';
import { Bloom } from './bloom.js';
import { cellAt, cellsOf, decodeDirectory, decodePage, type Directory, type Page, type PageRef, type RunRef } from './codec.js';
import { BatchStream, type CellStream } from './merge.js';
import type { PageCache } from './page-cache.js';

/** A piece the root (or a directory) names is not there: maybe merged away by another writer since this handle read its root. */
export class MissingPieceError extends CorruptIndexError {}

/** Index of the first element of sorted `list` that is >= `x`. */
export function lowerBound(list: readonly string[], x: string): number {
  return lowerBoundBy(list.length, x, (i) => list[i]!);
}

/** Index of the first of `length` sorted keys (`at(i)`) that is >= `x`. */
export function lowerBoundBy(length: number, x: string, at: (i: number) => string): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at(mid) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One run of the current root; see the module doc. */
export class RunReader {
  private dir: Promise<Directory> | undefined;
  private filter: Promise<Bloom> | undefined;

  constructor(
    private readonly adapter: StorageAdapter,
    readonly ref: RunRef,
    private readonly cache: PageCache,
  ) {}

  private async readPiece(key: string, sha: string, signal?: AbortSignal): Promise<Uint8Array> {
    const bytes = await this.adapter.read(key, { signal });
    if (!bytes) throw new MissingPieceError(key, `index piece ${key} is missing`);
    if (sha256Hex(bytes) !== sha) throw new CorruptIndexError(key, `index piece ${key} does not hash to the digest that names it`);
    return bytes;
  }

  /** The run's directory (read and checked once). */
  directory(signal?: AbortSignal): Promise<Directory> {
    if (!this.dir) {
      const key = runDirectoryKey(this.ref.id);
      this.dir = this.readPiece(key, this.ref.directory, signal).then((b) => decodeDirectory(key, b, this.ref));
      this.dir.catch(() => (this.dir = undefined)); // a failed read is tried again next time
    }
    return this.dir;
  }

  /** The run's Bloom filter (read and checked once). */
  bloom(signal?: AbortSignal): Promise<Bloom> {
    if (!this.filter) {
      this.filter = this.directory(signal).then(async (d) => {
        const key = runBloomKey(this.ref.id);
        const bytes = await this.readPiece(key, d.bloom.sha256, signal);
        if (bytes.byteLength * 8 !== d.bloom.bits) throw new CorruptIndexError(key, `${key} has ${bytes.byteLength * 8} bits, its directory says ${d.bloom.bits}`);
        return new Bloom(bytes, d.bloom.hashes);
      });
      this.filter.catch(() => (this.filter = undefined));
    }
    return this.filter;
  }

  /** Page `n`, checked; through the cache when `cached`. */
  async page(n: number, signal?: AbortSignal, cached = true): Promise<Page> {
    const key = runPageKey(this.ref.id, n);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const d = await this.directory(signal);
    const ref = d.pages[n];
    if (!ref) throw new CorruptIndexError(key, `run ${this.ref.id} has no page ${n}`);
    const bytes = await this.readPiece(key, ref[3], signal);
    const page = decodePage(key, bytes, ref);
    if (cached) this.cache.set(key, page, bytes.byteLength * 2);
    return page;
  }

  /** The run's cell for `hash`: a record, `null` for a tombstone, `undefined` when the run says nothing of it. */
  async get(hash: string, signal?: AbortSignal): Promise<IndexRecord | null | undefined> {
    if (this.ref.count === 0 || !(await this.bloom(signal)).mayContain(hash)) return undefined;
    const d = await this.directory(signal);
    const n = lowerBoundBy(d.pages.length, hash, (i) => d.pages[i]![1]);
    const ref = d.pages.length > n ? d.pages[n] : undefined;
    if (!ref || ref[0] > hash) return undefined;
    const page = await this.page(n, signal);
    const i = lowerBound(page.hashes, hash);
    if (page.hashes[i] !== hash) return undefined;
    return cellAt(page, i).rec;
  }

  /**
   * Cells with `from < hash` (or `<=` when `inclusive`) and `hash < to`, in
   * hash order, a page at a time (one page in memory, not cached: a scan
   * would only push the lookups' pages out).
   */
  cells(from: string, inclusive: boolean, to: string | undefined, signal?: AbortSignal): CellStream {
    let n = -1;
    let pages: PageRef[] | undefined;
    return new BatchStream(async () => {
      if (this.ref.count === 0) return undefined;
      if (!pages) {
        pages = (await this.directory(signal)).pages;
        n = lowerBoundBy(pages.length, from, (i) => pages![i]![1]);
      }
      for (; n < pages.length; ) {
        if (to !== undefined && pages[n]![0] >= to) return undefined;
        const page = await this.page(n++, signal, false);
        const hashes = page.hashes;
        let i = from > hashes[0]! ? lowerBound(hashes, from) : 0;
        if (!inclusive && hashes[i] === from) i++;
        const end = to === undefined || hashes[hashes.length - 1]! < to ? hashes.length : lowerBound(hashes, to);
        if (i < end) return cellsOf(page, i, end);
        if (end < hashes.length) return undefined;
      }
      return undefined;
    });
  }
}
