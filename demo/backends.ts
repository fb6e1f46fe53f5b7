/**
 * The storage backends the demo offers, and one open "session" on a backend:
 * the adapter, the content archive over it, and the archive-backed intent
 * graph in that same archive.
 */
import { indexedDbAdapter } from '../adapters/indexeddb/index.js';
import { memoryAdapter } from '../adapters/memory.js';
import { openArchive, type ContentArchive, type StorageAdapter } from '../src/index.js';
import { openArchiveIntentStore, type ArchiveIntentStore } from '../src/intent-graph/index.js';

/** A backend the page can open. */
export type BackendKind = 'indexeddb' | 'opfs' | 'memory';

/** Name of the IndexedDB database and of the OPFS directory the demo uses. */
export const DEMO_STORE_NAME = 'archive-storage-demo';

/** What the backend picker shows for each backend. */
export const BACKEND_LABELS: Record<BackendKind, string> = {
  indexeddb: 'IndexedDB (kept across reloads)',
  opfs: 'Origin Private File System (kept across reloads)',
  memory: 'Memory (gone on reload)',
};

/**
 * The OPFS adapter (`adapters/opfs/index.ts`, with its worker) is loaded on
 * first use, in a chunk of its own; `import.meta.glob` resolves to an empty
 * map when the folder is absent, so the demo builds with or without it.
 */
const opfsModule = import.meta.glob<Record<string, unknown>>('../adapters/opfs/index.ts');

type AdapterFactory = (options: { root?: string }) => StorageAdapter;

async function loadOpfsFactory(): Promise<AdapterFactory | undefined> {
  const load = Object.values(opfsModule)[0];
  if (!load) return undefined;
  const mod = await load();
  return typeof mod['opfsAdapter'] === 'function' ? (mod['opfsAdapter'] as AdapterFactory) : undefined;
}

/** Backends usable in this browser, IndexedDB first (the default). */
export async function availableBackends(): Promise<BackendKind[]> {
  const kinds: BackendKind[] = [];
  if (typeof indexedDB !== 'undefined') kinds.push('indexeddb');
  const hasOpfsApi = typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function';
  if (hasOpfsApi && (await loadOpfsFactory().catch(() => undefined))) kinds.push('opfs');
  kinds.push('memory');
  return kinds;
}

/** The memory backend's bytes live here, so "Delete all data" and re-opening keep working within one page. */
let memoryStore = new Map<string, Uint8Array>();

async function createAdapter(kind: BackendKind): Promise<StorageAdapter> {
  switch (kind) {
    case 'indexeddb':
      return indexedDbAdapter({ name: DEMO_STORE_NAME });
    case 'opfs': {
      const factory = await loadOpfsFactory();
      if (!factory) throw new Error('the OPFS adapter is not part of this build');
      return factory({ root: DEMO_STORE_NAME });
    }
    case 'memory':
      return memoryAdapter({ store: memoryStore });
  }
}

/** One backend opened: everything the panels work on. */
export interface Session {
  readonly kind: BackendKind;
  readonly adapter: StorageAdapter;
  readonly archive: ContentArchive;
  readonly graph: ArchiveIntentStore;
}

/** Opens `kind`: its adapter, the archive (index rebuilt if needed) and the intent graph kept in it. */
export async function openSession(kind: BackendKind): Promise<Session> {
  const adapter = await createAdapter(kind);
  try {
    const archive = await openArchive(adapter);
    const graph = await openArchiveIntentStore({ archive });
    return { kind, adapter, archive, graph };
  } catch (e) {
    await adapter.close?.().catch(() => {});
    throw e;
  }
}

/** Closes the graph, then the archive (which compacts its index), then the adapter. */
export async function closeSession(session: Session): Promise<void> {
  await session.graph.close();
  await session.archive.close();
  await session.adapter.close?.();
}

/**
 * Deletes every key of the session's backend and opens it again, empty.
 * Works the same on every adapter: the archive is closed first, so nothing
 * writes while the keys go.
 */
export async function wipeSession(session: Session): Promise<Session> {
  await session.graph.close();
  await session.archive.close();
  if (session.kind === 'memory') {
    memoryStore = new Map();
  } else {
    const keys: string[] = [];
    for await (const key of session.adapter.list('')) keys.push(key);
    for (const key of keys) await session.adapter.delete(key);
  }
  await session.adapter.close?.();
  return openSession(session.kind);
}
