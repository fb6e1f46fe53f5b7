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
import { ArchiveStorageError, BackendError, ClosedError, InvalidArgumentError, throwIfAborted } from '../errors.js';
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
  type Versioned,
  type WriteEntry,
} from './contract.js';

/** A value or a promise of it: a synchronous backend (SQLite, memory) may answer directly. */
export type Awaitable<T> = T | Promise<T>;

/**
 * The calls a backend implements; arguments arrive already checked. The data
 * calls may return their answer directly instead of a promise: the adapter's
 * method is async either way, so a synchronous backend skips a promise per call.
 */
export interface AdapterCalls {
  read(key: string, options?: CallOptions): Awaitable<Uint8Array | undefined>;
  has(key: string, options?: CallOptions): Awaitable<boolean>;
  write(key: string, bytes: Uint8Array, options?: CallOptions): Awaitable<void>;
  delete(key: string, options?: CallOptions): Awaitable<void>;
  list(prefix: string, options?: CallOptions): AsyncIterable<string>;
  writeMany?(entries: readonly WriteEntry[], options?: CallOptions): Awaitable<void>;
  create?(key: string, bytes: Uint8Array, options?: CallOptions): Awaitable<boolean>;
  hasMany?(keys: readonly string[], options?: CallOptions): Awaitable<boolean[]>;
  deleteMany?(keys: readonly string[], options?: CallOptions): Awaitable<void>;
  append?(key: string, bytes: Uint8Array, options?: CallOptions): Awaitable<void>;
  readVersioned?(key: string, options?: CallOptions): Awaitable<Versioned | undefined>;
  swap?(key: string, bytes: Uint8Array, expected: string | null, options?: CallOptions): Awaitable<string | null>;
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

  // The data calls are the hot path (benchmarked against raw fs, SQLite and signed requests), so
  // they run through these two instead of `guard`: no closure per call, and a backend's direct
  // (non-promise) answer is returned without an extra await tick.

  /** Prologue, key check (and bytes check), then `fn(key[, bytes], options)` with its failure mapped. */
  async function single<T>(
    call: string,
    fn: (key: string, ...rest: never[]) => Awaitable<T>,
    key: string,
    withBytes: boolean,
    bytes: Uint8Array | undefined,
    options: CallOptions | undefined,
  ): Promise<T> {
    enter(options);
    assertValidKey(key);
    if (withBytes) assertBytes(bytes, key);
    try {
      const f = fn as (key: string, bytesOrOptions?: unknown, options?: CallOptions) => Awaitable<T>;
      const r = withBytes ? f.call(d, key, bytes, options) : f.call(d, key, options);
      return r instanceof Promise ? await r : r;
    } catch (error) {
      return fail(error, `${call} ${key}`);
    }
  }

  /** Prologue, every entry or key checked before anything is done, then `fn(items, options)` with its failure mapped. */
  async function batch<I, T>(
    call: 'writeMany' | 'hasMany' | 'deleteMany',
    fn: (items: readonly I[], options?: CallOptions) => Awaitable<T>,
    items: readonly I[],
    options: CallOptions | undefined,
  ): Promise<T> {
    enter(options);
    if (call === 'writeMany') assertWriteEntries(items as readonly WriteEntry[]);
    else assertKeyArray(items as readonly string[], `${d.name}: ${call}`);
    try {
      const r = fn.call(d, items, options);
      return r instanceof Promise ? await r : r;
    } catch (error) {
      return fail(error, `${call} (${items.length} ${call === 'writeMany' ? 'entries' : 'keys'})`);
    }
  }

  const adapter: StorageAdapter = {
    name: d.name,
    capabilities: d.capabilities,
    read: (key, options) => single('read', d.read, key, false, undefined, options),
    has: (key, options) => single('has', d.has, key, false, undefined, options),
    write: (key, bytes, options) => single('write', d.write, key, true, bytes, options),
    delete: (key, options) => single('delete', d.delete, key, false, undefined, options),
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
  const { writeMany, create, hasMany, deleteMany, append } = d;
  if (writeMany) adapter.writeMany = (entries, options) => batch('writeMany', writeMany, entries, options);
  if (create) adapter.create = (key, bytes, options) => single('create', create, key, true, bytes, options);
  if (hasMany) adapter.hasMany = (keys, options) => batch('hasMany', hasMany, keys, options);
  if (deleteMany) adapter.deleteMany = (keys, options) => batch('deleteMany', deleteMany, keys, options);
  if (append) adapter.append = (key, bytes, options) => single('append', append, key, true, bytes, options);
  const { readVersioned, swap } = d;
  if (readVersioned) adapter.readVersioned = (key, options) => single('readVersioned', readVersioned, key, false, undefined, options);
  if (swap) {
    adapter.swap = async (key, bytes, expected, options) => {
      if (expected !== null && typeof expected !== 'string') {
        throw new InvalidArgumentError(`${d.name}: swap ${key}: expected must be a version string or null, not ${typeof expected}`);
      }
      enter(options);
      assertValidKey(key);
      assertBytes(bytes, key);
      try {
        const r = swap.call(d, key, bytes, expected, options);
        return r instanceof Promise ? await r : r;
      } catch (error) {
        return fail(error, `swap ${key}`);
      }
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

/** Every key of a batch checked before anything is done; not an array is `InvalidArgumentError`. */
function assertKeyArray(keys: readonly string[], call: string): void {
  if (!Array.isArray(keys)) throw new InvalidArgumentError(`${call} expects an array of keys`);
  for (const key of keys) assertValidKey(key);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
