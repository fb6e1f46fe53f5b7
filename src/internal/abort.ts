/**
 * Abort plumbing shared by the archive and every adapter: stop waiting when a
 * signal aborts, sleep that an abort cuts short, and one signal for several.
 *
 * @module
 */
import { AbortError, throwIfAborted } from '../errors.js';

/** The `AbortError` for `signal`, with its reason kept as cause. */
export function abortErrorOf(signal: AbortSignal | undefined): AbortError {
  return new AbortError(undefined, { cause: signal?.reason });
}

/**
 * Races `promise` against `signal`: rejects with `AbortError` as soon as the
 * signal aborts. The underlying work is not cancelled, so use this only where
 * that work is harmless to finish (a read, or a write already handed to a
 * batch that commits as a whole).
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {}); // the work goes on unobserved; its failure must not surface as unhandled
    return Promise.reject(abortErrorOf(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortErrorOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Waits `ms`, rejecting with `AbortError` when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortErrorOf(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortErrorOf(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One signal that aborts when any of `signals` does (undefined entries are
 * skipped). `AbortSignal.any` where the runtime has it, else a small fallback.
 */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return present[0];
  const any = (AbortSignal as { any?: (s: AbortSignal[]) => AbortSignal }).any;
  if (any) return any(present);
  const ctl = new AbortController();
  for (const s of present) {
    if (s.aborted) {
      ctl.abort(s.reason);
      break;
    }
    s.addEventListener('abort', () => ctl.abort(s.reason), { once: true });
  }
  return ctl.signal;
}

export { throwIfAborted };
