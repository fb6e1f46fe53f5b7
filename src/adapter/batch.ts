/**
 * Batch calls for callers of any adapter: the native batch when the adapter
 * declares it, else the single calls (in turn for writes, a few in flight for
 * lookups and deletes). Adapters never fake a capability; callers use these.
 *
 * @module
 */
import { throwIfAborted } from '../errors.js';
import { mapLimit } from '../internal/pool.js';
import type { CallOptions, StorageAdapter, WriteEntry } from './contract.js';

/** `writeMany` for adapters without a native batch: each entry written in turn. */
export async function writeEach(adapter: StorageAdapter, entries: readonly WriteEntry[], options?: CallOptions): Promise<void> {
  for (const { key, bytes } of entries) {
    throwIfAborted(options?.signal);
    await adapter.write(key, bytes, options);
  }
}

/** Writes a batch with the adapter's `writeMany` when it has one, else entry by entry. */
export function writeBatch(adapter: StorageAdapter, entries: readonly WriteEntry[], options?: CallOptions): Promise<void> {
  return adapter.writeMany ? adapter.writeMany(entries, options) : writeEach(adapter, entries, options);
}

/**
 * Existence of each of `keys`, in order: one batched call when the adapter
 * declares `hasMany`, else `has` per key with at most `limit` in flight.
 */
export function hasEach(adapter: StorageAdapter, keys: readonly string[], limit: number, options?: CallOptions): Promise<boolean[]> {
  if (keys.length === 0) return Promise.resolve([]);
  if (adapter.capabilities.hasMany && adapter.hasMany) return adapter.hasMany(keys, options);
  return mapLimit(keys, limit, (key) => adapter.has(key, options), options?.signal);
}

/**
 * Removes each of `keys`: one batched call when the adapter declares
 * `deleteMany`, else `delete` per key with at most `limit` in flight.
 */
export async function deleteEach(adapter: StorageAdapter, keys: readonly string[], limit: number, options?: CallOptions): Promise<void> {
  if (keys.length === 0) return;
  if (adapter.capabilities.deleteMany && adapter.deleteMany) return adapter.deleteMany(keys, options);
  await mapLimit(keys, limit, (key) => adapter.delete(key, options), options?.signal);
}
