/**
 * `defineAdapter`: what every adapter would otherwise write again. A backend
 * supplies only its calls; the definition gives each of them the same
 * prologue (closed → `ClosedError`, aborted signal → `AbortError`, keys,
 * prefixes and bytes checked before anything is stored), one idempotent
 * `close()`, and one error mapping: a failure that is not already one of the
 * SDK's typed errors goes through the backend's `mapError` (default: a
 * `BackendError` naming the adapter and the call, the original as `cause`).
 *
 * Optional calls are present exactly when the backend supplies them, so a
 * declared capability and its method can never disagree.
 *
 * @module
 */
import { ArchiveStorageError, BackendError, ClosedError, throwIfAborted } from '../errors.js';
import {
  assertBytes,
  assertValidKey,
  assertValidPrefix,
  assertWriteEntries,
  type AdapterCapabilities,
  type CallOptions,
  type LockOptions,
  type StorageAdapter,
  type StorageEstimate,
  type WriteEntry,
} from './contract.js';

/** The calls a backend implements; arguments arrive already checked. */
export interface AdapterCalls {
  read(key: string, options?: CallOptions): Promise<Uint8Array | undefined>;
  has(key: string, options?: CallOptions): Promise<boolean>;
  write(key: string, bytes: Uint8Array, options?: CallOptions): Promise<void>;
  delete(key: string, options?: CallOptions): Promise<void>;
  list(prefix: string, options?: CallOptions): AsyncIterable<string>;
  writeMany?(entries: readonly WriteEntry[], options?: CallOptions): Promise<void>;
  create?(key: string, bytes: Uint8Array, options?: CallOptions): Promise<boolean>;
  hasMany?(keys: readonly string[], options?: CallOptions): Promise<boolean[]>;
  deleteMany?(keys: readonly string[], options?: CallOptions): Promise<void>;
  append?(key: string, bytes: Uint8Array, options?: CallOptions): Promise<void>;
  lock?<T>(name: string, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
  estimate?(options?: CallOptions): Promise<StorageEstimate>;
  /** Releases the backend's resources. Called once, by the first `close()`. */
  close?(): Promise<void>;
}

/** A backend, described for {@link defineAdapter}. */
export interface AdapterDefinition extends AdapterCalls {
  /** Short name used in error messages, e.g. `node-fs`. */
  readonly name: string;
  /** How errors name this instance, e.g. `node-fs adapter on /data` (default: `${name} adapter`). */
  readonly label?: string;
  readonly capabilities: AdapterCapabilities;
  /**
   * Turns a backend failure (anything that is not an `ArchiveStorageError`)
   * into the SDK's typed error. `call` names the call and its key, e.g.
   * `read objects/ab/cd/….json`. Default: `BackendError` with the cause kept.
   */
  mapError?(error: unknown, call: string): unknown;
  /** Extra state that makes the adapter unusable, checked in every prologue (e.g. storage cleared). */
  unusable?(): Error | undefined;
}

/**
 * Runs one of a backend's own calls beyond the contract (e.g. OPFS `compact`)
 * behind the same prologue and error mapping as the contract's calls. `call`
 * names it in error messages.
 */
export type GuardedCall = <T>(call: string, options: CallOptions | undefined, run: () => Promise<T>) => Promise<T>;

/**
 * Builds a {@link StorageAdapter} from a backend's calls; see the module doc.
 * `extend`, when given, returns extra methods to add to the adapter; it gets
 * a {@link GuardedCall} to give them the adapter's prologue.
 */
export function defineAdapter(definition: AdapterDefinition): StorageAdapter;
export function defineAdapter<E extends object>(definition: AdapterDefinition, extend: (guarded: GuardedCall) => E): StorageAdapter & E;
export function defineAdapter<E extends object>(definition: AdapterDefinition, extend?: (guarded: GuardedCall) => E): StorageAdapter {
  const d = definition;
  const label = d.label ?? `${d.name} adapter`;
  let closed = false;
  let closing: Promise<void> | undefined;

  const enter = (options: CallOptions | undefined): void => {
    if (closed) throw new ClosedError(`${label} is closed`);
    const dead = d.unusable?.();
    if (dead) throw dead;
    throwIfAborted(options?.signal);
  };
  const fail = (error: unknown, call: string): never => {
    if (error instanceof ArchiveStorageError) throw error;
    throw d.mapError ? d.mapError(error, call) : new BackendError(`${label}: ${call} failed: ${describe(error)}`, { cause: error });
  };
  const guard = async <T>(call: () => string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      return fail(error, call());
    }
  };

  const adapter: StorageAdapter = {
    name: d.name,
    capabilities: d.capabilities,
    async read(key, options) {
      enter(options);
      assertValidKey(key);
      return guard(() => `read ${key}`, () => d.read(key, options));
    },
    async has(key, options) {
      enter(options);
      assertValidKey(key);
      return guard(() => `has ${key}`, () => d.has(key, options));
    },
    async write(key, bytes, options) {
      enter(options);
      assertValidKey(key);
      assertBytes(bytes, key);
      return guard(() => `write ${key}`, () => d.write(key, bytes, options));
    },
    async delete(key, options) {
      enter(options);
      assertValidKey(key);
      return guard(() => `delete ${key}`, () => d.delete(key, options));
    },
    async *list(prefix, options) {
      enter(options);
      assertValidPrefix(prefix);
      try {
        yield* d.list(prefix, options);
      } catch (error) {
        fail(error, `list ${prefix || '(all)'}`);
      }
    },
    async close() {
      if (closing) return closing;
      closed = true;
      closing = d.close ? guard(() => 'close', () => d.close!()) : Promise.resolve();
      return closing;
    },
  };
  if (d.writeMany) {
    const writeMany = d.writeMany.bind(d);
    adapter.writeMany = async (entries, options) => {
      enter(options);
      assertWriteEntries(entries);
      return guard(() => `writeMany (${entries.length} entries)`, () => writeMany(entries, options));
    };
  }
  if (d.create) {
    const create = d.create.bind(d);
    adapter.create = async (key, bytes, options) => {
      enter(options);
      assertValidKey(key);
      assertBytes(bytes, key);
      return guard(() => `create ${key}`, () => create(key, bytes, options));
    };
  }
  if (d.hasMany) {
    const hasMany = d.hasMany.bind(d);
    adapter.hasMany = async (keys, options) => {
      enter(options);
      for (const key of keys) assertValidKey(key);
      return guard(() => `hasMany (${keys.length} keys)`, () => hasMany(keys, options));
    };
  }
  if (d.deleteMany) {
    const deleteMany = d.deleteMany.bind(d);
    adapter.deleteMany = async (keys, options) => {
      enter(options);
      for (const key of keys) assertValidKey(key);
      return guard(() => `deleteMany (${keys.length} keys)`, () => deleteMany(keys, options));
    };
  }
  if (d.append) {
    const append = d.append.bind(d);
    adapter.append = async (key, bytes, options) => {
      enter(options);
      assertValidKey(key);
      assertBytes(bytes, key);
      return guard(() => `append ${key}`, () => append(key, bytes, options));
    };
  }
  if (d.lock) {
    const lock = d.lock.bind(d);
    adapter.lock = async <T>(name: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> => {
      enter(options);
      // Failures of `fn` are the caller's own: pass them through unmapped.
      return lock(name, fn, options);
    };
  }
  if (d.estimate) {
    const estimate = d.estimate.bind(d);
    adapter.estimate = async (options) => {
      enter(options);
      return guard(() => 'estimate', () => estimate(options));
    };
  }
  if (extend) {
    const guarded: GuardedCall = async (call, options, run) => {
      enter(options);
      return guard(() => call, run);
    };
    Object.assign(adapter, extend(guarded));
  }
  return adapter;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
