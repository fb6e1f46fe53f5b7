/**
 * What the browser adapters (IndexedDB, OPFS) share: their call queues (a
 * {@link Batcher} whose callers may stop waiting), Web Locks with timeout and
 * abort, the storage estimate / persistence helpers, and the mapping of DOM
 * errors to the SDK's typed errors.
 *
 * Every browser global is read through `platform.ts` when a function is
 * called, never at import time, so importing this module in Node is harmless.
 *
 * @module
 */
import type { LockOptions, StorageEstimate } from './contract.js';
import {
  ArchiveStorageError,
  BackendError,
  LockTimeoutError,
  QuotaExceededError,
  throwIfAborted,
} from '../errors.js';
import { abortable, abortErrorOf } from '../internal/abort.js';
import { Batcher, type BatcherOptions } from '../internal/batcher.js';
import type { Deferred } from '../internal/deferred.js';
import { storageManager, webLocks } from '../platform.js';

/** Default time a browser adapter waits for a lock before `LockTimeoutError`. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/**
 * One call waiting in a browser adapter's queue: its caller is settled through
 * `done`; when `signal` aborts while it waits, the caller gets `AbortError` at
 * once and the call is dropped before it reaches the storage.
 */
export interface QueuedCall<T> {
  done: Deferred<T>;
  signal: AbortSignal | undefined;
}

/**
 * A {@link Batcher} of {@link QueuedCall}s: calls whose signal aborted while
 * they waited are skipped (and their `done` rejected with `AbortError`).
 */
export function callQueue<I extends QueuedCall<unknown>>(options: Omit<BatcherOptions<I>, 'skip' | 'onSkip'>): Batcher<I> {
  return new Batcher<I>({
    ...options,
    skip: (call) => call.signal?.aborted === true,
    onSkip: (call) => call.done.reject(abortErrorOf(call.signal)),
  });
}

/**
 * Queues `call` and resolves with its result. The caller stops waiting when
 * its signal aborts (`AbortError`); a call already handed to a batch still
 * lands with that batch, as a whole.
 */
export function enqueueCall<T, I extends QueuedCall<unknown>>(queue: Batcher<I>, call: I & QueuedCall<T>): Promise<T> {
  queue.push(call);
  return abortable(call.done.promise, call.signal);
}

/**
 * Runs `fn` while holding the exclusive Web Lock `name` (shared by every tab and
 * worker of the origin). Rejects with `LockTimeoutError` when the lock is not
 * granted within `timeoutMs` (default 10 s) and with `AbortError` when `signal`
 * aborts first. The lock is released when `fn` settles.
 */
export async function withWebLock<T>(name: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> {
  const locks = webLocks();
  if (!locks) throw new BackendError('the Web Locks API (navigator.locks) is not available in this context');
  throwIfAborted(options?.signal);
  const timeoutMs = options?.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const waiting = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    waiting.abort();
  }, timeoutMs);
  const onAbort = () => waiting.abort();
  options?.signal?.addEventListener('abort', onAbort, { once: true });
  let granted = false;
  try {
    return await locks.request(name, { mode: 'exclusive', signal: waiting.signal }, async () => {
      granted = true;
      clearTimeout(timer);
      options?.signal?.removeEventListener('abort', onAbort);
      return fn();
    });
  } catch (error) {
    if (!granted && timedOut) throw new LockTimeoutError(`lock "${name}" not acquired within ${timeoutMs} ms`, { cause: error });
    if (!granted && options?.signal?.aborted) throw abortErrorOf(options.signal);
    throw error;
  } finally {
    clearTimeout(timer);
    options?.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Usage and quota of this origin's storage, from `navigator.storage.estimate()`
 * (the whole origin: every database and file of the site, not one archive).
 * Resolves `{}` where the Storage API is missing.
 */
export async function browserStorageEstimate(): Promise<StorageEstimate> {
  const storage = storageManager();
  if (!storage?.estimate) return {};
  const { usage, quota } = await storage.estimate();
  const out: StorageEstimate = {};
  if (usage !== undefined) out.usage = usage;
  if (quota !== undefined) out.quota = quota;
  return out;
}

/** What {@link requestPersistentStorage} found. */
export interface PersistenceReport extends StorageEstimate {
  /** True when the browser will not evict this origin's storage under pressure. */
  persisted: boolean;
  /**
   * True when the browser had not answered within `timeoutMs` (Firefox asks the
   * person with a prompt and answers only when they do). The request stays
   * open; `navigator.storage.persisted()` tells later what they chose.
   */
  pending?: boolean;
}

/** Options of {@link requestPersistentStorage}. */
export interface PersistenceOptions {
  /** How long to wait for the browser's answer before reporting `pending` (default 3000 ms). */
  timeoutMs?: number;
}

/** Default wait of {@link requestPersistentStorage} for the browser's answer. */
export const DEFAULT_PERSIST_TIMEOUT_MS = 3_000;

/**
 * Asks the browser to keep this origin's storage (`navigator.storage.persist()`),
 * so IndexedDB and OPFS data are not evicted when the disk runs low, and reports
 * the result with usage and quota. Browsers decide by their own rules (Chromium
 * grants it to installed or frequently used sites, Firefox asks the person,
 * Safari decides by engagement); a `false` is normal and means "best effort".
 *
 * Never await it before opening an archive: Firefox's `persist()` resolves only
 * when the person answers its prompt, which may be never. This helper stops
 * waiting after `timeoutMs` and reports `{ persisted: false, pending: true }`;
 * call it without `await` (or from a button) and open the archive at once.
 */
export async function requestPersistentStorage(options: PersistenceOptions = {}): Promise<PersistenceReport> {
  const storage = storageManager();
  const timeoutMs = options.timeoutMs ?? DEFAULT_PERSIST_TIMEOUT_MS;
  let persisted = false;
  let pending = false;
  if (storage?.persisted) persisted = await storage.persisted().catch(() => false);
  if (!persisted && storage?.persist) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), timeoutMs)));
    const answer = await Promise.race([storage.persist().catch(() => false), late]);
    clearTimeout(timer);
    if (answer === 'pending') pending = true;
    else persisted = answer;
  }
  return { persisted, ...(pending ? { pending } : {}), ...(await browserStorageEstimate()) };
}

/** True when `error` is a DOM quota failure (IndexedDB, OPFS, or a wrapped one). */
export function isQuotaError(error: unknown): boolean {
  if (error instanceof QuotaExceededError) return true;
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'QuotaExceededError';
}

/**
 * Wraps a backend failure into the SDK's typed error: quota → `QuotaExceededError`,
 * SDK errors pass through, everything else → `BackendError`. `what` starts the
 * message, e.g. `indexeddb "notes": write of 3 entries`.
 */
export function wrapBrowserError(error: unknown, what: string): ArchiveStorageError {
  if (error instanceof ArchiveStorageError) return error;
  if (isQuotaError(error)) {
    return new QuotaExceededError(
      `${what} failed: the browser's storage quota for this site is exhausted and nothing of it was written; ` +
        'free space (delete data, run gc) or ask for persistent storage (requestPersistentStorage())',
      { cause: error },
    );
  }
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new BackendError(`${what} failed: ${detail}`, { cause: error });
}

/**
 * Returns `bytes` as a Uint8Array that owns its whole ArrayBuffer, copying only
 * when needed: structured clone (IndexedDB, postMessage) copies the whole
 * underlying buffer of a view, so a small view of a big buffer must be cut out.
 */
export function ownedBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes as Uint8Array<ArrayBuffer>;
  }
  return new Uint8Array(bytes); // not slice(): on a Node Buffer that is a view, not a copy
}
