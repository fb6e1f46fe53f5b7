/**
 * The in-memory adapter: the reference implementation of the contract, for
 * tests, scratch work and trying things out. Nothing survives the process.
 *
 * Built on `defineAdapter`, which gives every call its prologue (closed,
 * aborted, keys and bytes checked); what is left here is the store, answering
 * synchronously: a {@link MemoryStore} (objects in typed arrays, every other
 * key in a Map) by default, or a caller's `Map`.
 *
 * @module
 */
import type { AdapterCapabilities, StorageAdapter, StorageEstimate } from '../src/adapter/contract.js';
import { defineAdapter } from '../src/adapter/define.js';
import { throwIfAborted } from '../src/errors.js';
import { KeyedMutex } from '../src/internal/mutex.js';
import { TimeSlicer } from '../src/internal/yield.js';
import { KeyTree } from './memory/key-tree.js';
import { ObjectTable } from './memory/object-table.js';
import { Slabs } from './memory/slabs.js';

/**
 * A store for {@link memoryAdapter} that keeps the archive's objects
 * (`objects/<aa>/<bb>/<hash>.json`) in typed arrays rather than as a Map
 * entry each (adapters/memory/object-table.ts): no heap object per object,
 * so an archive of ten million objects does not make every major garbage
 * collection mark thirty million of them. Every other key is kept in a Map,
 * as with a Map store. This is the store `memoryAdapter()` makes for
 * itself; make one to share it between adapters (a reopen, a second "tab").
 * Its contents are reached through an adapter; a test that needs to read or
 * damage stored bytes directly passes a `Map` instead.
 */
export class MemoryStore {
  /** @internal The objects, in typed arrays. */
  readonly objects = new ObjectTable();
  /** @internal Every other key. */
  readonly others = new Map<string, Uint8Array>();

  /** Keys held. */
  get size(): number {
    return this.objects.size + this.others.size;
  }
}

/** Options of {@link memoryAdapter}. */
export interface MemoryAdapterOptions {
  /**
   * Share one store between several adapter instances (like two tabs on one
   * origin, or a reopen): a {@link MemoryStore}, or a `Map` that a test can
   * read and change directly. With a Map, the adapter installs its own `set`, `delete` and `clear` on this
   * Map (not enumerable; they call the Map's) to keep the keys in folders for
   * `list`, so the Map can still be changed directly, as tests do; a frozen
   * Map, or one with such methods of its own, works too, with `list`
   * filtering every key. Small values the adapter writes are views of shared
   * 1 MiB slabs (adapters/memory/slabs.ts: fewer heap objects for the garbage
   * collector at millions of values): read them, or replace them, but a test
   * that changes one in place changes that value only, as before.
   */
  store?: MemoryStore | Map<string, Uint8Array>;
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
const locksByStore = new WeakMap<MemoryStore | Map<string, Uint8Array>, KeyedMutex>();

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

/**
 * What the adapter's calls need of a store. Values go in and come out as
 * private copies (the contract: a caller may change what it wrote or read).
 */
interface Backing {
  read(key: string): Uint8Array | undefined;
  has(key: string): boolean;
  /** Stores a copy of `bytes` (a new version: {@link Backing.version} tells it, when asked). */
  write(key: string, bytes: Uint8Array): void;
  delete(key: string): void;
  /** The version token of the value under `key`, or null when there is none. */
  version(key: string): string | null;
  keysUnder(prefix: string, check: () => void): Generator<string[]>;
  usage(): number;
}

/** A Map store: one entry per key, small values in the store's slabs when it is tracked. */
function mapBacking(store: Map<string, Uint8Array>): Backing {
  const tracking = track(store);
  /** A private copy of `bytes` to store under `key`: in the store's slabs when it is tracked. */
  const own = (key: string, bytes: Uint8Array): Uint8Array => (tracking ? tracking.slabs.copy(key, bytes) : copyOf(bytes));
  return {
    read(key) {
      const v = store.get(key);
      return v && v.slice();
    },
    has: (key) => store.has(key),
    write(key, bytes) {
      store.set(key, own(key, bytes));
    },
    delete(key) {
      store.delete(key);
    },
    version(key) {
      const v = store.get(key);
      return v ? versionOf(v) : null;
    },
    keysUnder: (prefix, check) => keysUnder(store, prefix, check),
    usage() {
      let usage = 0;
      for (const v of store.values()) usage += v.byteLength;
      return usage;
    },
  };
}

/** A {@link MemoryStore}: object keys in its table, the rest in its Map. */
function storeBacking(store: MemoryStore): Backing {
  const { objects } = store;
  const others = mapBacking(store.others);
  return {
    read: (key) => (objects.parse(key) ? objects.read() : others.read(key)),
    has: (key) => (objects.parse(key) ? objects.has() : others.has(key)),
    write(key, bytes) {
      if (objects.parse(key)) objects.write(bytes);
      else others.write(key, bytes);
    },
    delete(key) {
      if (objects.parse(key)) objects.delete();
      else others.delete(key);
    },
    version: (key) => (objects.parse(key) ? objects.versionOf() : others.version(key)),
    *keysUnder(prefix, check) {
      yield* others.keysUnder(prefix, check);
      yield* objects.under(prefix, check);
    },
    usage: () => objects.bytes + others.usage(),
  };
}

/** Creates an adapter that keeps bytes in memory: in a {@link MemoryStore} of its own unless given a store. */
export function memoryAdapter(options: MemoryAdapterOptions = {}): StorageAdapter {
  const store = options.store ?? new MemoryStore();
  let locks = locksByStore.get(store);
  if (!locks) locksByStore.set(store, (locks = new KeyedMutex()));
  const storeLocks = locks;
  const b = store instanceof MemoryStore ? storeBacking(store) : mapBacking(store);

  return defineAdapter({
    name: 'memory',
    capabilities: CAPABILITIES,
    read: (key) => b.read(key),
    has: (key) => b.has(key),
    hasMany: (keys) => keys.map((key) => b.has(key)),
    write: (key, bytes) => b.write(key, bytes),
    writeMany(entries) {
      for (const e of entries) b.write(e.key, e.bytes);
    },
    create(key, bytes) {
      if (b.has(key)) return false;
      b.write(key, bytes);
      return true;
    },
    append(key, bytes) {
      const old = b.read(key);
      if (!old) {
        b.write(key, bytes);
        return;
      }
      const joined = new Uint8Array(old.byteLength + bytes.byteLength);
      joined.set(old);
      joined.set(bytes, old.byteLength);
      b.write(key, joined);
    },
    readVersioned(key) {
      const bytes = b.read(key);
      return bytes && { bytes, version: b.version(key)! };
    },
    swap(key, bytes, expected) {
      if (b.version(key) !== expected) return null;
      b.write(key, bytes);
      return b.version(key)!;
    },
    delete(key) {
      b.delete(key);
    },
    deleteMany(keys) {
      for (const key of keys) b.delete(key);
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
      for (const keys of b.keysUnder(prefix, check)) {
        for (const k of keys) {
          check();
          if ((++n & 63) === 0 && slice.due()) await slice.yield();
          if (b.has(k)) yield k;
        }
      }
    },
    lock(name, fn, opts) {
      return storeLocks.run(name, fn, opts);
    },
    async estimate(): Promise<StorageEstimate> {
      return { usage: b.usage() };
    },
  });
}
