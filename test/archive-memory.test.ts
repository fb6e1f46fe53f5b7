import { MemoryStore, memoryAdapter } from '../adapters/memory.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { runArchiveConformance } from '../src/testing/index.js';

runArchiveConformance('memory', async () => {
  const store = new Map<string, Uint8Array>();
  return { adapter: memoryAdapter({ store }), reopen: async () => memoryAdapter({ store }) };
});

// The store memoryAdapter() makes for itself: objects in typed arrays (adapters/memory/object-table.ts).
runArchiveConformance('memory, MemoryStore', async () => {
  const store = new MemoryStore();
  return { adapter: memoryAdapter({ store }), reopen: async () => memoryAdapter({ store }) };
});

/** The memory adapter stripped to the five required calls: the archive must derive the rest. */
function minimal(inner: StorageAdapter): StorageAdapter {
  return {
    name: 'memory-minimal',
    capabilities: { writeMany: false, create: false, append: false, locking: false, quota: false, durability: 'none' },
    read: (k, o) => inner.read(k, o),
    has: (k, o) => inner.has(k, o),
    write: (k, b, o) => inner.write(k, b, o),
    delete: (k, o) => inner.delete(k, o),
    list: (p, o) => inner.list(p, o),
    close: () => inner.close!(),
  };
}

runArchiveConformance('memory, required calls only', async () => {
  const store = new Map<string, Uint8Array>();
  return { adapter: minimal(memoryAdapter({ store })), reopen: async () => minimal(memoryAdapter({ store })) };
});
