/**
 * The OPFS adapter: bytes under keys in the Origin Private File System, stored
 * as a log of checksummed batches (see `engine.ts` for why not a file per key,
 * and `format.ts` for the bytes).
 *
 * - Fast path: a dedicated module worker (`worker.ts`) appends batches
 *   through a sync access handle and flushes before any caller is told its
 *   write succeeded.
 * - Fallback, where no worker can be started (or when `worker: false`): the
 *   same engine on the calling thread, one `createWritable` file per batch.
 *
 * Every call the adapter receives in one microtask travels as one message; the
 * engine commits the writes of all messages queued while it was busy as one
 * batch (group commit). So 1,000 puts issued together cost one write and one
 * flush, and a lone awaited put costs one.
 *
 * Importing this module reads no browser global; the worker and the
 * directory are opened on first use (`backend.ts`).
 *
 * @module
 */
import { defineAdapter } from '../../src/adapter/define.js';
import type { AdapterCapabilities, CallOptions, StorageAdapter } from '../../src/adapter/contract.js';
import { BackendError, InvalidArgumentError, throwIfAborted } from '../../src/errors.js';
import { deferred } from '../../src/internal/deferred.js';
import { webLocks } from '../../src/platform.js';
import {
  browserStorageEstimate,
  callQueue,
  enqueueCall,
  ownedBytes,
  withWebLock,
  wrapBrowserError,
  type QueuedCall,
} from '../../src/adapter/browser.js';
import { failureOf, openBackend, type Backend, type WorkerOption } from './backend.js';
import type { EngineRequest, EngineResult } from './service.js';

export { browserStorageEstimate, requestPersistentStorage, type PersistenceOptions, type PersistenceReport } from '../../src/adapter/browser.js';

/** Options of {@link opfsAdapter}. */
export interface OpfsAdapterOptions {
  /** Name of the directory under the origin's OPFS root that holds this archive (default `archive-storage`). */
  root?: string;
  /**
   * Where the engine runs:
   * - `'auto'` (default): a dedicated worker with sync access handles; on the
   *   calling thread with `createWritable` when the worker cannot start.
   * - `true`: the worker or an error.
   * - `false`: the calling thread (`createWritable`), e.g. where workers are not allowed.
   * - a function returning a `Worker` running `opfs-worker.js`, for bundlers
   *   that need to create it themselves.
   */
  worker?: WorkerOption;
  /** A writer starts a new segment file at this size (default 64 MiB). */
  segmentBytes?: number;
}

/** The OPFS adapter, with which engine it ended up on. */
export interface OpfsAdapter extends StorageAdapter {
  /** `'worker'` (sync access handles) or `'main-thread'` (createWritable); known after the first call. */
  mode(): Promise<'worker' | 'main-thread'>;
  /** Rewrites the live data into fresh segments and deletes the old ones (it also runs by itself as garbage grows). */
  compact(options?: CallOptions): Promise<boolean>;
}

/** Directory used when no `root` is given. */
export const DEFAULT_OPFS_ROOT = 'archive-storage';
/** Keys per `list` page (one round trip each). */
const LIST_PAGE = 1000;
const ROOT_NAME = /^[A-Za-z0-9._~-]{1,128}$/;

/** One request waiting for the next group. */
type QueuedRequest = { request: EngineRequest } & QueuedCall<EngineResult>;

/**
 * Creates an adapter over the OPFS directory `options.root`. Several adapters
 * (tabs, workers) may use one directory at once: each appends to its own
 * files, and each sees the others' writes.
 */
export function opfsAdapter(options: OpfsAdapterOptions = {}): OpfsAdapter {
  const root = options.root ?? DEFAULT_OPFS_ROOT;
  if (typeof root !== 'string' || !ROOT_NAME.test(root) || root === '.' || root === '..') {
    throw new InvalidArgumentError(`opfsAdapter root must be a directory name of 1-128 characters A-Z a-z 0-9 . _ ~ -, got ${JSON.stringify(root)}`);
  }
  if (options.segmentBytes !== undefined && !(Number.isInteger(options.segmentBytes) && options.segmentBytes >= 4096)) {
    throw new InvalidArgumentError(`opfsAdapter segmentBytes must be an integer of at least 4096, got ${String(options.segmentBytes)}`);
  }
  const label = `opfs "${root}"`;
  const workerOption = options.worker ?? 'auto';
  const engineOptions = { root, ...(options.segmentBytes ? { segmentBytes: options.segmentBytes } : {}) };
  const hasLocks = webLocks() !== undefined;

  let backendPromise: Promise<Backend> | undefined;
  function backend(): Promise<Backend> {
    backendPromise ??= openBackend(label, workerOption, engineOptions).catch((error: unknown) => {
      backendPromise = undefined;
      throw error;
    });
    return backendPromise;
  }

  // Every request queued in one microtask goes to the engine as one group (one message). Groups do not wait
  // for each other: the engine queues them and commits the writes of all that queued meanwhile as one batch.
  const queue = callQueue<QueuedRequest>({
    maxInFlight: Infinity,
    run: (group) =>
      backend()
        .then((b) => b.call(group.map((q) => q.request)))
        .then(
          (results) => group.forEach((q, i) => q.done.resolve(results[i]!)),
          (error: unknown) => {
            const wrapped = error instanceof BackendError ? error : new BackendError(`${label}: ${String(error)}`, { cause: error });
            group.forEach((q) => q.done.reject(wrapped));
          },
        ),
  });

  /** Queues one request; resolves its value, or rejects with its typed error (`what` names it). */
  async function send(request: EngineRequest, signal: AbortSignal | undefined, what: string): Promise<unknown> {
    // The caller may stop waiting; a write already sent still commits (as a whole, with its batch).
    const result = await enqueueCall(queue, { request, done: deferred<EngineResult>(), signal });
    if (result.ok) return result.value;
    throw await failureOf(result.error, request, `${label}: ${what}`);
  }

  const capabilities: AdapterCapabilities = Object.freeze({
    writeMany: true,
    // Write-if-absent across tabs would need a lock per call; the archive derives it from has + write.
    create: false,
    append: true,
    locking: hasLocks,
    quota: true,
    durability: 'strict',
    hasMany: true,
    atomicBatch: true,
    deleteMany: true,
  });

  return defineAdapter(
    {
      name: 'opfs',
      label,
      capabilities,
      mapError: (error, call) => wrapBrowserError(error, `${label}: ${call}`),

      async read(key, opts) {
        const value = await send({ op: 'read', key }, opts?.signal, `read of ${JSON.stringify(key)}`);
        return value instanceof Uint8Array ? value : undefined;
      },
      async has(key, opts) {
        return (await send({ op: 'has', key }, opts?.signal, `has of ${JSON.stringify(key)}`)) === true;
      },
      async hasMany(keys, opts) {
        if (keys.length === 0) return [];
        return (await send({ op: 'hasMany', keys: [...keys] }, opts?.signal, `hasMany of ${keys.length} keys`)) as boolean[];
      },
      async write(key, bytes, opts) {
        await send({ op: 'put', key, bytes: ownedBytes(bytes) }, opts?.signal, `write of ${JSON.stringify(key)}`);
      },
      async writeMany(entries, opts) {
        if (entries.length === 0) return;
        const request: EngineRequest = { op: 'putMany', entries: entries.map((e) => ({ key: e.key, bytes: ownedBytes(e.bytes) })) };
        await send(request, opts?.signal, `writeMany of ${entries.length} entries`);
      },
      async append(key, bytes, opts) {
        await send({ op: 'append', key, bytes: ownedBytes(bytes) }, opts?.signal, `append to ${JSON.stringify(key)}`);
      },
      async delete(key, opts) {
        await send({ op: 'delete', key }, opts?.signal, `delete of ${JSON.stringify(key)}`);
      },
      async deleteMany(keys, opts) {
        if (keys.length === 0) return;
        await send({ op: 'deleteMany', keys: [...keys] }, opts?.signal, `deleteMany of ${keys.length} keys`);
      },
      async *list(prefix, opts) {
        let after: string | undefined;
        let fresh = true;
        for (;;) {
          throwIfAborted(opts?.signal);
          const page = (await send({ op: 'list', prefix, after, limit: LIST_PAGE, fresh }, opts?.signal, 'list')) as string[];
          fresh = false;
          for (const key of page) {
            throwIfAborted(opts?.signal);
            yield key;
          }
          if (page.length < LIST_PAGE) return;
          after = page[page.length - 1];
        }
      },
      estimate: () => browserStorageEstimate(),
      ...(hasLocks
        ? {
            // Taking the lock is a sync point: first read what other tabs wrote (the last holder's writes resolved
            // before it let go), so code under the lock never works from a stale view (e.g. of index.json).
            lock: (name, fn, opts) =>
              withWebLock(
                `archive-storage:opfs:${root}:lock:${name}`,
                async () => {
                  await send({ op: 'refresh' }, undefined, 'refresh under a lock');
                  return fn();
                },
                opts,
              ),
          }
        : {}),
      async close() {
        queue.flushNow();
        // The engine finishes what it was sent before it closes (its queue drains first).
        if (backendPromise) {
          try {
            await (await backendPromise).close();
          } catch {
            /* never opened */
          }
        }
        await queue.whenIdle();
      },
    },
    (guarded) => ({
      async mode(): Promise<'worker' | 'main-thread'> {
        return (await backend()).mode;
      },
      compact: (opts?: CallOptions) => guarded('compact', opts, async () => (await send({ op: 'compact' }, opts?.signal, 'compact')) === true),
    }),
  );
}
