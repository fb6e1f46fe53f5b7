/**
 * The IndexedDB adapter: bytes under keys in one object store of a database of
 * the origin, built on `idb`.
 *
 * IndexedDB's cost is per transaction (in headless Chromium one transaction per
 * 1 KiB put gives about 1,800 puts/s, one transaction for 2,000 puts about
 * 10,000-15,000 puts/s), so this adapter coalesces:
 * - Writes (`write`, `delete`, `create`, `append`, `writeMany`) go to a queue
 *   (`writes.ts`): while a write transaction runs, new writes wait and go
 *   together in the next one as soon as it completes (group commit). A lone
 *   awaited write therefore pays one transaction, and writes issued together
 *   share one. A resolved write is committed at the chosen durability.
 * - Reads (`read`, `has`) are grouped the same way (`reads.ts`): one readonly
 *   transaction at a time, carrying every read issued while the previous one ran.
 *
 * The database, its sentinel and its dead states are in `open.ts`. Importing
 * this module reads no browser global: `indexedDB`, `navigator.locks` and
 * `navigator.storage` are looked up (through `platform.ts`) when an adapter is used.
 *
 * @module
 */
import { deleteDB } from 'idb';
import { defineAdapter } from '../../src/adapter/define.js';
import type { AdapterCapabilities, StorageAdapter } from '../../src/adapter/contract.js';
import { BackendError, InvalidArgumentError } from '../../src/errors.js';
import { deferred } from '../../src/internal/deferred.js';
import { indexedDbApi, webLocks } from '../../src/platform.js';
import { browserStorageEstimate, enqueueCall, withWebLock, wrapBrowserError } from '../../src/adapter/browser.js';
import { ArchiveDatabase } from './open.js';
import { listKeys, readQueue } from './reads.js';
import { writeQueue } from './writes.js';

export { browserStorageEstimate, requestPersistentStorage, type PersistenceOptions, type PersistenceReport } from '../../src/adapter/browser.js';

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

/**
 * Creates an adapter storing bytes in the IndexedDB database `options.name`.
 * The database is opened on first use; opening errors (e.g. `StorageClearedError`
 * with `mustExist`) surface from that first call and every later one.
 * A missing or empty name is refused with `InvalidArgumentError`.
 */
export function indexedDbAdapter(options: IndexedDbAdapterOptions): StorageAdapter {
  if (!options || typeof options.name !== 'string' || options.name === '') {
    throw new InvalidArgumentError('indexedDbAdapter needs a non-empty database name: indexedDbAdapter({ name: "my-archive" })');
  }
  const dbName = options.name;
  const label = `indexeddb "${dbName}"`;
  const durability = options.durability ?? 'relaxed';
  const hasLocks = webLocks() !== undefined;
  const database = new ArchiveDatabase(dbName, label, options.mustExist === true);
  const writes = writeQueue(database, {
    label,
    durability,
    maxBatchOps: Math.max(1, options.maxBatchOps ?? 4096),
    maxBatchBytes: Math.max(1, options.maxBatchBytes ?? 32 * 1024 * 1024),
  });
  const reads = readQueue(database, label);

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

  return defineAdapter({
    name: 'indexeddb',
    label,
    capabilities,
    unusable: () => database.dead,
    mapError: (error, call) => wrapBrowserError(error, `${label}: ${call}`),

    read: (key, opts) => enqueueCall(reads, { kind: 'read', key, done: deferred<Uint8Array | undefined>(), signal: opts?.signal }),
    has: (key, opts) => enqueueCall(reads, { kind: 'has', key, done: deferred<boolean>(), signal: opts?.signal }),
    // Queued together, so they share one readonly transaction (two if one was already running).
    hasMany: (keys, opts) =>
      Promise.all(keys.map((key) => enqueueCall(reads, { kind: 'has', key, done: deferred<boolean>(), signal: opts?.signal }))),

    write: (key, bytes, opts) => enqueueCall(writes, { kind: 'put', key, bytes, done: deferred<void>(), signal: opts?.signal }),
    async writeMany(entries, opts) {
      if (entries.length === 0) return;
      return enqueueCall(writes, { kind: 'many', entries: [...entries], done: deferred<void>(), signal: opts?.signal });
    },
    create: (key, bytes, opts) => enqueueCall(writes, { kind: 'create', key, bytes, done: deferred<boolean>(), signal: opts?.signal }),
    append: (key, bytes, opts) => enqueueCall(writes, { kind: 'append', key, bytes, done: deferred<void>(), signal: opts?.signal }),
    delete: (key, opts) => enqueueCall(writes, { kind: 'delete', key, done: deferred<void>(), signal: opts?.signal }),
    async deleteMany(keys, opts) {
      if (keys.length === 0) return;
      return enqueueCall(writes, { kind: 'deletes', keys: [...keys], done: deferred<void>(), signal: opts?.signal });
    },

    list: (prefix, opts) => listKeys(database, label, prefix, opts),
    estimate: () => browserStorageEstimate(),
    ...(hasLocks ? { lock: (name, fn, opts) => withWebLock(`archive-storage:indexeddb:${dbName}:${name}`, fn, opts) } : {}),

    async close() {
      // Let every queued write reach its transaction before the connection goes.
      writes.flushNow();
      await writes.whenIdle();
      await database.close();
    },
  });
}

/** Deletes the IndexedDB database `name` (every key of that archive). Other tabs' adapters on it then report `STORAGE_CLEARED`. */
export async function deleteIndexedDbArchive(name: string): Promise<void> {
  if (!indexedDbApi()) throw new BackendError('IndexedDB is not available in this runtime');
  await deleteDB(name);
}
