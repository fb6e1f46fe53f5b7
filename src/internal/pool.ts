/**
 * Bounded concurrency helpers: keep a few backend calls in flight (latency
 * hiding on IndexedDB, S3, disks) without ever holding more than `limit`.
 *
 * @module
 */
import { throwIfAborted } from '../errors.js';

/** Maps `items` through `fn` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      throwIfAborted(signal);
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}

/**
 * Consumes `source` and runs `fn` on each item with at most `limit` in flight,
 * pulling from the source only as slots free up: memory stays bounded however
 * long the source is. Stops at the first failure or abort, and rethrows it.
 */
export async function forEachLimit<T>(
  source: AsyncIterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for await (const item of source) {
    throwIfAborted(signal);
    if (failure) break;
    const p: Promise<void> = fn(item).then(
      () => void running.delete(p),
      (error: unknown) => {
        running.delete(p);
        failure ??= { error };
      },
    );
    running.add(p);
    if (running.size >= limit) await Promise.race(running);
    if (failure) break;
  }
  await Promise.all(running);
  if (failure) throw failure.error;
  throwIfAborted(signal);
}

/**
 * Runs `fn` over `items` with at most `limit` in flight and waits for all of
 * them to settle: on the first failure (or abort) no new item starts, the ones
 * in flight finish, then that first failure is thrown. Unlike
 * {@link mapLimit}, nothing is still running when it rejects, so a caller can
 * clean up after a failed batch (temp files, half-sent pages) knowing no call
 * of `fn` comes later.
 */
export async function forEachSettled<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        throwIfAborted(signal);
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failure) throw failure.error;
}
