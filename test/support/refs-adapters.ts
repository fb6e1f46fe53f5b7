/** Adapters with capabilities taken away, for the cas and references tests. */
import type { StorageAdapter } from '../../src/adapter/contract.js';

/** `adapter` without its lock, its swap, or both: capabilities and calls alike. */
export function hiding(adapter: StorageAdapter, hide: readonly ('lock' | 'swap')[]): StorageAdapter {
  const capabilities = { ...adapter.capabilities, ...(hide.includes('lock') ? { locking: false } : {}), ...(hide.includes('swap') ? { compareAndSwap: false } : {}) };
  const hidden = new Set<PropertyKey>([...(hide.includes('lock') ? ['lock'] : []), ...(hide.includes('swap') ? ['swap', 'readVersioned'] : [])]);
  return new Proxy(adapter, {
    get(target, p) {
      if (p === 'capabilities') return capabilities;
      if (hidden.has(p)) return undefined;
      const v = Reflect.get(target, p) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
