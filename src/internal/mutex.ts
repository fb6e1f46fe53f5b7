/**
 * In-process exclusive locks by name: the building block for adapters whose
 * backend has no lock of its own, and for serialising work inside one process.
 *
 * @module
 */
import { AbortError, LockTimeoutError } from '../errors.js';

/** Options of {@link KeyedMutex.run}. */
export interface MutexRunOptions {
  signal?: AbortSignal;
  /** Reject with `LockTimeoutError` when the lock is not acquired within this many ms. */
  timeoutMs?: number;
}

/** Named FIFO locks. `run(name, fn)` runs `fn` once every earlier holder of `name` is done. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` holding lock `name`; resolves with its result. */
  async run<T>(name: string, fn: () => Promise<T> | T, options?: MutexRunOptions): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(name, tail);
    try {
      await waitFor(previous, name, options);
      return await fn();
    } finally {
      release();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }
}

function waitFor(previous: Promise<void>, name: string, options?: MutexRunOptions): Promise<void> {
  const { signal, timeoutMs } = options ?? {};
  if (!signal && timeoutMs === undefined) return previous;
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  return new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        done();
        reject(new LockTimeoutError(`lock "${name}" not acquired within ${timeoutMs} ms`));
      }, timeoutMs);
    }
    previous.then(() => {
      done();
      resolve();
    });
  });
}
