/**
 * An adapter wrapper that simulates a process killed at its Nth change: the
 * Nth mutating call (any of them, swap and deleteMany included) never
 * reaches the backend, and from then on every call fails, reads too — the
 * process is gone. A fresh adapter over the same backend is the restart.
 * (archive-faulty-adapter.ts injects failures into a process that lives on;
 * this one ends it.)
 */
import type { StorageAdapter } from '../../src/adapter/contract.js';
import { BackendError } from '../../src/errors.js';

const MUTATING = new Set(['write', 'writeMany', 'create', 'append', 'delete', 'deleteMany', 'swap']);

export interface KilledAdapter {
  adapter: StorageAdapter;
  /** Mutating calls that reached the backend. */
  changes(): number;
  /** True once the kill point was reached. */
  killed(): boolean;
}

/** `killAt`: 1-based index of the mutating call that does not happen (0: never killed). */
export function killedAt(inner: StorageAdapter, killAt: number): KilledAdapter {
  let changes = 0;
  let dead = false;
  const adapter = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function' || prop === 'close') return value;
      const call = (...args: unknown[]) => {
        if (dead) throw new BackendError(`killed: ${prop} after the kill`);
        if (MUTATING.has(prop)) {
          if (killAt > 0 && changes + 1 >= killAt) {
            dead = true;
            throw new BackendError(`killed at ${prop} #${changes + 1}`);
          }
          changes++;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
      // list() returns an async iterable, the rest promises: keep the shape, fail a dead process's calls.
      return prop === 'list' || prop === 'lock' ? call : async (...args: unknown[]) => call(...args);
    },
  });
  return { adapter, changes: () => changes, killed: () => dead };
}
