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
import { TimeSlicer } from '../src/internal/yield.js';
import { KeyTree } from './memory/key-tree.js';
import { Slabs } from './memory/slabs.js';

/** Options of {@link memoryAdapter}. */
export interface MemoryAdapterOptions {
  /**
   * Share one store between several adapter instances (like two tabs on one
   * origin). The adapter installs its own `set`, `delete` and `clear` on this
   * Map (not enumerable; they call the Map's) to keep the keys in folders for
   * `list`, so the Map can still be changed directly, as tests do; a frozen
   * Map, or one with such methods of its own, works too, with `list`
   * filtering every key. Small values the adapter writes are views of shared
   * 1 MiB slabs (adapters/memory/slabs.ts: fewer heap objects for the garbage
   * collector at millions of values): read them, or replace them, but a test
   * that changes one in place changes that value only, as before.
   */
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
 * fresh copy, so a new value always has a new token; a value moved by slab
 * compaction keeps its token), assigned when first asked. Kept beside the values rather than in a second map of the store, so
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

/** A store's {@link KeyTree}, its {@link Slabs}, and the methods that keep both current (installed on the Map itself). */
interface Tracking {
  tree: KeyTree;
  slabs: Slabs;
  set: Map<string, Uint8Array>['set'];
  delete: Map<string, Uint8Array>['delete'];
  clear: Map<string, Uint8Array>['clear'];
}

/** The tree of every key `store` holds now (a full pass: once, or when a change went round ours). */
function treeOf(store: Map<string, Uint8Array>): KeyTree {
  const tree = new KeyTree();
  for (const k of store.keys()) if (typeof k === 'string') tree.add(k);
  return tree;
}

const trackingByStore = new WeakMap<Map<string, Uint8Array>, Tracking | null>();

/**
 * Starts keeping `store`'s keys in a {@link KeyTree}: its own `set`,
 * `delete` and `clear` (installed on the Map instance, not enumerable) call
 * the Map's and keep the tree current, so a test that edits a shared store directly
 * (damage, a second "tab") is seen as well as the adapter's own writes. A Map
 * that cannot take them (frozen, or with its own methods already) is not
 * tracked: `list` then filters every key, as it always did.
 */
function track(store: Map<string, Uint8Array>): Tracking | null {
  const known = trackingByStore.get(store);
  if (known !== undefined) return known;
  let t: Tracking | null = null;
  if (Object.isExtensible(store) && !['set', 'delete', 'clear'].some((m) => Object.prototype.hasOwnProperty.call(store, m))) {
    const { set, delete: del, clear } = store;
    const get = Map.prototype.get as Map<string, Uint8Array>['get'];
    // Compaction replaces a value by its copy in another slab: the key stays, and so does its version.
    const slabsOf = () =>
      new Slabs({
        get: (key) => get.call(store, key),
        move(key, old, moved) {
          set.call(store, key, moved);
          const v = versions.get(old);
          if (v !== undefined) versions.set(moved, v);
        },
      });
    const tracking: Tracking = {
      tree: treeOf(store),
      slabs: slabsOf(),
      set(this: Map<string, Uint8Array>, key: string, value: Uint8Array) {
        if (this !== store) return set.call(this, key, value);
        const old = get.call(this, key);
        set.call(this, key, value);
        if (old === undefined) {
          if (typeof key === 'string') tracking.tree.add(key);
        } else if (old !== value) tracking.slabs.release(old);
        return this;
      },
      delete(this: Map<string, Uint8Array>, key: string) {
        if (this !== store) return del.call(this, key);
        const old = get.call(this, key);
        const gone = del.call(this, key);
        if (gone && typeof key === 'string') tracking.tree.remove(key);
        if (old !== undefined) tracking.slabs.release(old);
        return gone;
      },
      clear(this: Map<string, Uint8Array>) {
        clear.call(this);
        if (this === store) {
          tracking.tree = new KeyTree();
          tracking.slabs = slabsOf();
        }
      },
    };
    try {
      for (const name of ['set', 'delete', 'clear'] as const) Object.defineProperty(store, name, { value: tracking[name], writable: true, configurable: true, enumerable: false });
      t = tracking;
    } catch {
      for (const name of ['set', 'delete', 'clear']) delete (store as unknown as Record<string, unknown>)[name];
    }
  }
  trackingByStore.set(store, t);
  return t;
}

/** Keys of an untracked store filtered per abort check: a pass over ten million keys can still be stopped. */
const SCAN_CHECK_EVERY = 16_384;

/**
 * The keys of `store` under `prefix`, a batch at a time. Through the tree
 * while it can be trusted: our methods still installed (a test may replace
 * one) and as many keys as the Map (a change that went round them,
 * `Map.prototype.set.call`, is caught here and the tree is built again).
 * Otherwise every key is filtered, into one snapshot. `check` (the abort
 * check) runs between folders, or every {@link SCAN_CHECK_EVERY} keys of a
 * full pass. Either way `list` checks each key is still there as it yields.
 */
function* keysUnder(store: Map<string, Uint8Array>, prefix: string, check: () => void): Generator<string[]> {
  const t = trackingByStore.get(store);
  if (t && store.set === t.set && store.delete === t.delete && store.clear === t.clear) {
    if (t.tree.size !== store.size) t.tree = treeOf(store);
    if (t.tree.size === store.size) return yield* t.tree.under(prefix, check);
  }
  const keys: string[] = [];
  let n = 0;
  for (const k of store.keys()) {
    if (++n % SCAN_CHECK_EVERY === 0) check();
    if (typeof k === 'string' && k.startsWith(prefix)) keys.push(k);
  }
  yield keys;
}

/** Creates an adapter that keeps bytes in a `Map`. */
export function memoryAdapter(options: MemoryAdapterOptions = {}): StorageAdapter {
  const store = options.store ?? new Map<string, Uint8Array>();
  let locks = locksByStore.get(store);
  if (!locks) locksByStore.set(store, (locks = new KeyedMutex()));
  const storeLocks = locks;
  const tracking = track(store);
  /** A private copy of `bytes` to store under `key`: in the store's slabs when it is tracked. */
  const own = (key: string, bytes: Uint8Array): Uint8Array => (tracking ? tracking.slabs.copy(key, bytes) : copyOf(bytes));

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
      store.set(key, own(key, bytes));
    },
    writeMany(entries) {
      for (const e of entries) store.set(e.key, own(e.key, e.bytes));
    },
    create(key, bytes) {
      if (store.has(key)) return false;
      store.set(key, own(key, bytes));
      return true;
    },
    append(key, bytes) {
      const old = store.get(key);
      if (!old) {
        store.set(key, own(key, bytes));
        return;
      }
      const joined = new Uint8Array(old.byteLength + bytes.byteLength);
      joined.set(old);
      joined.set(bytes, old.byteLength);
      store.set(key, own(key, joined));
    },
    readVersioned(key) {
      const v = store.get(key);
      return v && { bytes: v.slice(), version: versionOf(v) };
    },
    swap(key, bytes, expected) {
      const current = store.get(key);
      if ((current ? versionOf(current) : null) !== expected) return null;
      const next = own(key, bytes);
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
      // Snapshots, one folder at a time, so writes during iteration cannot break it.
      const signal = opts?.signal;
      const check = () => throwIfAborted(signal);
      // Every answer of this adapter is a microtask: a caller working through a listing (verify,
      // gc) would never give the event loop a turn, so no timer, and no abort it fires, could run
      // until the whole listing was done (a verify at 1M ran its 118 s past an abort at 2 s).
      // A turn every few milliseconds, as a backend's next page would give.
      const slice = new TimeSlicer(signal);
      let n = 0;
      for (const keys of keysUnder(store, prefix, check)) {
        for (const k of keys) {
          check();
          if ((++n & 63) === 0 && slice.due()) await slice.yield();
          if (store.has(k)) yield k;
        }
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
