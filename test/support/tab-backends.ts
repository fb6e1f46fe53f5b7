/**
 * The backends of the multi-tab browser tests: each as code for this page
 * and as source text for the peer page (`test/browser-peer.html`, whose
 * `mods` is its module table), with how to remove what a test stored.
 */
import { deleteIndexedDbArchive, indexedDbAdapter } from '../../adapters/indexeddb/index.js';
import { opfsAdapter } from '../../adapters/opfs/index.js';
import type { StorageAdapter } from '../../src/adapter/contract.js';

/** A backend as code for this page and as source text for a peer page (`mods` is the peer's module table). */
export interface TabBackend {
  name: string;
  here(id: string): StorageAdapter;
  peer: string;
  forget(id: string): Promise<void>;
}

/** IndexedDB and OPFS, the backends several tabs of one origin share. */
export const tabBackends: readonly TabBackend[] = [
  {
    name: 'indexeddb',
    here: (id) => indexedDbAdapter({ name: id }),
    peer: '(mods, id) => mods.idb.indexedDbAdapter({ name: id })',
    forget: (id) => deleteIndexedDbArchive(id),
  },
  {
    name: 'opfs',
    here: (id) => opfsAdapter({ root: id }),
    peer: '(mods, id) => mods.opfs.opfsAdapter({ root: id })',
    forget: async (id) => (await navigator.storage.getDirectory()).removeEntry(id, { recursive: true }),
  },
];
