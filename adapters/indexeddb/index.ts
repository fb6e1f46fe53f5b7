/**
 * The IndexedDB adapter: bytes under keys in one object store of a database of
 * the origin, built on `idb`.
 *
 * IndexedDB's cost is per transaction (in headless Chromium one transaction per
 * 1 KiB put gives about 1,800 puts/s, one transaction for 2,000 puts about
 * 10,000-15,000 puts/s), so this adapter coalesces:
 * - Writes (`write`, `delete`, `create`, `append`, `writeMany`) go to a queue.
 *   When no write transaction is running the queue is flushed at the next
 *   microtask; while one is running, new writes wait and go together in the
 *   next transaction as soon as it completes (group commit). A lone awaited
 *   write therefore pays one transaction, and writes issued together share one.
 *   Each caller's promise settles on its transaction's `complete` (or `abort`),
 *   so a resolved write is committed at the chosen durability.
 * - Reads (`read`, `has`) are grouped the same way: one readonly transaction
 *   at a time, carrying every read issued while the previous one ran.
 *
 * Importing this module reads no browser global: `indexedDB`, `navigator.locks`
 * and `navigator.storage` are looked up when an adapter is used.
 *
 * @module
 */
import { openDB, unwrap, type IDBPDatabase } from 'idb';
import {
  assertBytes,
  assertValidKey,
  assertValidPrefix,
  assertWriteEntries,
  type AdapterCapabilities,
  type CallOptions,
  type LockOptions,
  type StorageAdapter,
  type StorageEstimate,
  type WriteEntry,
} from '../../src/adapter/contract.js';
import { AbortError, BackendError, ClosedError, StorageClearedError, throwIfAborted } from '../../src/errors.js';
import {
  browserStorageEstimate,
  deferred,
  ownedBytes,
  webLocks,
  withWebLock,
  wrapBrowserError,
  type Deferred,
} from '../../src/adapter/browser.js';

export { browserStorageEstimate, requestPersistentStorage, type PersistenceReport } from '../../src/adapter/browser.js';

/** Options of {@link indexedDbAdapter}. */
export interface IndexedDbAdapterOptions {
  /** Name of the IndexedDB database (one archive per name per origin). */
  name: string;
  /**
   * Durability hint of every write transaction. `'relaxed'` (the default, and
   * Chromium's and Firefox's own default) resolves once the browser has the data
   * and survives a tab or browser crash; `'strict'` resolves only after the data
   * is flushed to disk (survives power loss) and costs an fsync per transaction.
   */
  durability?: 'strict' | 'relaxed';
  /**
   * Refuse to create the database: when it does not exist (never created, or
   * cleared by the browser or the user) every call rejects with
   * `StorageClearedError` instead of starting from an empty archive. Set it once
   * your app knows it has stored data before.
   */
  mustExist?: boolean;
  /** Most write operations one coalesced transaction carries (default 4096). */
  maxBatchOps?: number;
  /** Most bytes one coalesced transaction carries (default 32 MiB; a single larger write still goes alone). */
  maxBatchBytes?: number;
}

/** Object store holding the keys and their bytes. */
const DATA_STORE = 'kv';
/** Object store holding the sentinel written at creation. */
const META_STORE = 'meta';
const SENTINEL_KEY = 'sentinel';
const SCHEMA_VERSION = 1;
/** Keys fetched per `list` page (each page is its own short transaction). */
const LIST_PAGE = 512;

/** The record written when the database is created; its absence later means the store was wiped. */
interface Sentinel {
  format: 'archive-storage/indexeddb';
  version: 1;
  createdAt: number;
}

type WriteOp = (
  | { kind: 'put'; key: string; bytes: Uint8Array; done: Deferred<void> }
  | { kind: 'delete'; key: string; done: Deferred<void> }
  | { kind: 'create'; key: string; bytes: Uint8Array; done: Deferred<boolean> }
  | { kind: 'append'; key: string; bytes: Uint8Array; done: Deferred<void> }
  | { kind: 'many'; entries: readonly WriteEntry[]; done: Deferred<void> }
  | { kind: 'deletes'; keys: readonly string[]; done: Deferred<void> }
) & { signal?: AbortSignal | undefined };

type ReadOp = ({ kind: 'read'; key: string; done: Deferred<Uint8Array | undefined> } | { kind: 'has'; key: string; done: Deferred<boolean> }) & {
  signal?: AbortSignal | undefined;
};

/** Marks a key known to exist in a batch whose bytes were not fetched (only `create` asked). */
const PRESENT = Symbol('present');
type Known = Uint8Array | null | typeof PRESENT;

/**
 * Creates an adapter storing bytes in the IndexedDB database `options.name`.
 * The database is opened on first use; opening errors (e.g. `StorageClearedError`
 * with `mustExist`) surface from that first call and every later one.
 */
export function indexedDbAdapter(options: IndexedDbAdapterOptions): StorageAdapter {
  if (!options || typeof options.name !== 'string' || options.name === '') {
    throw new BackendError('indexedDbAdapter needs a non-empty database name: indexedDbAdapter({ name: "my-archive" })');
  }
  const dbName = options.name;
  const label = `indexeddb "${dbName}"`;
  const durability = options.durability ?? 'relaxed';
  const maxBatchOps = Math.max(1, options.maxBatchOps ?? 4096);
  const maxBatchBytes = Math.max(1, options.maxBatchBytes ?? 32 * 1024 * 1024);
  const hasLocks = webLocks() !== undefined;

  let dbPromise: Promise<IDBDatabase> | undefined;
  let connection: IDBDatabase | undefined;
  /** Set once the connection is gone for good: every later call rejects with it. */
  let dead: Error | undefined;
  let closed = false;

  const writeQueue: WriteOp[] = [];
  let writeScheduled = false;
  let writeInFlight: Promise<void> | undefined;
  let readQueue: ReadOp[] = [];
  let readScheduled = false;
  let readInFlight = false;

  function factory(): IDBFactory {
    const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!idb) throw new BackendError(`${label}: IndexedDB is not available in this runtime (use it in a browser or a worker)`);
    return idb;
  }

  function open(): Promise<IDBDatabase> {
    if (dead) return Promise.reject(dead);
    dbPromise ??= openDatabase().catch((error: unknown) => {
      dbPromise = undefined;
      throw error;
    });
    return dbPromise;
  }

  async function openDatabase(): Promise<IDBDatabase> {
    factory();
    let refusedCreation = false;
    let db: IDBPDatabase;
    try {
      db = await openDB(dbName, SCHEMA_VERSION, {
        upgrade(database, oldVersion, _newVersion, tx) {
          if (oldVersion !== 0) return;
          if (options.mustExist) {
            // Aborting the upgrade of a brand-new database removes it again: we leave nothing behind.
            refusedCreation = true;
            tx.done.catch(() => {}); // the abort below rejects it; the open's rejection is what we report
            tx.abort();
            return;
          }
          database.createObjectStore(DATA_STORE);
          const meta = database.createObjectStore(META_STORE);
          const sentinel: Sentinel = { format: 'archive-storage/indexeddb', version: 1, createdAt: Date.now() };
          meta.put(sentinel, SENTINEL_KEY).catch(() => {}); // a failure aborts the upgrade, reported by the open
        },
        blocking(_current, blockedVersion) {
          // Another connection deletes the database (blockedVersion null) or upgrades it: let it, and stop here.
          dead =
            blockedVersion === null
              ? new StorageClearedError(`${label} was deleted by another tab or by the site's code; reopen it to start a new, empty archive`)
              : new BackendError(`${label} was upgraded to version ${blockedVersion} by a newer release in another tab; reload this page`);
          connection?.close();
        },
        terminated() {
          dead = new StorageClearedError(`${label}: the browser closed the database (site data cleared, or a storage failure)`);
        },
      });
    } catch (error) {
      if (refusedCreation) {
        throw new StorageClearedError(
          `${label} does not exist: its storage was cleared (by the browser or the user) or it was never created; ` +
            'open it without mustExist to start an empty archive',
          { cause: error },
        );
      }
      if ((error as { name?: string })?.name === 'VersionError') {
        throw new BackendError(`${label} was written by a newer release of archive-storage (schema newer than ${SCHEMA_VERSION})`, { cause: error });
      }
      throw wrapBrowserError(error, `${label}: open`);
    }
    const raw = unwrap(db);
    connection = raw;
    if (!raw.objectStoreNames.contains(DATA_STORE) || !raw.objectStoreNames.contains(META_STORE)) {
      raw.close();
      throw new StorageClearedError(`${label} exists but is not an archive-storage database (its object stores are missing)`);
    }
    const sentinel = await db.get(META_STORE, SENTINEL_KEY);
    if (!sentinel) {
      raw.close();
      throw new StorageClearedError(
        `${label}: the sentinel written when the database was created is gone, so its data was wiped; ` +
          'this is not an empty archive: restore from a backup or delete the database to start over',
      );
    }
    return raw;
  }

  function enter(key: string | undefined, opts: CallOptions | undefined): void {
    if (closed) throw new ClosedError(`${label} is closed`);
    if (dead) throw dead;
    throwIfAborted(opts?.signal);
    if (key !== undefined) assertValidKey(key);
  }

  /** Settles `done` with AbortError as soon as `signal` aborts (the queued work may still land). */
  function watchAbort<T>(done: Deferred<T>, signal: AbortSignal | undefined): Promise<T> {
    if (!signal) return done.promise;
    const onAbort = () => done.reject(new AbortError(undefined, { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    return done.promise.finally(() => signal.removeEventListener('abort', onAbort));
  }

  // ---- writes: group commit ------------------------------------------------------------

  function enqueueWrite<T>(op: WriteOp & { done: Deferred<T> }, signal: AbortSignal | undefined): Promise<T> {
    op.signal = signal;
    writeQueue.push(op);
    scheduleWrites();
    return watchAbort(op.done, signal);
  }

  function scheduleWrites(): void {
    if (writeScheduled || writeInFlight || writeQueue.length === 0) return;
    writeScheduled = true;
    queueMicrotask(flushWrites);
  }

  function opBytes(op: WriteOp): number {
    if (op.kind === 'many') return op.entries.reduce((n, e) => n + e.bytes.byteLength, 0);
    return op.kind === 'delete' || op.kind === 'deletes' ? 0 : op.bytes.byteLength;
  }

  function flushWrites(): void {
    writeScheduled = false;
    if (writeInFlight || writeQueue.length === 0) return;
    let count = 0;
    let bytes = 0;
    while (count < writeQueue.length && count < maxBatchOps) {
      const size = opBytes(writeQueue[count]!);
      if (count > 0 && bytes + size > maxBatchBytes) break;
      bytes += size;
      count++;
    }
    // Ops whose caller aborted while they waited are dropped (their promise already rejected with AbortError).
    const batch = writeQueue.splice(0, count).filter((op) => !op.signal?.aborted);
    if (batch.length === 0) {
      scheduleWrites();
      return;
    }
    // The next batch is scheduled the moment this one settles, before its callers resume, so writes they
    // issue right away find no transaction in flight and go at the next microtask.
    const settled = () => {
      writeInFlight = undefined;
      scheduleWrites();
    };
    writeInFlight = runWriteBatch(batch, settled);
  }

  async function runWriteBatch(batch: WriteOp[], settled: () => void): Promise<void> {
    let db: IDBDatabase;
    try {
      db = await open();
    } catch (error) {
      settled();
      for (const op of batch) op.done.reject(error);
      return;
    }
    const results = new Map<WriteOp, boolean>();
    await new Promise<void>((resolveBatch) => {
      const settle = () => {
        settled();
        resolveBatch();
      };
      let tx: IDBTransaction;
      try {
        tx = db.transaction(DATA_STORE, 'readwrite', { durability });
      } catch (error) {
        const wrapped = dead ?? wrapBrowserError(error, `${label}: write transaction`);
        settle();
        for (const op of batch) op.done.reject(wrapped);
        return;
      }
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
            planRangeDeletes(store, op.keys, rangeDeleted, step);
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
          }
          else store.put(ownedBytes(value), key);
        }
      };

      tx.oncomplete = () => {
        settle();
        for (const op of batch) {
          if (op.kind === 'create') op.done.resolve(results.get(op) ?? false);
          else op.done.resolve(undefined);
        }
      };
      tx.onabort = () => {
        settle();
        const what = batch.length === 1 ? `${label}: ${describeOp(batch[0]!)}` : `${label}: a transaction of ${batch.length} writes`;
        const error = dead ?? wrapBrowserError(tx.error ?? new Error('transaction aborted'), what);
        for (const op of batch) op.done.reject(error);
      };
      try {
        step();
      } catch (error) {
        // A synchronous throw (e.g. DataCloneError) aborts the whole transaction: nothing of the batch lands.
        try {
          tx.abort();
        } catch {
          /* already finished */
        }
        const wrapped = wrapBrowserError(error, `${label}: write`);
        for (const op of batch) op.done.reject(wrapped);
      }
    });
  }

  // ---- reads: one readonly transaction at a time, carrying every read queued meanwhile ------

  function enqueueRead<T>(op: ReadOp & { done: Deferred<T> }, signal: AbortSignal | undefined): Promise<T> {
    op.signal = signal;
    readQueue.push(op);
    scheduleReads();
    return watchAbort(op.done, signal);
  }

  function scheduleReads(): void {
    if (readScheduled || readInFlight || readQueue.length === 0) return;
    readScheduled = true;
    queueMicrotask(() => void flushReads());
  }

  /**
   * Reads go like writes: while a readonly transaction runs, new reads wait and
   * then share the next one. Callers that read with bounded concurrency (each
   * issuing its next read when the previous one resolves) would otherwise open
   * one transaction per read, as every result arrives in its own event.
   */
  async function flushReads(): Promise<void> {
    readScheduled = false;
    if (readInFlight || readQueue.length === 0) return;
    const batch = readQueue.filter((op) => !op.signal?.aborted);
    readQueue = [];
    if (batch.length === 0) return;
    readInFlight = true;
    const settled = () => {
      readInFlight = false;
      scheduleReads();
    };
    let db: IDBDatabase;
    try {
      db = await open();
    } catch (error) {
      settled();
      for (const op of batch) op.done.reject(error);
      return;
    }
    let tx: IDBTransaction;
    try {
      tx = db.transaction(DATA_STORE, 'readonly');
    } catch (error) {
      settled();
      const wrapped = dead ?? wrapBrowserError(error, `${label}: read transaction`);
      for (const op of batch) op.done.reject(wrapped);
      return;
    }
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
    tx.oncomplete = settled;
    tx.onabort = () => {
      settled();
      const error = dead ?? wrapBrowserError(tx.error ?? new Error('transaction aborted'), `${label}: read`);
      for (const op of batch) op.done.reject(error);
    };
  }

  // ---- the adapter ----------------------------------------------------------------------

  const capabilities: AdapterCapabilities = Object.freeze({
    writeMany: true,
    create: true,
    append: true,
    locking: hasLocks,
    quota: true,
    durability,
    hasMany: true,
    atomicBatch: true,
    deleteMany: true,
  });

  const adapter: StorageAdapter = {
    name: 'indexeddb',
    capabilities,

    async read(key, opts) {
      enter(key, opts);
      return enqueueRead({ kind: 'read', key, done: deferred<Uint8Array | undefined>() }, opts?.signal);
    },

    async has(key, opts) {
      enter(key, opts);
      return enqueueRead({ kind: 'has', key, done: deferred<boolean>() }, opts?.signal);
    },

    async hasMany(keys, opts) {
      enter(undefined, opts);
      for (const key of keys) assertValidKey(key);
      // Queued together, so they share one readonly transaction (two if one was already running).
      return Promise.all(keys.map((key) => enqueueRead({ kind: 'has', key, done: deferred<boolean>() }, opts?.signal)));
    },

    async write(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      return enqueueWrite({ kind: 'put', key, bytes, done: deferred<void>() }, opts?.signal);
    },

    async writeMany(entries, opts) {
      enter(undefined, opts);
      assertWriteEntries(entries);
      if (entries.length === 0) return;
      return enqueueWrite({ kind: 'many', entries: [...entries], done: deferred<void>() }, opts?.signal);
    },

    async create(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      return enqueueWrite({ kind: 'create', key, bytes, done: deferred<boolean>() }, opts?.signal);
    },

    async append(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      return enqueueWrite({ kind: 'append', key, bytes, done: deferred<void>() }, opts?.signal);
    },

    async delete(key, opts) {
      enter(key, opts);
      return enqueueWrite({ kind: 'delete', key, done: deferred<void>() }, opts?.signal);
    },

    async deleteMany(keys, opts) {
      enter(undefined, opts);
      for (const key of keys) assertValidKey(key);
      if (keys.length === 0) return;
      return enqueueWrite({ kind: 'deletes', keys: [...keys], done: deferred<void>() }, opts?.signal);
    },

    async *list(prefix, opts) {
      enter(undefined, opts);
      assertValidPrefix(prefix);
      const db = await open();
      const KeyRange = (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange!;
      // Valid keys are ASCII, so prefix + U+FFFF bounds every key that starts with prefix.
      const upper = prefix + '\uffff';
      let after: string | undefined;
      for (;;) {
        throwIfAborted(opts?.signal);
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
          page = await requestResult(db.transaction(DATA_STORE, 'readonly').objectStore(DATA_STORE).getAllKeys(range, LIST_PAGE));
        } catch (error) {
          throw dead ?? wrapBrowserError(error, `${label}: list`);
        }
        for (const key of page) {
          throwIfAborted(opts?.signal);
          yield key as string;
        }
        if (page.length < LIST_PAGE) return;
        after = page[page.length - 1] as string;
      }
    },

    async estimate(opts): Promise<StorageEstimate> {
      enter(undefined, opts);
      return browserStorageEstimate();
    },

    async close() {
      if (closed) return;
      closed = true;
      // Let every queued write reach its transaction before the connection goes.
      while (writeInFlight || writeQueue.length > 0) {
        if (!writeInFlight) flushWrites();
        await writeInFlight;
      }
      if (dbPromise) {
        try {
          (await dbPromise).close();
        } catch {
          /* never opened */
        }
      }
    },
  };

  if (hasLocks) {
    adapter.lock = function lock<T>(name: string, fn: () => Promise<T>, opts?: LockOptions): Promise<T> {
      enter(undefined, opts);
      return withWebLock(`archive-storage:indexeddb:${dbName}:${name}`, fn, opts);
    };
  }
  return adapter;
}

/** Deletes the IndexedDB database `name` (every key of that archive). Other tabs' adapters on it then report `STORAGE_CLEARED`. */
export async function deleteIndexedDbArchive(name: string): Promise<void> {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!idb) throw new BackendError('IndexedDB is not available in this runtime');
  await requestResult(idb.deleteDatabase(name));
}

/** A deleteMany of at least this many keys tries range deletes. */
const RANGE_DELETE_MIN = 8;

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
function planRangeDeletes(store: IDBObjectStore, keys: readonly string[], rangeDeleted: Set<string>, then: () => void): void {
  const doomed = new Set(keys);
  const sorted = [...doomed].sort();
  const KeyRange = (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange!;
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

/** Stored values are Uint8Array (what we write); ArrayBuffers written by other code are accepted too. */
function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  throw new BackendError(`indexeddb: a stored value is not bytes (${Object.prototype.toString.call(value)})`);
}

function requestResult<T>(req: IDBRequest<T> | IDBOpenDBRequest): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error);
  });
}
