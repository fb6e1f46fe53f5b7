// A storage adapter written as a third party would: bytes in a Map, on archive-storage's
// defineAdapter, which adds the prologue (closed, aborted, key and bytes checks), close and error mapping.
import { defineAdapter, throwIfAborted, type StorageAdapter } from 'archive-storage';

/** Pass the same `store` twice to open the same storage again (the suites' `reopen`). */
export function mapAdapter(store = new Map<string, Uint8Array>()): StorageAdapter {
  return defineAdapter({
    name: 'example-map',
    // Nothing optional: the suites skip what is not declared, and the archive derives it.
    capabilities: { writeMany: false, create: false, append: false, locking: false, quota: false, durability: 'none' },
    read: async (key) => store.get(key)?.slice(), // a copy: the caller owns what it reads
    has: async (key) => store.has(key),
    write: async (key, bytes) => void store.set(key, new Uint8Array(bytes)), // a copy, as a plain Uint8Array
    delete: async (key) => void store.delete(key),
    async *list(prefix, options) {
      for (const key of [...store.keys()].filter((k) => k.startsWith(prefix))) {
        throwIfAborted(options?.signal);
        if (store.has(key)) yield key;
      }
    },
  });
}
