/**
 * The IndexedDB adapter's writes: group commit on the shared {@link Batcher}.
 *
 * Writes (`write`, `delete`, `create`, `append`, `writeMany`, `deleteMany`)
 * queue; when no write transaction is running the queue goes at the next
 * microtask, and while one runs, new writes wait and go together in the next
 * transaction as soon as it settles. A batch is capped by op count and bytes.
 * Each caller's promise settles on its transaction's `complete` (or `abort`),
 * so a resolved write is committed at the chosen durability.
 *
 * @module
 */
import type { WriteEntry } from '../../src/adapter/contract.js';
import { callQueue, ownedBytes, wrapBrowserError, type QueuedCall } from '../../src/adapter/browser.js';
import type { Batcher } from '../../src/internal/batcher.js';
import { DATA_STORE, keyRanges, toBytes, type ArchiveDatabase } from './open.js';

/** One queued write call. */
export type WriteOp =
  | ({ kind: 'put'; key: string; bytes: Uint8Array } & QueuedCall<void>)
  | ({ kind: 'delete'; key: string } & QueuedCall<void>)
  | ({ kind: 'create'; key: string; bytes: Uint8Array } & QueuedCall<boolean>)
  | ({ kind: 'append'; key: string; bytes: Uint8Array } & QueuedCall<void>)
  | ({ kind: 'many'; entries: readonly WriteEntry[] } & QueuedCall<void>)
  | ({ kind: 'deletes'; keys: readonly string[] } & QueuedCall<void>);

/** How write batches are formed and committed. */
export interface WriteQueueOptions {
  label: string;
  durability: 'strict' | 'relaxed';
  /** Most ops per transaction. */
  maxBatchOps: number;
  /** Most bytes per transaction (a single larger op still goes alone). */
  maxBatchBytes: number;
}

/** Marks a key known to exist in a batch whose bytes were not fetched (only `create` asked). */
const PRESENT = Symbol('present');
type Known = Uint8Array | null | typeof PRESENT;

/** A deleteMany of at least this many keys tries range deletes. */
const RANGE_DELETE_MIN = 8;

/** The write queue of one adapter: one readwrite transaction at a time, carrying every write queued meanwhile. */
export function writeQueue(database: ArchiveDatabase, options: WriteQueueOptions): Batcher<WriteOp> {
  return callQueue<WriteOp>({
    take: (queue) => batchLength(queue, options),
    run: (batch, release) => runWriteBatch(database, options, batch, release),
  });
}

/** How many ops from the head of `queue` fit one transaction (at least one). */
function batchLength(queue: readonly WriteOp[], { maxBatchOps, maxBatchBytes }: WriteQueueOptions): number {
  let count = 0;
  let bytes = 0;
  while (count < queue.length && count < maxBatchOps) {
    const size = opBytes(queue[count]!);
    if (count > 0 && bytes + size > maxBatchBytes) break;
    bytes += size;
    count++;
  }
  return count;
}

function opBytes(op: WriteOp): number {
  if (op.kind === 'many') return op.entries.reduce((n, e) => n + e.bytes.byteLength, 0);
  return op.kind === 'delete' || op.kind === 'deletes' ? 0 : op.bytes.byteLength;
}

/** How one attempt at a batch ended: committed, or failed with `error` (typed) from `raw` (the browser's). */
type Attempt = { ok: true; results: Map<WriteOp, boolean> } | { ok: false; error: unknown; raw: unknown };

/**
 * Firefox, after a transaction failed on the quota, refuses the next
 * transaction of the same connection with `InvalidStateError: A mutation
 * operation was attempted on a database that did not allow mutations` (raw
 * IndexedDB does the same); a new connection works. Such a failure lands
 * nothing (the transaction aborts as a whole), so the batch may be retried.
 */
function isStaleConnection(raw: unknown): boolean {
  return (raw as { name?: unknown } | null)?.name === 'InvalidStateError';
}

/**
 * Commits `batch` in one transaction. `release` frees the queue's slot the
 * moment the transaction settles, before the callers resume, so writes they
 * issue right away go in the next transaction at the next microtask. When the
 * connection refuses the transaction as stale ({@link isStaleConnection}),
 * the connection is reopened and the batch retried once, so the caller sees
 * the real outcome (often the same QUOTA_EXCEEDED, then working writes)
 * instead of the browser's leftover state.
 */
async function runWriteBatch(database: ArchiveDatabase, options: WriteQueueOptions, batch: WriteOp[], release: () => void): Promise<void> {
  let outcome = await attemptBatch(database, options, batch);
  if (!outcome.ok && isStaleConnection(outcome.raw) && !database.dead) {
    await database.reopen();
    outcome = await attemptBatch(database, options, batch);
  }
  release();
  if (outcome.ok) {
    for (const op of batch) {
      if (op.kind === 'create') op.done.resolve(outcome.results.get(op) ?? false);
      else op.done.resolve(undefined);
    }
  } else for (const op of batch) op.done.reject(outcome.error);
}

/** One attempt at committing `batch` in one transaction; settles when the transaction does. */
async function attemptBatch(database: ArchiveDatabase, options: WriteQueueOptions, batch: WriteOp[]): Promise<Attempt> {
  const { label, durability } = options;
  const what = batch.length === 1 ? `${label}: ${describeOp(batch[0]!)}` : `${label}: a transaction of ${batch.length} writes`;
  let tx: IDBTransaction;
  try {
    const db = await database.open();
    try {
      tx = db.transaction(DATA_STORE, 'readwrite', { durability });
    } catch (error) {
      return { ok: false, error: database.dead ?? wrapBrowserError(error, `${label}: write transaction`), raw: error };
    }
  } catch (error) {
    return { ok: false, error, raw: error };
  }
  const results = new Map<WriteOp, boolean>();
  return new Promise<Attempt>((settle) => {
    const store = tx.objectStore(DATA_STORE);
    // The state of every key this batch touched, as the batch goes: later ops see earlier ones.
    const known = new Map<string, Known>();
    const dirty = new Set<string>();
    // Keys removed by a range delete already issued in this transaction (see planRangeDeletes).
    const rangeDeleted = new Set<string>();
    const planned = new Set<WriteOp>();
    let index = 0;

    const set = (key: string, value: Uint8Array | null) => {
      known.set(key, value);
      dirty.add(key);
    };

    // Applies ops in order; stops to fetch a key's current state when an op needs it and resumes in the callback.
    const step = (): void => {
      while (index < batch.length) {
        const op = batch[index]!;
        if (op.kind === 'create' && !known.has(op.key)) {
          const req = store.getKey(op.key);
          req.onsuccess = () => {
            if (!known.has(op.key)) known.set(op.key, req.result === undefined ? null : PRESENT);
            step();
          };
          return;
        }
        if (op.kind === 'deletes' && op.keys.length >= RANGE_DELETE_MIN && !planned.has(op)) {
          planned.add(op);
          planRangeDeletes(store, keyRanges(label), op.keys, rangeDeleted, step);
          return;
        }
        if (op.kind === 'append' && (!known.has(op.key) || known.get(op.key) === PRESENT)) {
          const req = store.get(op.key);
          req.onsuccess = () => {
            known.set(op.key, req.result === undefined ? null : toBytes(req.result));
            step();
          };
          return;
        }
        switch (op.kind) {
          case 'put':
            set(op.key, op.bytes);
            break;
          case 'delete':
            set(op.key, null);
            break;
          case 'many':
            for (const e of op.entries) set(e.key, e.bytes);
            break;
          case 'deletes':
            for (const key of op.keys) set(key, null);
            break;
          case 'create': {
            const wrote = known.get(op.key) === null;
            if (wrote) set(op.key, op.bytes);
            results.set(op, wrote);
            break;
          }
          case 'append': {
            const old = known.get(op.key) as Uint8Array | null;
            if (!old) set(op.key, op.bytes);
            else {
              const joined = new Uint8Array(old.byteLength + op.bytes.byteLength);
              joined.set(old);
              joined.set(op.bytes, old.byteLength);
              set(op.key, joined);
            }
            break;
          }
        }
        index++;
      }
      // Only the final state of each key is written: repeated writes to one key cost one put.
      for (const key of dirty) {
        const value = known.get(key);
        if (value === null || value === undefined || value === PRESENT) {
          if (!rangeDeleted.has(key)) store.delete(key);
        } else store.put(ownedBytes(value), key);
      }
    };

    // A synchronous throw (below) aborts the transaction too: the first failure is the one reported.
    let thrown: { error: unknown } | undefined;
    tx.oncomplete = () => settle({ ok: true, results });
    tx.onabort = () => {
      const raw = thrown ? thrown.error : (tx.error ?? new Error('transaction aborted'));
      settle({ ok: false, error: database.dead ?? wrapBrowserError(raw, thrown ? `${label}: write` : what), raw });
    };
    try {
      step();
    } catch (error) {
      // A synchronous throw (e.g. DataCloneError) aborts the whole transaction: nothing of the batch lands.
      thrown = { error };
      try {
        tx.abort();
      } catch {
        // Already finished: no abort event will come.
        settle({ ok: false, error: wrapBrowserError(error, `${label}: write`), raw: error });
      }
    }
  });
}


/**
 * Chromium's IndexedDB pays for each `delete(key)` (about 0.2 ms, so 1,000
 * journal segments cost 200 ms) but a range delete costs about the same as
 * one key. So: list the stored keys between the smallest and the largest key
 * to delete (one `getAllKeys`, capped), split them into runs of consecutive
 * stored keys that are all to be deleted, and delete each run of two or more
 * as one range. Keys in no run (and everything when the span holds too many
 * other keys) are left to the caller's per-key deletes. Calls `then` when the
 * range deletes are issued; they run in this transaction, before any later
 * request, so later writes of the same batch still land after them.
 */
function planRangeDeletes(
  store: IDBObjectStore,
  KeyRange: typeof IDBKeyRange,
  keys: readonly string[],
  rangeDeleted: Set<string>,
  then: () => void,
): void {
  const doomed = new Set(keys);
  const sorted = [...doomed].sort();
  const cap = sorted.length * 4 + 64;
  const req = store.getAllKeys(KeyRange.bound(sorted[0]!, sorted[sorted.length - 1]!), cap);
  req.onsuccess = () => {
    const stored = req.result as string[];
    if (stored.length < cap) {
      let run: string[] = [];
      const flush = () => {
        if (run.length >= 2) {
          store.delete(KeyRange.bound(run[0]!, run[run.length - 1]!));
          for (const k of run) rangeDeleted.add(k);
        }
        run = [];
      };
      for (const k of stored) {
        if (doomed.has(k)) run.push(k);
        else flush();
      }
      flush();
    }
    then();
  };
}

function describeOp(op: WriteOp): string {
  if (op.kind === 'many') return `writeMany of ${op.entries.length} entries`;
  if (op.kind === 'deletes') return `deleteMany of ${op.keys.length} keys`;
  return `${op.kind} of ${JSON.stringify(op.key)}`;
}
