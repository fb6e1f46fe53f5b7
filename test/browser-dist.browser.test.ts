/**
 * The BUILT library in Chromium, Firefox and WebKit: `npm test` builds dist/ first, and this loads
 * dist/adapters/opfs.js and dist/adapters/indexeddb.js as an app would, to
 * prove the published OPFS worker (an emitted asset, found relative to the
 * module) starts and that both adapters work from the build.
 */
import { describe, expect, it } from 'vitest';
import { defaultOpfsMode, engineName, syncHandlesRefused } from './support/engines/current.js';

// Resolved at transform time: empty when dist/ has not been built (plain `vitest run` without `npm run build`).
const built = import.meta.glob(['../dist/adapters/opfs.js', '../dist/adapters/indexeddb.js', '../dist/index.js']);
const hasBuild = Object.keys(built).length === 3;

describe.skipIf(!hasBuild)(`the built library (dist/) in ${engineName}`, () => {
  it(`the OPFS adapter from dist starts its worker and round-trips through the archive (${engineName}: ${defaultOpfsMode} engine)`, async () => {
    const { opfsAdapter } = (await built['../dist/adapters/opfs.js']!()) as typeof import('../adapters/opfs/index.js');
    const { openArchive } = (await built['../dist/index.js']!()) as typeof import('../src/index.js');
    const root = `dist-${Date.now().toString(36)}`;
    // Where sync access handles refuse (WebKitGTK), the worker starts, proves that, and the default falls back.
    const adapter = opfsAdapter({ root, worker: syncHandlesRefused ? 'auto' : true });
    try {
      expect(await adapter.mode()).toBe(defaultOpfsMode);
      const archive = await openArchive(adapter);
      const hash = await archive.put({ from: 'dist' });
      expect(await archive.get(hash)).toEqual({ from: 'dist' });
      await archive.close();
    } finally {
      await adapter.close?.();
      await (await navigator.storage.getDirectory()).removeEntry(root, { recursive: true }).catch(() => {});
    }
  });

  it('the IndexedDB adapter from dist round-trips', async () => {
    const { indexedDbAdapter, deleteIndexedDbArchive } = (await built['../dist/adapters/indexeddb.js']!()) as typeof import('../adapters/indexeddb/index.js');
    const name = `dist-${Date.now().toString(36)}`;
    const adapter = indexedDbAdapter({ name });
    await adapter.write('k', new TextEncoder().encode('v'));
    expect(new TextDecoder().decode((await adapter.read('k'))!)).toBe('v');
    await adapter.close?.();
    await deleteIndexedDbArchive(name);
  });
});
