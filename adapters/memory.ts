/**
 * The in-memory adapter: the reference implementation of the contract, for
 * tests, scratch work and trying things out. Nothing survives the process.
 *
 * @module
 */
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
} from '../src/adapter/contract.js';
import { ClosedError, throwIfAborted } from '../src/errors.js';
import { KeyedMutex } from '../src/internal/mutex.js';

/** Options of {@link memoryAdapter}. */
export interface MemoryAdapterOptions {
  /** Share one store between several adapter instances (like two tabs on one origin). */
  store?: Map<string, Uint8Array>;
}

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  writeMany: true,
  create: true,
  append: true,
  locking: true,
  quota: true,
  durability: 'none',
  hasMany: true,
  atomicBatch: true,
  deleteMany: true,
});

/**
 * A private copy as a plain Uint8Array. Not `bytes.slice()`: on a subclass it
 * keeps the subclass, and Node's `Buffer#slice` returns a view that shares the
 * caller's memory.
 */
function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Creates an adapter that keeps bytes in a `Map`. */
/** Locks belong to the store, not the adapter: adapters sharing a store (two "tabs") exclude each other. */
const locksByStore = new WeakMap<Map<string, Uint8Array>, KeyedMutex>();

export function memoryAdapter(options: MemoryAdapterOptions = {}): StorageAdapter {
  const store = options.store ?? new Map<string, Uint8Array>();
  let locks = locksByStore.get(store);
  if (!locks) locksByStore.set(store, (locks = new KeyedMutex()));
  let closed = false;

  const enter = (key: string | undefined, opts: CallOptions | undefined) => {
    if (closed) throw new ClosedError('memory adapter is closed');
    throwIfAborted(opts?.signal);
    if (key !== undefined) assertValidKey(key);
  };

  return {
    name: 'memory',
    capabilities: CAPABILITIES,
    async read(key, opts) {
      enter(key, opts);
      const v = store.get(key);
      return v && v.slice();
    },
    async has(key, opts) {
      enter(key, opts);
      return store.has(key);
    },
    async hasMany(keys: readonly string[], opts) {
      enter(undefined, opts);
      for (const key of keys) assertValidKey(key);
      return keys.map((key) => store.has(key));
    },
    async write(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      store.set(key, copyOf(bytes));
    },
    async writeMany(entries: readonly WriteEntry[], opts) {
      enter(undefined, opts);
      assertWriteEntries(entries);
      for (const e of entries) store.set(e.key, copyOf(e.bytes));
    },
    async create(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      if (store.has(key)) return false;
      store.set(key, copyOf(bytes));
      return true;
    },
    async append(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      const old = store.get(key);
      if (!old) {
        store.set(key, copyOf(bytes));
        return;
      }
      const joined = new Uint8Array(old.byteLength + bytes.byteLength);
      joined.set(old);
      joined.set(bytes, old.byteLength);
      store.set(key, joined);
    },
    async delete(key, opts) {
      enter(key, opts);
      store.delete(key);
    },
    async deleteMany(keys: readonly string[], opts) {
      enter(undefined, opts);
      for (const key of keys) assertValidKey(key);
      for (const key of keys) store.delete(key);
    },
    async *list(prefix, opts) {
      enter(undefined, opts);
      assertValidPrefix(prefix);
      // Snapshot the matching keys so writes during iteration cannot break it.
      const keys = [...store.keys()].filter((k) => k.startsWith(prefix));
      for (const k of keys) {
        throwIfAborted(opts?.signal);
        if (store.has(k)) yield k;
      }
    },
    lock<T>(name: string, fn: () => Promise<T>, opts?: LockOptions): Promise<T> {
      enter(undefined, opts);
      return locks!.run(name, fn, opts);
    },
    async estimate(opts): Promise<StorageEstimate> {
      enter(undefined, opts);
      let usage = 0;
      for (const v of store.values()) usage += v.byteLength;
      return { usage };
    },
    async close() {
      closed = true;
    },
  };
}
