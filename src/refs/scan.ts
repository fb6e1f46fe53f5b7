/**
 * Streaming over the reference documents under `refs/`: what `list` and
 * `gc` read. Keys come from the adapter's paged `list`; documents are read a
 * page at a time with bounded concurrency, so memory holds one page.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { throwIfAborted } from '../errors.js';
import { mapLimit } from '../internal/pool.js';
import { nameOfReferenceKey, referenceKey, REFS_PREFIX } from '../archive/layout.js';
import { decodeReferenceDocument, type ReferenceDocument } from './document.js';
import { isReferenceName } from './name.js';

/** Documents read at once while listing. */
export const REFERENCE_PAGE = 64;

/** Options of {@link referenceDocuments}. */
export interface ReferenceScanOptions {
  /** Only names starting with this (already checked). */
  prefix?: string;
  signal?: AbortSignal;
  /** Reads in flight (default 16). */
  concurrency?: number;
}

/**
 * Every reference document under `refs/` whose name starts with `prefix`,
 * deleted references included, a page at a time (each page in name order;
 * pages in the adapter's order). Keys that are not documents of valid names
 * are not this SDK's and are passed over. A document that cannot be read
 * throws (UNSUPPORTED_VERSION, CORRUPT_INDEX): nothing is hidden.
 */
export async function* referenceDocuments(adapter: StorageAdapter, options: ReferenceScanOptions = {}): AsyncIterable<ReferenceDocument> {
  const { prefix = '', signal, concurrency = 16 } = options;
  let page: string[] = [];
  const flush = async (): Promise<ReferenceDocument[]> => {
    const names = page.sort();
    page = [];
    const docs = await mapLimit(
      names,
      concurrency,
      async (name) => {
        const key = referenceKey(name);
        const bytes = await adapter.read(key, { signal });
        return bytes && decodeReferenceDocument(bytes, key, name);
      },
      signal,
    );
    return docs.filter((d): d is ReferenceDocument => d !== undefined);
  };
  for await (const key of adapter.list(REFS_PREFIX + prefix, { signal })) {
    throwIfAborted(signal);
    const name = nameOfReferenceKey(key);
    if (name === undefined || !name.startsWith(prefix) || !isReferenceName(name)) continue;
    page.push(name);
    if (page.length >= REFERENCE_PAGE) yield* await flush();
  }
  if (page.length) yield* await flush();
}
