/**
 * The in-memory adapter: the reference implementation of the contract, for
 * tests, scratch work and trying things out. Nothing survives the process.
 *
 * Built on `defineAdapter`, which gives every call its prologue (closed,
 * aborted, keys and bytes checked); what is left here is the Map, answering
 * synchronously.
 *
 * @module
 */
import type { AdapterCapabilities, StorageAdapter, StorageEstimate } from '../src/adapter/contract.js';
import { defineAdapter } from '../src/adapter/define.js';
import { throwIfAborted } from '../src/errors.js';
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
  compareAndSwap: true,
});

/**
 * Version tokens for `swap`: one per stored Uint8Array (every write stores a
 * fresh copy, so a new value always has a new token), assigned when first
 * asked. Kept beside the values rather than in a second map of the store, so
 * tests that edit a shared store directly still see coherent versions.
 */
const versions = new WeakMap<Uint8Array, string>();
let lastVersion = 0;
function versionOf(value: Uint8Array): string {
  let v = versions.get(value);
  if (v === undefined) versions.set(value, (v = `m${(++lastVersion).toString(36)}`));
  return v;
}

/**
 * A private copy as a plain Uint8Array. Not `bytes.slice()`: on a subclass it
 * keeps the subclass, and Node's `Buffer#slice` returns a view that shares the
 * caller's memory.
 */
function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Locks belong to the store, not the adapter: adapters sharing a store (two "tabs") exclude each other. */
const locksByStore = new WeakMap<Map<string, Uint8Array>, KeyedMutex>();

/** Creates an adapter that keeps bytes in a `Map`. */
export function memoryAdapter(options: MemoryAdapterOptions = {}): StorageAdapter {
  const store = options.store ?? new Map<string, Uint8Array>();
  let locks = locksByStore.get(store);
  if (!locks) locksByStore.set(store, (locks = new KeyedMutex()));
  const storeLocks = locks;

  return defineAdapter({
    name: 'memory',
    capabilities: CAPABILITIES,
    read(key) {
      const v = store.get(key);
      return v && v.slice();
    },
    has(key) {
      return store.has(key);
    },
    hasMany(keys) {
      return keys.map((key) => store.has(key));
    },
    write(key, bytes) {
      store.set(key, copyOf(bytes));
    },
    writeMany(entries) {
      for (const e of entries) store.set(e.key, copyOf(e.bytes));
    },
    create(key, bytes) {
      if (store.has(key)) return false;
      store.set(key, copyOf(bytes));
      return true;
    },
    append(key, bytes) {
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
    readVersioned(key) {
      const v = store.get(key);
      return v && { bytes: v.slice(), version: versionOf(v) };
    },
    swap(key, bytes, expected) {
      const current = store.get(key);
      if ((current ? versionOf(current) : null) !== expected) return null;
      const next = copyOf(bytes);
      store.set(key, next);
      return versionOf(next);
    },
    delete(key) {
      store.delete(key);
    },
    deleteMany(keys) {
      for (const key of keys) store.delete(key);
    },
    async *list(prefix, opts) {
      // Snapshot the matching keys so writes during iteration cannot break it.
      const keys = [...store.keys()].filter((k) => k.startsWith(prefix));
      for (const k of keys) {
        throwIfAborted(opts?.signal);
        if (store.has(k)) yield k;
      }
    },
    lock(name, fn, opts) {
      return storeLocks.run(name, fn, opts);
    },
    async estimate(): Promise<StorageEstimate> {
      let usage = 0;
      for (const v of store.values()) usage += v.byteLength;
      return { usage };
    },
  });
}
