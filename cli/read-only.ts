/**
 * A read-only view of a store for the commands that only read (`ls`, `get`,
 * `verify` without `--repair`, `export`, ...).
 *
 * Opening an archive may write: an empty `index.json` for a new directory, a
 * compaction of the journal, a rebuild of a torn index, and the node-fs
 * adapter's lock and writer files. A read must change nothing, so every write
 * made through this view lands in an overlay in memory (reads see it, the
 * backend never does) and is gone when the command ends. Locks are taken in
 * this process only: nothing is written to take them.
 *
 * @module
 */
import type { AdapterCapabilities, CallOptions, StorageAdapter, WriteEntry } from '../src/adapter/contract.js';

/** `adapter`, with every change kept in memory instead of reaching the backend. */
export function readOnlyView(adapter: StorageAdapter): StorageAdapter {
  /** Key → bytes written through the view, or `null` for a key deleted through it. */
  const overlay = new Map<string, Uint8Array | null>();
  const capabilities: AdapterCapabilities = Object.freeze({
    ...adapter.capabilities,
    writeMany: true,
    create: true,
    append: true,
    atomicBatch: true,
    deleteMany: true,
    // No lock at all: the archive then runs its locked steps directly, and nothing is created to hold one.
    locking: false,
    // Nor compare-and-swap: the view's writes stay in memory, so there is nothing to swap against.
    compareAndSwap: false,
  });
  const read = async (key: string, options?: CallOptions) => {
    const mine = overlay.get(key);
    if (mine !== undefined) return mine === null ? undefined : mine;
    return adapter.read(key, options);
  };
  const has = async (key: string, options?: CallOptions) => {
    const mine = overlay.get(key);
    return mine !== undefined ? mine !== null : adapter.has(key, options);
  };
  return {
    name: `${adapter.name} (read-only)`,
    capabilities,
    read,
    has,
    async write(key, bytes) {
      overlay.set(key, new Uint8Array(bytes));
    },
    async writeMany(entries: readonly WriteEntry[]) {
      for (const e of entries) overlay.set(e.key, new Uint8Array(e.bytes));
    },
    async create(key, bytes, options) {
      if (await has(key, options)) return false;
      overlay.set(key, new Uint8Array(bytes));
      return true;
    },
    async append(key, bytes, options) {
      const old = (await read(key, options)) ?? new Uint8Array(0);
      const joined = new Uint8Array(old.byteLength + bytes.byteLength);
      joined.set(old);
      joined.set(bytes, old.byteLength);
      overlay.set(key, joined);
    },
    async delete(key) {
      overlay.set(key, null);
    },
    async deleteMany(keys: readonly string[]) {
      for (const k of keys) overlay.set(k, null);
    },
    async hasMany(keys: readonly string[], options?: CallOptions) {
      return Promise.all(keys.map((k) => has(k, options)));
    },
    async *list(prefix: string, options?: CallOptions) {
      for await (const key of adapter.list(prefix, options)) if (!overlay.has(key)) yield key;
      for (const [key, bytes] of overlay) if (bytes !== null && key.startsWith(prefix)) yield key;
    },
    ...(adapter.estimate ? { estimate: (options?: CallOptions) => adapter.estimate!(options) } : {}),
    close: async () => adapter.close?.(),
  };
}
