/**
 * The one module that probes the platform. Everything else asks here, so the
 * rest of `src/` (and the adapters) neither imports `node:*` nor reads a
 * global at import time: every probe runs when called, and a missing API
 * answers `undefined` instead of throwing.
 *
 * Node builtins are reached through `process.getBuiltinModule` (Node >= 20.16),
 * which a browser bundle never resolves, so no `node:*` import is needed.
 *
 * @module
 */

type Globals = {
  process?: { getBuiltinModule?: (id: string) => unknown; pid?: number };
  crypto?: Crypto;
  performance?: { now(): number };
  Blob?: typeof Blob;
  ReadableStream?: typeof ReadableStream;
  document?: Document;
  URL?: typeof URL;
  navigator?: Navigator;
  indexedDB?: IDBFactory;
  IDBKeyRange?: typeof IDBKeyRange;
  BroadcastChannel?: typeof BroadcastChannel;
  Worker?: typeof Worker;
  fetch?: typeof fetch;
  setImmediate?: (fn: () => void) => unknown;
  MessageChannel?: typeof MessageChannel;
  setTimeout?: (fn: () => void, ms?: number) => unknown;
};

const g = (): Globals => globalThis as unknown as Globals;

/** A Node builtin module such as `node:crypto`, or `undefined` outside Node (or before Node 20.16). */
export function nodeBuiltin<T>(id: `node:${string}`): T | undefined {
  try {
    return (g().process?.getBuiltinModule?.(id) as T | undefined) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The process id in Node, else `undefined`. */
export function processId(): number | undefined {
  return g().process?.pid;
}

/** `globalThis.crypto` (WebCrypto) where it exists. */
export function webCrypto(): Crypto | undefined {
  return g().crypto;
}

/** `crypto.subtle` where it can digest (absent on insecure origins), else `undefined`. */
export function subtleCrypto(): SubtleCrypto | undefined {
  const subtle = g().crypto?.subtle;
  return subtle && typeof subtle.digest === 'function' ? subtle : undefined;
}

/** Fills `bytes` with random values: WebCrypto where present, else Math.random (ids only, never keys). */
export function fillRandom(bytes: Uint8Array): Uint8Array {
  const c = g().crypto;
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return bytes;
}

/** Milliseconds from a monotonic clock (`performance.now`), or `Date.now()` where there is none. */
export function monotonicNow(): number {
  const p = g().performance;
  return p ? p.now() : Date.now();
}

/** The `Blob` constructor, where there is one. */
export function blobConstructor(): typeof Blob | undefined {
  return g().Blob;
}

/** The `ReadableStream` constructor, where there is one. */
export function readableStreamConstructor(): typeof ReadableStream | undefined {
  return g().ReadableStream;
}

/** The DOM document and `URL.createObjectURL`, when this is a page. */
export function pageDocument(): { document: Document; url: typeof URL } | undefined {
  const { document, URL: url } = g();
  return document && url?.createObjectURL ? { document, url } : undefined;
}

/** `navigator.locks` when this context has the Web Locks API. */
export function webLocks(): LockManager | undefined {
  const locks = g().navigator?.locks;
  return locks && typeof locks.request === 'function' ? locks : undefined;
}

/** `navigator.storage` when this context has the Storage API. */
export function storageManager(): StorageManager | undefined {
  return g().navigator?.storage;
}

/** `indexedDB` and `IDBKeyRange`, when this context has IndexedDB. */
export function indexedDbApi(): { factory: IDBFactory; keyRange: typeof IDBKeyRange } | undefined {
  const { indexedDB, IDBKeyRange: keyRange } = g();
  return indexedDB && keyRange ? { factory: indexedDB, keyRange } : undefined;
}

/** The `BroadcastChannel` constructor, where there is one. */
export function broadcastChannelConstructor(): typeof BroadcastChannel | undefined {
  return g().BroadcastChannel;
}

/** The `Worker` constructor, where this context can start dedicated workers. */
export function workerConstructor(): typeof Worker | undefined {
  const W = g().Worker;
  return typeof W === 'function' ? W : undefined;
}

/** The global `fetch`, bound to `globalThis`, where there is one. */
export function globalFetch(): typeof fetch | undefined {
  return g().fetch?.bind(globalThis);
}

/** Resolvers waiting for the shared `MessageChannel` of {@link eventLoopTurn}'s fallback, oldest first. */
let channelWaiters: (() => void)[] | undefined;
let channelPort: MessagePort | undefined;

/** One task later through a shared `MessageChannel` (not clamped like nested `setTimeout(0)`). */
function viaMessageChannel(Channel: typeof MessageChannel): Promise<void> {
  if (!channelPort || !channelWaiters) {
    const channel = new Channel();
    const waiters: (() => void)[] = [];
    channel.port1.onmessage = () => waiters.shift()?.();
    channelWaiters = waiters;
    channelPort = channel.port2;
  }
  const waiters = channelWaiters;
  const port = channelPort;
  return new Promise<void>((resolve) => {
    waiters.push(resolve);
    port.postMessage(undefined);
  });
}

/**
 * How this context gives its event loop a turn: the returned function
 * resolves after the tasks already queued (timers, messages, I/O callbacks,
 * input, rendering) had a chance to run. Node's `setImmediate` (after pending
 * I/O), else a `MessageChannel` message (a task queued behind the page's
 * own, not clamped to 4 ms as nested `setTimeout(0)` is), else `setTimeout(0)`.
 * Probed at each call, like everything here.
 *
 * Not `scheduler.yield()`: in Chromium its continuation outranks ordinary
 * tasks, so long work that yields through it still starves the page's
 * timers and messages (measured: a `setTimeout` cancel queued during a
 * 10,000-object bundle import never ran before the import finished).
 */
export function eventLoopTurn(): () => Promise<void> {
  const { setImmediate, MessageChannel: Channel, setTimeout: timeout } = g();
  if (typeof setImmediate === 'function') return () => new Promise<void>((resolve) => void setImmediate(resolve));
  if (typeof Channel === 'function') return () => viaMessageChannel(Channel);
  if (typeof timeout === 'function') return () => new Promise<void>((resolve) => void timeout(resolve, 0));
  return () => Promise.resolve();
}
