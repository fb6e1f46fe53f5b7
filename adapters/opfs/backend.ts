/**
 * Where the OPFS adapter's request groups go: a dedicated module worker
 * (sync access handles), or the same engine on the calling thread
 * (`createWritable`); and how failures come back as the SDK's typed errors.
 *
 * @module
 */
import { BackendError, ClosedError, QuotaExceededError } from '../../src/errors.js';
import { browserStorageEstimate } from '../../src/adapter/browser.js';
import { deferred, type Deferred } from '../../src/internal/deferred.js';
import { storageManager, workerConstructor } from '../../src/platform.js';
import { PackEngine, type EngineOptions } from './engine.js';
import { PackService, toWireError, type EngineRequest, type EngineResult, type WireError } from './service.js';
import type { FromWorker, ToWorker } from './worker.js';

/** Something that answers request groups: the worker, or the engine on this thread. */
export interface Backend {
  readonly mode: 'worker' | 'main-thread';
  call(requests: EngineRequest[]): Promise<EngineResult[]>;
  close(): Promise<void>;
}

/** Where the engine runs; see `OpfsAdapterOptions.worker`. */
export type WorkerOption = boolean | 'auto' | (() => Worker);

/** How long `close()` waits for the worker to confirm before terminating it. */
const CLOSE_TIMEOUT_MS = 5_000;
/** How long the worker's module may take to load and say `loaded` before the worker counts as not started. */
const LOAD_TIMEOUT_MS = 30_000;

/** Opens the backend `workerOption` asks for: the worker, falling back to this thread under `'auto'`. */
export async function openBackend(label: string, workerOption: WorkerOption, engineOptions: Omit<EngineOptions, 'mode'>): Promise<Backend> {
  if (!storageManager()?.getDirectory) {
    throw new BackendError(`${label}: the Origin Private File System is not available in this runtime (use it in a browser, over https or localhost)`);
  }
  if (workerOption !== false) {
    try {
      return await openWorkerBackend(label, workerOption, engineOptions);
    } catch (error) {
      if (workerOption !== 'auto') throw error instanceof BackendError ? error : new BackendError(`${label}: the worker did not start`, { cause: error });
    }
  }
  return openLocalBackend(label, engineOptions);
}

async function openLocalBackend(label: string, engineOptions: Omit<EngineOptions, 'mode'>): Promise<Backend> {
  let service: PackService;
  try {
    service = new PackService(await PackEngine.open({ ...engineOptions, mode: 'writable' }));
  } catch (error) {
    throw fromWire(toWireError(error), `${label}: open`, error);
  }
  return { mode: 'main-thread', call: (requests) => service.run(requests), close: () => service.close() };
}

async function openWorkerBackend(label: string, workerOption: WorkerOption, engineOptions: Omit<EngineOptions, 'mode'>): Promise<Backend> {
  let worker: Worker;
  if (typeof workerOption === 'function') worker = workerOption();
  else {
    const Worker = workerConstructor();
    if (!Worker) throw new BackendError(`${label}: Worker is not available here`);
    // Bundlers recognise exactly this form, `new Worker(new URL('./worker.ts', import.meta.url))`: Vite builds the
    // worker (with the engine) into one self-contained file, and the published code loads it relative to this
    // module, so apps bundling this package ship it as an asset.
    worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'archive-storage-opfs' });
  }
  const waiting = new Map<number, Deferred<EngineResult[]>>();
  let nextId = 0;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const d of waiting.values()) d.reject(failure);
    waiting.clear();
  };
  const loaded = deferred<void>();
  const ready = deferred<void>();
  const closedAck = deferred<void>();
  // Either may be rejected while nobody waits for it (an error before `loaded`, or after the start timed out).
  loaded.promise.catch(() => {});
  ready.promise.catch(() => {});
  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const msg = event.data;
    if (msg.type === 'loaded') loaded.resolve();
    else if (msg.type === 'ready') ready.resolve();
    else if (msg.type === 'open-failed') ready.reject(fromWire(msg.error, `${label}: open in the worker`));
    else if (msg.type === 'unsupported') {
      ready.reject(
        new BackendError(
          `${label}: this browser's workers refuse sync access handles (${msg.error.name}: ${msg.error.message}), so the worker engine cannot run ` +
            "here; use worker: 'auto' (the default, which falls back to the main-thread engine) or worker: false",
          { cause: Object.assign(new Error(msg.error.message), { name: msg.error.name }) },
        ),
      );
    }
    else if (msg.type === 'result') {
      const d = waiting.get(msg.id);
      waiting.delete(msg.id);
      d?.resolve(msg.results);
    } else if (msg.type === 'closed') closedAck.resolve();
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault?.();
    const error = new BackendError(`${label}: the worker failed: ${event.message || 'it could not be loaded'}`);
    loaded.reject(error);
    ready.reject(error);
    failAll(error);
    closedAck.resolve();
  };
  worker.onmessageerror = () => {
    const error = new BackendError(`${label}: a message from the worker could not be read`);
    loaded.reject(error);
    ready.reject(error);
    failAll(error);
    closedAck.resolve();
  };
  const post = (msg: ToWorker) => worker.postMessage(msg);
  let loadTimer: ReturnType<typeof setTimeout> | undefined;
  try {
    // Nothing is sent before the worker's module has run: Firefox may drop a message that reaches a module worker
    // still loading its module (under load, the loading takes long enough), and `open` lost meant `ready` never came.
    await Promise.race([
      loaded.promise,
      new Promise<never>((_, fail) => {
        loadTimer = setTimeout(() => fail(new BackendError(`${label}: the worker did not load within ${LOAD_TIMEOUT_MS / 1000} s`)), LOAD_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(loadTimer);
    post({ type: 'open', options: engineOptions });
    await ready.promise;
  } catch (error) {
    clearTimeout(loadTimer);
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

/** The failure of `request` as the SDK's typed error (`what` starts the message). */
export async function failureOf(error: WireError, request: EngineRequest, what: string): Promise<Error> {
  return fromWire(await confirmQuota(error, request), what);
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
