/**
 * Values on their way into the archive: canonical bytes whose digest is
 * being computed while the commit they joined waits in the queue.
 *
 * @module
 */
import { sha256Hex, sha256HexAsync } from '../hash.js';

/** One value to store. */
export interface PutItem {
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
export function hashing(list: readonly Uint8Array[]): PutItem[] {
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
