/**
 * Compare-and-swap on one key, for every adapter: the one derivation the
 * references (and anything else that changes a shared key in place) use.
 *
 * - An adapter that declares `compareAndSwap` and has no `lock` (S3): its own
 *   `readVersioned` / `swap`, atomic at the backend (`If-Match`,
 *   `If-None-Match: *`).
 * - An adapter with `lock` (node-fs across processes, SQLite, IndexedDB and
 *   OPFS across tabs, memory): read, compare, `write`, all under
 *   `lock('cas-<first 40 hex of sha256(key)>')`. The version token is the
 *   SHA-256 hex of the stored bytes, so it needs nothing stored beside the
 *   value; a caller whose values never repeat (a counter inside them) gets
 *   tokens that never come back (no ABA).
 * - An adapter with neither is refused with
 *   `ConditionalWritesUnsupportedError`, naming it, unless the caller
 *   promises to be the only writer (`singleWriter`): then an in-process mutex
 *   per key is enough.
 *
 * Where an adapter has both (memory), the lock wins, as it does for the
 * index root (`src/archive/v2/engine.ts`): every handle on one storage takes
 * the same path, so a lock holder never races a native swap.
 *
 * @module
 */
import { ConditionalWritesUnsupportedError, InvalidArgumentError, throwIfAborted } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { KeyedMutex } from '../internal/mutex.js';
import { assertBytes, assertValidKey, type CallOptions, type StorageAdapter, type Versioned } from './contract.js';

/** How a {@link CompareAndSwap} is carried out. */
export type CompareAndSwapMode = 'native' | 'lock' | 'single-writer';

/** Options of {@link compareAndSwapOf}. */
export interface CompareAndSwapOptions {
  /**
   * The caller is the only writer of the storage (e.g. an S3 adapter opened
   * with `writers: 'single'`): an adapter with neither `swap` nor `lock` is
   * then served by an in-process mutex instead of being refused.
   */
  singleWriter?: boolean;
  /** How long to wait for the adapter's lock (lock mode), in ms; the adapter's default when absent. */
  lockTimeoutMs?: number;
}

/** Compare-and-swap on single keys of one adapter; see the module doc. */
export interface CompareAndSwap {
  /** Which derivation serves this adapter. */
  readonly mode: CompareAndSwapMode;
  /** The bytes under `key` with their version token, or `undefined` when absent. */
  read(key: string, options?: CallOptions): Promise<Versioned | undefined>;
  /**
   * Stores `bytes` under `key` only if its version is still `expected`
   * (`null`: only if absent). Resolves the new version, or `null` when the
   * condition failed and nothing was written.
   */
  swap(key: string, bytes: Uint8Array, expected: string | null, options?: CallOptions): Promise<string | null>;
}

/** The version token of `bytes` in lock and single-writer modes. */
export function bytesVersion(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

/** The adapter lock that guards `key` in lock mode: a name every adapter accepts (node-fs allows 1-100 of `A-Z a-z 0-9 . _ ~ -`). */
export function casLockName(key: string): string {
  return `cas-${sha256Hex(key).slice(0, 40)}`;
}

/** Mutexes of the single-writer mode, per adapter (two handles on one adapter share them). */
const singleWriterLocks = new WeakMap<StorageAdapter, KeyedMutex>();

/** True when `adapter` has a lock that excludes other processes or tabs. */
function canLock(adapter: StorageAdapter): boolean {
  return Boolean(adapter.capabilities?.locking && adapter.lock);
}

/**
 * True when shared keys of `adapter` change by its own compare-and-swap: it
 * declares `compareAndSwap` and has no lock (with a lock, changes are made
 * under it instead). The archive's index root and references decide alike.
 */
export function swapsNatively(adapter: StorageAdapter): boolean {
  return Boolean(adapter.capabilities?.compareAndSwap && adapter.swap && adapter.readVersioned) && !canLock(adapter);
}

/**
 * The compare-and-swap of `adapter`, derived once; see the module doc.
 * Throws `ConditionalWritesUnsupportedError` when the adapter has neither
 * compare-and-swap nor a lock (and `singleWriter` is not set).
 *
 * @example
 * ```ts
 * const cas = compareAndSwapOf(adapter);
 * const cur = await cas.read('counters/a');
 * const next = encode(decode(cur?.bytes) + 1);
 * if ((await cas.swap('counters/a', next, cur?.version ?? null)) === null) {
 *   // someone else changed it first: read again and retry
 * }
 * ```
 */
export function compareAndSwapOf(adapter: StorageAdapter, options: CompareAndSwapOptions = {}): CompareAndSwap {
  if (!adapter || typeof adapter.read !== 'function' || typeof adapter.write !== 'function') {
    throw new InvalidArgumentError('compareAndSwapOf needs a StorageAdapter');
  }
  if (swapsNatively(adapter)) return nativeCas(adapter);
  if (canLock(adapter)) return lockedCas(adapter, 'lock', (key, fn, signal) => adapter.lock!(casLockName(key), fn, { signal, timeoutMs: options.lockTimeoutMs }));
  if (options.singleWriter) {
    let mutex = singleWriterLocks.get(adapter);
    if (!mutex) singleWriterLocks.set(adapter, (mutex = new KeyedMutex()));
    const m = mutex;
    return lockedCas(adapter, 'single-writer', (key, fn, signal) => m.run(key, fn, { signal }));
  }
  throw new ConditionalWritesUnsupportedError(
    'neither',
    `${adapter.name}: this adapter has neither compare-and-swap (capabilities.compareAndSwap) nor a lock (capabilities.locking), ` +
      'so concurrent writers of one key would lose each other\'s changes; use an adapter that has one, ' +
      'or pass { singleWriter: true } when nothing else writes to this storage',
  );
}

function nativeCas(adapter: StorageAdapter): CompareAndSwap {
  return {
    mode: 'native',
    read: (key, options) => adapter.readVersioned!(key, options),
    swap: (key, bytes, expected, options) => adapter.swap!(key, bytes, expected, options),
  };
}

type Exclusive = <T>(key: string, fn: () => Promise<T>, signal: AbortSignal | undefined) => Promise<T>;

function lockedCas(adapter: StorageAdapter, mode: CompareAndSwapMode, exclusive: Exclusive): CompareAndSwap {
  const read = async (key: string, options?: CallOptions): Promise<Versioned | undefined> => {
    const bytes = await adapter.read(key, options);
    return bytes && { bytes, version: bytesVersion(bytes) };
  };
  return {
    mode,
    read,
    async swap(key, bytes, expected, options) {
      assertValidKey(key);
      assertBytes(bytes, key);
      if (expected !== null && typeof expected !== 'string') {
        throw new InvalidArgumentError(`${adapter.name}: swap ${key}: expected must be a version string or null, not ${typeof expected}`);
      }
      throwIfAborted(options?.signal);
      const copy = new Uint8Array(bytes);
      return exclusive(
        key,
        async () => {
          const current = await adapter.read(key, options);
          const version = current ? bytesVersion(current) : null;
          if (version !== expected) return null;
          await adapter.write(key, copy, options);
          return bytesVersion(copy);
        },
        options?.signal,
      );
    },
  };
}
