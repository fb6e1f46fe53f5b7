/**
 * The IndexedDB adapter's reads: `read`/`has` grouped on the shared
 * {@link Batcher} like the writes, and `list` in pages.
 *
 * While a readonly transaction runs, new reads wait and then share the next
 * one. Callers that read with bounded concurrency (each issuing its next read
 * when the previous one resolves) would otherwise open one transaction per
 * read, as every result arrives in its own event.
 *
 * @module
 */
import { wrap } from 'idb';
import type { CallOptions } from '../../src/adapter/contract.js';
import { callQueue, wrapBrowserError, type QueuedCall } from '../../src/adapter/browser.js';
import { throwIfAborted } from '../../src/errors.js';
import type { Batcher } from '../../src/internal/batcher.js';
import { batchTransaction, DATA_STORE, keyRanges, toBytes, type ArchiveDatabase } from './open.js';

/** One queued read call. */
export type ReadOp = ({ kind: 'read'; key: string } & QueuedCall<Uint8Array | undefined>) | ({ kind: 'has'; key: string } & QueuedCall<boolean>);

/** Keys fetched per `list` page (each page is its own short transaction). */
const LIST_PAGE = 512;

/** The read queue of one adapter: one readonly transaction at a time, carrying every read queued meanwhile. */
export function readQueue(database: ArchiveDatabase, label: string): Batcher<ReadOp> {
  return callQueue<ReadOp>({ run: (batch, release) => runReadBatch(database, label, batch, release) });
}

async function runReadBatch(database: ArchiveDatabase, label: string, batch: ReadOp[], release: () => void): Promise<void> {
  const tx = await batchTransaction(database, batch, release, 'readonly', { what: `${label}: read transaction` });
  if (!tx) return;
  const store = tx.objectStore(DATA_STORE);
  for (const op of batch) {
    if (op.kind === 'read') {
      const req = store.get(op.key);
      req.onsuccess = () => op.done.resolve(req.result === undefined ? undefined : toBytes(req.result));
    } else {
      const req = store.getKey(op.key);
      req.onsuccess = () => op.done.resolve(req.result !== undefined);
    }
  }
  // The slot stays taken until the transaction settles: the next batch waits for it, and takes all that queued.
  await new Promise<void>((settled) => {
    tx.oncomplete = () => {
      release();
      settled();
    };
    tx.onabort = () => {
      release();
      const error = database.dead ?? wrapBrowserError(tx.error ?? new Error('transaction aborted'), `${label}: read`);
      for (const op of batch) op.done.reject(error);
      settled();
    };
  });
}

/** Every key starting with `prefix`, in key order, a page (one short transaction) at a time. */
export async function* listKeys(database: ArchiveDatabase, label: string, prefix: string, options?: CallOptions): AsyncGenerator<string> {
  const db = wrap(await database.open());
  const KeyRange = keyRanges(label);
  // Valid keys are ASCII, so prefix + U+FFFF bounds every key that starts with prefix.
  const upper = prefix + '\uffff';
  let after: string | undefined;
  for (;;) {
    throwIfAborted(options?.signal);
    const range =
      after === undefined
        ? prefix === ''
          ? undefined
          : KeyRange.bound(prefix, upper)
        : prefix === ''
          ? KeyRange.lowerBound(after, true)
          : KeyRange.bound(after, upper, true, false);
    let page: IDBValidKey[];
    try {
      page = await db.getAllKeys(DATA_STORE, range, LIST_PAGE);
    } catch (error) {
      throw database.dead ?? wrapBrowserError(error, `${label}: list`);
    }
    for (const key of page) {
      throwIfAborted(options?.signal);
      yield key as string;
    }
    if (page.length < LIST_PAGE) return;
    after = page[page.length - 1] as string;
  }
}
