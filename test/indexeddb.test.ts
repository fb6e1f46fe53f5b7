/** The IndexedDB adapter imported in Node: importing reads no browser global; using it says why it cannot work. */
import { describe, expect, it } from 'vitest';
import { isArchiveStorageError } from '../src/errors.js';

describe('indexeddb adapter in Node', () => {
  it('imports without touching browser globals', async () => {
    expect((globalThis as { indexedDB?: unknown }).indexedDB).toBeUndefined();
    const mod = await import('../adapters/indexeddb/index.js');
    expect(typeof mod.indexedDbAdapter).toBe('function');
    expect(typeof mod.requestPersistentStorage).toBe('function');
  });

  it('creating one is harmless; the first call reports the missing IndexedDB as BACKEND_FAILURE', async () => {
    const { indexedDbAdapter } = await import('../adapters/indexeddb/index.js');
    const adapter = indexedDbAdapter({ name: 'node' });
    expect(adapter.capabilities.durability).toBe('relaxed');
    let caught: unknown;
    try {
      await adapter.read('index.json');
    } catch (e) {
      caught = e;
    }
    expect(isArchiveStorageError(caught, 'BACKEND_FAILURE')).toBe(true);
    expect(String((caught as Error).message)).toMatch(/IndexedDB is not available/);
  });
});
