import { describe, expect, it } from 'vitest';
import { MemoryStore, memoryAdapter } from '../adapters/memory.js';
import { runAdapterConformance } from '../src/testing/index.js';

runAdapterConformance('memory', async () => {
  const store = new Map<string, Uint8Array>();
  return { adapter: memoryAdapter({ store }), reopen: async () => memoryAdapter({ store }) };
});

// The store memoryAdapter() makes for itself: objects in typed arrays (adapters/memory/object-table.ts).
runAdapterConformance('memory, MemoryStore', async () => {
  const store = new MemoryStore();
  return { adapter: memoryAdapter({ store }), reopen: async () => memoryAdapter({ store }) };
});

describe('memory adapters sharing one store', () => {
  it('share their locks, like two tabs of one origin', async () => {
    const store = new Map<string, Uint8Array>();
    const a = memoryAdapter({ store });
    const b = memoryAdapter({ store });
    let inside = 0;
    let maxInside = 0;
    const hold = async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
    };
    await Promise.all([a.lock!('x', hold), b.lock!('x', hold), a.lock!('x', hold), b.lock!('x', hold)]);
    expect(maxInside).toBe(1);
  });
});
