/**
 * The archive conformance suite, unchanged, on the browser adapters in real
 * headless Chromium, Firefox and WebKit: IndexedDB, and OPFS on both of its
 * engines (the worker engine where sync access handles open).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { openArchive } from '../src/archive/index.js';
import { canonicalBytes } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { deleteIndexedDbArchive, indexedDbAdapter } from '../adapters/indexeddb/index.js';
import { opfsAdapter } from '../adapters/opfs/index.js';
import { runArchiveConformance } from '../src/testing/index.js';
import { describeOpfsEngine } from './support/engines/current.js';

let counter = 0;
const unique = (tag: string) => `arch-${tag}-${Date.now().toString(36)}-${++counter}`;
const roots: string[] = [];

afterAll(async () => {
  const top = await navigator.storage.getDirectory();
  for (const r of roots) await top.removeEntry(r, { recursive: true }).catch(() => {});
});

runArchiveConformance('indexeddb', async () => {
  const name = unique('idb');
  const adapter = indexedDbAdapter({ name });
  return {
    adapter,
    reopen: async () => indexedDbAdapter({ name, mustExist: true }),
    teardown: async () => {
      await adapter.close?.();
      await deleteIndexedDbArchive(name);
    },
  };
});

for (const [engine, worker] of [['worker', true], ['main thread', false]] as const) {
  describeOpfsEngine(worker, () => runArchiveConformance(`opfs (${engine})`, async () => {
    const root = unique(worker ? 'opfs-w' : 'opfs-m');
    roots.push(root);
    const adapter = opfsAdapter({ root, worker });
    return {
      adapter,
      reopen: async () => opfsAdapter({ root, worker }),
      teardown: async () => {
        await adapter.close?.();
        const top = await navigator.storage.getDirectory();
        await top.removeEntry(root, { recursive: true }).catch(() => {});
      },
    };
  }));
}

describe('archive hashing in the browser', () => {
  it('putMany hashes with WebCrypto, a bounded number of digests at a time, and stores every value', async () => {
    const subtle = crypto.subtle;
    const original = subtle.digest.bind(subtle);
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    subtle.digest = (async (alg: AlgorithmIdentifier, data: BufferSource) => {
      calls++;
      most = Math.max(most, ++inFlight);
      try {
        return await original(alg, data);
      } finally {
        inFlight--;
      }
    }) as typeof subtle.digest;
    const archive = await openArchive(memoryAdapter());
    try {
      const values = Array.from({ length: 2000 }, (_, i) => ({ i, pad: 'p'.repeat(400) }));
      const hashes = await archive.putMany(values);
      expect(calls).toBeGreaterThanOrEqual(2000);
      expect(most).toBeGreaterThan(1);
      expect(most).toBeLessThanOrEqual(64);
      expect(hashes[1999]).toBe(sha256Hex(canonicalBytes(values[1999])));
      expect(await archive.get(hashes[7]!)).toEqual(values[7]);
    } finally {
      subtle.digest = original;
      await archive.close();
    }
  });
});
