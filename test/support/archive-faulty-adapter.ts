/**
 * A fault-injecting adapter wrapper: the Nth mutating call (write, writeMany,
 * create, append, delete) fails, once or from then on. A fault can strike
 * before the call reaches the backend (nothing happened) or after it (the
 * change happened, but the caller is told it failed: a lost acknowledgement).
 */
import type { StorageAdapter } from '../../src/adapter/contract.js';
import { BackendError } from '../../src/errors.js';

export interface FaultPlan {
  /** 1-based index of the mutating call that fails first (0: never). */
  failAt: number;
  /** Keep failing every later mutating call too. */
  persistent?: boolean;
  /** Fail before the backend sees the call (default) or after it applied it. */
  when?: 'before' | 'after';
}

export interface FaultyAdapter {
  adapter: StorageAdapter;
  /** Mutating calls seen so far. */
  calls(): number;
  /** Faults injected so far. */
  injected(): number;
}

const MUTATING = new Set(['write', 'writeMany', 'create', 'append', 'delete']);

export function faultyAdapter(inner: StorageAdapter, plan: FaultPlan): FaultyAdapter {
  let calls = 0;
  let injected = 0;
  const when = plan.when ?? 'before';
  const shouldFail = (n: number) => plan.failAt > 0 && (plan.persistent ? n >= plan.failAt : n === plan.failAt);
  const adapter = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !MUTATING.has(prop) || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const n = ++calls;
        const fail = shouldFail(n);
        const fault = () => {
          injected++;
          return new BackendError(`injected fault on ${prop} #${n} (${when})`);
        };
        if (fail && when === 'before') throw fault();
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (fail) throw fault();
        return result;
      };
    },
  });
  return { adapter, calls: () => calls, injected: () => injected };
}
