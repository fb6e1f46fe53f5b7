/**
 * The storage backends the demo offers, and one open "session" on a backend:
 * the adapter, the content archive over it, and the archive-backed intent
 * graph in that same archive.
 */
import { indexedDbAdapter } from '../adapters/indexeddb/index.js';
import { memoryAdapter } from '../adapters/memory.js';
import { OBJECTS_PREFIX, openArchive, throwIfAborted, type ContentArchive, type Progress, type StorageAdapter } from '../src/index.js';
import { openArchiveIntentStore, type ArchiveIntentStore } from '../src/intent-graph/index.js';
import { nextTask, yielder } from './tasks.js';

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
      return yielding(memoryAdapter({ store: memoryStore }));
  }
}

/** The adapter calls that return a promise: where a yielding wrapper may give the event loop a turn. */
const ASYNC_CALLS = new Set(['read', 'write', 'has', 'delete', 'writeMany', 'deleteMany', 'hasMany', 'create', 'append']);

/**
 * The memory adapter answers every call at once, so a 20 000-object import or
 * verify would run as one long task and freeze the page. This wrapper gives
 * the event loop a turn before a call once ~12 ms of work ran without one:
 * progress paints, Cancel can be clicked. The other backends wait on real I/O
 * (IndexedDB) or a worker (OPFS) and need no help.
 */
function yielding(adapter: StorageAdapter): StorageAdapter {
  const breathe = yielder(12);
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(adapter, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        const call = value as (...args: unknown[]) => unknown;
        fn =
          typeof prop === 'string' && ASYNC_CALLS.has(prop)
            ? async (...args: unknown[]) => {
                await breathe();
                return call.apply(target, args);
              }
            : (...args: unknown[]) => call.apply(target, args);
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
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

/** Keys deleted per backend round by {@link wipeSession}. */
const WIPE_BATCH = 500;

/** What {@link wipeSession} did. */
export interface WipeResult {
  session: Session;
  /** Keys deleted, of `total`. */
  deleted: number;
  total: number;
  /** Why it stopped early (`ABORTED` when cancelled). */
  error?: unknown;
}

/** Options of {@link wipeSession}. */
export interface WipeOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/**
 * Deletes every key of the session's backend, in batches of {@link WIPE_BATCH}
 * (one `deleteMany` round each where the adapter has it), reporting progress
 * and giving the event loop a turn between batches. Works the same on every
 * adapter: the archive is closed first, so nothing writes while the keys go.
 *
 * The bookkeeping (the archive's index and journal, the intent graph's index)
 * goes first and the objects after it, so a wipe cancelled half way leaves a
 * consistent archive: the objects not yet deleted, which the archive's index
 * is rebuilt from when it reopens.
 *
 * Resolves to the backend opened again, also when cancelled or failed half
 * way (then `error` says why): the page always has a session to show.
 */
export async function wipeSession(session: Session, options: WipeOptions = {}): Promise<WipeResult> {
  const { signal, onProgress } = options;
  await session.graph.close();
  await session.archive.close();
  let deleted = 0;
  let total = 0;
  let failure: unknown;
  try {
    if (session.kind === 'memory') {
      total = memoryStore.size;
      memoryStore = new Map();
      deleted = total;
    } else {
      const keys: string[] = [];
      for await (const key of session.adapter.list('', { signal })) keys.push(key);
      keys.sort((a, b) => Number(a.startsWith(OBJECTS_PREFIX)) - Number(b.startsWith(OBJECTS_PREFIX)));
      total = keys.length;
      onProgress?.({ done: 0, total });
      const { adapter } = session;
      for (let i = 0; i < keys.length; i += WIPE_BATCH) {
        throwIfAborted(signal);
        const batch = keys.slice(i, i + WIPE_BATCH);
        if (adapter.capabilities.deleteMany && adapter.deleteMany) await adapter.deleteMany(batch, { signal });
        else await Promise.all(batch.map((key) => adapter.delete(key, { signal })));
        deleted += batch.length;
        onProgress?.({ done: deleted, total });
        await nextTask();
      }
    }
  } catch (e) {
    failure = e;
  }
  await session.adapter.close?.();
  const reopened = await openSession(session.kind);
  return failure === undefined ? { session: reopened, deleted, total } : { session: reopened, deleted, total, error: failure };
}
