/**
 * The archive conformance suite, unchanged, on the browser adapters in real
 * headless Chromium: IndexedDB, and OPFS on both of its engines.
 */
import { afterAll } from 'vitest';
import { deleteIndexedDbArchive, indexedDbAdapter } from '../adapters/indexeddb.js';
import { opfsAdapter } from '../adapters/opfs.js';
import { runArchiveConformance } from './conformance/archive-suite.js';

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
  runArchiveConformance(`opfs (${engine})`, async () => {
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
  });
}
