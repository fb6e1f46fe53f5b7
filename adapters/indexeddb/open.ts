/**
 * The IndexedDB adapter's database: its schema (two object stores and the
 * sentinel written at creation), opening it through `idb`, and the states in
 * which it can no longer be used (deleted or upgraded by another tab, closed
 * by the browser).
 *
 * @module
 */
import { openDB, unwrap } from 'idb';
import { BackendError, StorageClearedError } from '../../src/errors.js';
import { wrapBrowserError, type QueuedCall } from '../../src/adapter/browser.js';
import { indexedDbApi } from '../../src/platform.js';

/** Object store holding the keys and their bytes. */
export const DATA_STORE = 'kv';
/** Object store holding the sentinel written at creation. */
const META_STORE = 'meta';
const SENTINEL_KEY = 'sentinel';
const SCHEMA_VERSION = 1;

/** The record written when the database is created; its absence later means the store was wiped. */
interface Sentinel {
  format: 'archive-storage/indexeddb';
  version: 1;
  createdAt: number;
}

/** `IDBKeyRange`, or the adapter's `BackendError` where this runtime has no IndexedDB. */
export function keyRanges(label: string): typeof IDBKeyRange {
  const api = indexedDbApi();
  if (!api) throw new BackendError(`${label}: IndexedDB is not available in this runtime (use it in a browser or a worker)`);
  return api.keyRange;
}

/**
 * One adapter's connection to its database, opened on first use and shared by
 * every call. A failed open is retried by the next call; once the connection
 * is gone for good, {@link dead} says why and every later call rejects with it.
 */
export class ArchiveDatabase {
  /** Set once the connection is gone for good (deleted, upgraded or closed elsewhere). */
  dead: Error | undefined;
  private opening: Promise<IDBDatabase> | undefined;
  private connection: IDBDatabase | undefined;

  constructor(
    private readonly name: string,
    private readonly label: string,
    private readonly mustExist: boolean,
  ) {}

  /**
   * The raw connection: batches issue their requests on it directly, without
   * `idb`'s promise wrappers, since a batch settles on its transaction's events.
   */
  open(): Promise<IDBDatabase> {
    if (this.dead) return Promise.reject(this.dead);
    this.opening ??= this.openDatabase().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  /**
   * Drops the connection and opens a new one on next use: for a connection the
   * browser left unable to write (see writes.ts, `isStaleConnection`).
   */
  async reopen(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    this.connection = undefined;
    try {
      (await opening)?.close();
    } catch {
      /* never opened */
    }
  }

  /** Closes the connection if it was opened. */
  async close(): Promise<void> {
    if (!this.opening) return;
    try {
      (await this.opening).close();
    } catch {
      /* never opened */
    }
  }

  private async openDatabase(): Promise<IDBDatabase> {
    const { label, mustExist } = this;
    keyRanges(label); // IndexedDB present at all?
    let refusedCreation = false;
    let db;
    try {
      db = await openDB(this.name, SCHEMA_VERSION, {
        upgrade(database, oldVersion, _newVersion, tx) {
          if (oldVersion !== 0) return;
          if (mustExist) {
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
        blocking: (_current, blockedVersion) => {
          // Another connection deletes the database (blockedVersion null) or upgrades it: let it, and stop here.
          this.dead =
            blockedVersion === null
              ? new StorageClearedError(`${label} was deleted by another tab or by the site's code; reopen it to start a new, empty archive`)
              : new BackendError(`${label} was upgraded to version ${blockedVersion} by a newer release in another tab; reload this page`);
          this.connection?.close();
        },
        terminated: () => {
          this.dead = new StorageClearedError(`${label}: the browser closed the database (site data cleared, or a storage failure)`);
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
    this.connection = raw;
    if (!raw.objectStoreNames.contains(DATA_STORE) || !raw.objectStoreNames.contains(META_STORE)) {
      raw.close();
      throw new StorageClearedError(`${label} exists but is not an archive-storage database (its object stores are missing)`);
    }
    const sentinel = (await db.get(META_STORE, SENTINEL_KEY)) as Sentinel | undefined;
    if (!sentinel) {
      raw.close();
      throw new StorageClearedError(
        `${label}: the sentinel written when the database was created is gone, so its data was wiped; ` +
          'this is not an empty archive: restore from a backup or delete the database to start over',
      );
    }
    return raw;
  }
}

/**
 * Opens the transaction a queued batch runs in. When the database cannot be
 * opened or the transaction not started, every call of the batch is rejected,
 * the queue's slot freed (`release`), and `undefined` returned.
 */
export async function batchTransaction(
  database: ArchiveDatabase,
  batch: readonly Pick<QueuedCall<unknown>, 'done'>[],
  release: () => void,
  mode: IDBTransactionMode,
  options: { what: string; durability?: IDBTransactionDurability },
): Promise<IDBTransaction | undefined> {
  let failure: unknown;
  try {
    const db = await database.open();
    try {
      return db.transaction(DATA_STORE, mode, options.durability ? { durability: options.durability } : undefined);
    } catch (error) {
      failure = database.dead ?? wrapBrowserError(error, options.what);
    }
  } catch (error) {
    failure = error;
  }
  release();
  for (const call of batch) call.done.reject(failure);
  return undefined;
}

/** Stored values are Uint8Array (what we write); ArrayBuffers written by other code are accepted too. */
export function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  throw new BackendError(`indexeddb: a stored value is not bytes (${Object.prototype.toString.call(value)})`);
}
