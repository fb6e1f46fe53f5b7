/**
 * The OPFS adapter: bytes under keys in the Origin Private File System, stored
 * as a log of checksummed batches (see `opfs-engine.ts` for why not a file
 * per key, and `opfs-format.ts` for the bytes).
 *
 * - Fast path: a dedicated module worker (`opfs-worker.ts`) appends batches
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
 * directory are opened on first use.
 *
 * @module
 */
import {
  assertBytes,
  assertValidKey,
  assertValidPrefix,
  assertWriteEntries,
  type AdapterCapabilities,
  type CallOptions,
  type LockOptions,
  type StorageAdapter,
  type StorageEstimate,
  type WriteEntry,
} from '../../src/adapter/contract.js';
import { AbortError, BackendError, ClosedError, InvalidArgumentError, QuotaExceededError, throwIfAborted } from '../../src/errors.js';
import { browserStorageEstimate, deferred, ownedBytes, webLocks, withWebLock, type Deferred } from '../../src/adapter/browser.js';
import { PackEngine } from './engine.js';
import { PackService, toWireError, type EngineRequest, type EngineResult, type WireError } from './service.js';
import type { FromWorker, ToWorker } from './worker.js';

export { browserStorageEstimate, requestPersistentStorage, type PersistenceReport } from '../../src/adapter/browser.js';

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
  worker?: boolean | 'auto' | (() => Worker);
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
/** How long `close()` waits for the worker to confirm before terminating it. */
const CLOSE_TIMEOUT_MS = 5_000;
/** Keys per `list` page (one round trip each). */
const LIST_PAGE = 1000;
const ROOT_NAME = /^[A-Za-z0-9._~-]{1,128}$/;

/** Something that answers request groups: the worker, or the engine on this thread. */
interface Backend {
  readonly mode: 'worker' | 'main-thread';
  call(requests: EngineRequest[]): Promise<EngineResult[]>;
  close(): Promise<void>;
}

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
  let closed = false;
  let queue: { request: EngineRequest; done: Deferred<EngineResult>; signal: AbortSignal | undefined }[] = [];
  let scheduled = false;
  const inFlight = new Set<Promise<unknown>>();

  function backend(): Promise<Backend> {
    backendPromise ??= openBackend().catch((error: unknown) => {
      backendPromise = undefined;
      throw error;
    });
    return backendPromise;
  }

  async function openBackend(): Promise<Backend> {
    const storage = (globalThis as { navigator?: Navigator }).navigator?.storage;
    if (!storage?.getDirectory) {
      throw new BackendError(`${label}: the Origin Private File System is not available in this runtime (use it in a browser, over https or localhost)`);
    }
    if (workerOption !== false) {
      try {
        return await openWorkerBackend();
      } catch (error) {
        if (workerOption !== 'auto') throw error instanceof BackendError ? error : new BackendError(`${label}: the worker did not start`, { cause: error });
      }
    }
    return openLocalBackend();
  }

  async function openLocalBackend(): Promise<Backend> {
    let service: PackService;
    try {
      service = new PackService(await PackEngine.open({ ...engineOptions, mode: 'writable' }));
    } catch (error) {
      throw fromWire(toWireError(error), `${label}: open`, error);
    }
    return { mode: 'main-thread', call: (requests) => service.run(requests), close: () => service.close() };
  }

  async function openWorkerBackend(): Promise<Backend> {
    if (typeof workerOption !== 'function' && typeof (globalThis as { Worker?: unknown }).Worker !== 'function') {
      throw new BackendError(`${label}: Worker is not available here`);
    }
    // Bundlers recognise this form: Vite builds the worker (with the engine) into one self-contained file, and the
    // published code loads it relative to this module, so apps bundling this package ship it as an asset.
    const worker =
      typeof workerOption === 'function' ? workerOption() : new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'archive-storage-opfs' });
    const waiting = new Map<number, Deferred<EngineResult[]>>();
    let nextId = 0;
    let failure: Error | undefined;
    const failAll = (error: Error) => {
      failure ??= error;
      for (const d of waiting.values()) d.reject(failure);
      waiting.clear();
    };
    const ready = deferred<void>();
    const closedAck = deferred<void>();
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const msg = event.data;
      if (msg.type === 'ready') ready.resolve();
      else if (msg.type === 'open-failed') ready.reject(fromWire(msg.error, `${label}: open in the worker`));
      else if (msg.type === 'result') {
        const d = waiting.get(msg.id);
        waiting.delete(msg.id);
        d?.resolve(msg.results);
      } else if (msg.type === 'closed') closedAck.resolve();
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault?.();
      const error = new BackendError(`${label}: the worker failed: ${event.message || 'it could not be loaded'}`);
      ready.reject(error);
      failAll(error);
      closedAck.resolve();
    };
    const post = (msg: ToWorker) => worker.postMessage(msg);
    post({ type: 'open', options: engineOptions });
    try {
      await ready.promise;
    } catch (error) {
      worker.terminate();
      throw error;
    }
    return {
      mode: 'worker',
      call(requests) {
        if (failure) return Promise.reject(failure);
        const id = nextId++;
        const d = deferred<EngineResult[]>();
        waiting.set(id, d);
        post({ type: 'call', id, requests });
        return d.promise;
      },
      async close() {
        post({ type: 'close' });
        // A worker that died (terminated from outside, crashed) never answers: do not wait for it forever.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([closedAck.promise, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_TIMEOUT_MS)))]);
        clearTimeout(timer);
        worker.terminate();
        failAll(new ClosedError(`${label} is closed`));
      },
    };
  }

  function enter(key: string | undefined, opts: CallOptions | undefined): void {
    if (closed) throw new ClosedError(`${label} is closed`);
    throwIfAborted(opts?.signal);
    if (key !== undefined) assertValidKey(key);
  }

  /** Queues one request; every request queued in this microtask goes to the engine as one group. */
  function send(request: EngineRequest, signal: AbortSignal | undefined, what: string): Promise<unknown> {
    const done = deferred<EngineResult>();
    queue.push({ request, done, signal });
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
    const settled = done.promise.then(async (result) => {
      if (!result.ok) throw fromWire(await confirmQuota(result.error, request), `${label}: ${what}`);
      return result.value;
    });
    if (!signal) return settled;
    // The caller may stop waiting; a write already sent still commits (as a whole, with its batch).
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new AbortError(undefined, { cause: signal.reason }));
      signal.addEventListener('abort', onAbort, { once: true });
      settled.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  function flush(): void {
    scheduled = false;
    // Requests whose caller aborted before they left are dropped: they never reach the storage.
    const group = queue.filter((q) => {
      if (!q.signal?.aborted) return true;
      q.done.reject(new AbortError(undefined, { cause: q.signal.reason }));
      return false;
    });
    queue = [];
    if (group.length === 0) return;
    const p = backend()
      .then((b) => b.call(group.map((q) => q.request)))
      .then(
        (results) => group.forEach((q, i) => q.done.resolve(results[i]!)),
        (error: unknown) => {
          const wrapped = error instanceof BackendError ? error : new BackendError(`${label}: ${String(error)}`, { cause: error });
          group.forEach((q) => q.done.reject(wrapped));
        },
      );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
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

  const adapter: OpfsAdapter = {
    name: 'opfs',
    capabilities,

    async mode() {
      return (await backend()).mode;
    },

    async read(key, opts) {
      enter(key, opts);
      const value = await send({ op: 'read', key }, opts?.signal, `read of ${JSON.stringify(key)}`);
      return value instanceof Uint8Array ? value : undefined;
    },

    async has(key, opts) {
      enter(key, opts);
      return (await send({ op: 'has', key }, opts?.signal, `has of ${JSON.stringify(key)}`)) === true;
    },

    async hasMany(keys, opts) {
      enter(undefined, opts);
      for (const key of keys) assertValidKey(key);
      if (keys.length === 0) return [];
      return (await send({ op: 'hasMany', keys: [...keys] }, opts?.signal, `hasMany of ${keys.length} keys`)) as boolean[];
    },

    async write(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      await send({ op: 'put', key, bytes: ownedBytes(bytes) }, opts?.signal, `write of ${JSON.stringify(key)}`);
    },

    async writeMany(entries: readonly WriteEntry[], opts) {
      enter(undefined, opts);
      assertWriteEntries(entries);
      if (entries.length === 0) return;
      await send(
        { op: 'putMany', entries: entries.map((e) => ({ key: e.key, bytes: ownedBytes(e.bytes) })) },
        opts?.signal,
        `writeMany of ${entries.length} entries`,
      );
    },

    async append(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      await send({ op: 'append', key, bytes: ownedBytes(bytes) }, opts?.signal, `append to ${JSON.stringify(key)}`);
    },

    async delete(key, opts) {
      enter(key, opts);
      await send({ op: 'delete', key }, opts?.signal, `delete of ${JSON.stringify(key)}`);
    },

    async deleteMany(keys, opts) {
      enter(undefined, opts);
      for (const key of keys) assertValidKey(key);
      if (keys.length === 0) return;
      await send({ op: 'deleteMany', keys: [...keys] }, opts?.signal, `deleteMany of ${keys.length} keys`);
    },

    async *list(prefix, opts) {
      enter(undefined, opts);
      assertValidPrefix(prefix);
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

    async estimate(opts): Promise<StorageEstimate> {
      enter(undefined, opts);
      return browserStorageEstimate();
    },

    async compact(opts) {
      enter(undefined, opts);
      return (await send({ op: 'compact' }, opts?.signal, 'compact')) === true;
    },

    async close() {
      if (closed) return;
      closed = true;
      if (scheduled) flush();
      // The engine finishes what it was sent before it closes (its queue drains first).
      if (backendPromise) {
        try {
          await (await backendPromise).close();
        } catch {
          /* never opened */
        }
      }
      await Promise.allSettled([...inFlight]);
    },
  };

  if (hasLocks) {
    adapter.lock = function lock<T>(name: string, fn: () => Promise<T>, opts?: LockOptions): Promise<T> {
      enter(undefined, opts);
      // Taking the lock is a sync point: first read what other tabs wrote (the last holder's writes resolved
      // before it let go), so code under the lock never works from a stale view (e.g. of index.json).
      return withWebLock(
        `archive-storage:opfs:${root}:lock:${name}`,
        async () => {
          await send({ op: 'refresh' }, undefined, 'refresh under a lock');
          return fn();
        },
        opts,
      );
    };
  }
  return adapter;
}

/** Bytes a write request asks the backend to store. */
function requestBytes(request: EngineRequest): number {
  switch (request.op) {
    case 'put':
    case 'append':
      return request.bytes.byteLength;
    case 'putMany':
      return request.entries.reduce((n, e) => n + e.bytes.byteLength, 0);
    default:
      return 0;
  }
}

/**
 * Chromium reports a quota refusal on a `createWritable` stream either as
 * `QuotaExceededError` or, when the browser closes the stream's data pipe first,
 * as `AbortError: Failed to write data to data pipe`. The latter is a quota
 * failure exactly when the origin's quota cannot hold the write: ask the
 * browser's estimate rather than guess from the message.
 */
async function confirmQuota(error: WireError, request: EngineRequest): Promise<WireError> {
  if (error.code !== 'BACKEND_FAILURE' || error.name !== 'AbortError') return error;
  const bytes = requestBytes(request);
  if (bytes === 0) return error;
  try {
    const { usage, quota } = await browserStorageEstimate();
    if (quota !== undefined && (usage ?? 0) + bytes > quota) return { ...error, code: 'QUOTA_EXCEEDED' };
  } catch {
    // No estimate to be had: keep the failure as the backend reported it.
  }
  return error;
}

/** Rebuilds an SDK error from its wire form. */
function fromWire(error: WireError, what: string, cause?: unknown): Error {
  const original = cause ?? Object.assign(new Error(error.message), { name: error.name });
  if (error.code === 'QUOTA_EXCEEDED') {
    return new QuotaExceededError(
      `${what} failed: the browser's storage quota for this site is exhausted and nothing of it was written; ` +
        'free space (delete data, run gc) or ask for persistent storage (requestPersistentStorage())',
      { cause: original },
    );
  }
  return new BackendError(`${what} failed: ${error.name}: ${error.message}`, { cause: original });
}
