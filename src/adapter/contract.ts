/**
 * The storage-adapter contract: bytes under `/`-separated keys.
 *
 * Nothing below the archive knows about hashing; nothing above the adapter
 * knows about files, IndexedDB or HTTP. An adapter implements the five
 * required calls; everything optional is declared in `capabilities` and the
 * archive derives what an adapter cannot do natively.
 *
 * Rules every adapter follows (checked by the conformance suite, `archive-storage/testing`):
 * - `write` is atomic: a reader sees the old bytes or the new bytes, never a mix,
 *   whatever crashes in between. Once it resolves the bytes are as durable as
 *   `capabilities.durability` says.
 * - `read` of a missing key resolves `undefined`; `delete` of a missing key is a no-op.
 * - `list(prefix)` yields every key that starts with `prefix`, each once, in no
 *   promised order, paged underneath (never all in memory at once).
 * - Every call honours `options.signal`: an aborted call rejects with
 *   `AbortError` and leaves the key as it was (old or new bytes).
 * - Keys are checked with {@link assertValidKey}; a bad key is `InvalidKeyError`.
 * - Backend failures are wrapped in the SDK's typed errors (`BackendError`,
 *   `QuotaExceededError`, ...) with the original error kept as `cause`.
 * - Bytes handed to `write` may be reused by the caller after the promise
 *   resolves, and bytes returned by `read` belong to the caller: copy when the
 *   backend would otherwise share memory.
 *
 * @module
 */
import { InvalidArgumentError, InvalidKeyError } from '../errors.js';

/** Options every adapter call takes. */
export interface CallOptions {
  /** Aborts the call; it then rejects with `AbortError`. */
  signal?: AbortSignal;
}

/** One entry of a batch write. */
export interface WriteEntry {
  key: string;
  bytes: Uint8Array;
}

/**
 * How durable a resolved write is:
 * - `strict`: survives power loss (fsync, IndexedDB `strict`, SQLite `FULL`).
 * - `relaxed`: survives a crash of the process, maybe not of the machine.
 * - `none`: lives only as long as the process (memory).
 */
export type Durability = 'strict' | 'relaxed' | 'none';

/** What an adapter can do beyond the required calls. Declared, never guessed. */
export interface AdapterCapabilities {
  /** `writeMany` commits a batch behind one durability barrier. */
  readonly writeMany: boolean;
  /** `create` writes only if absent, atomically at the backend (no check-then-write race). */
  readonly create: boolean;
  /** `append` adds bytes to the end of a key. */
  readonly append: boolean;
  /** `lock` gives exclusion across processes or tabs sharing the same storage. */
  readonly locking: boolean;
  /** `estimate` reports usage and quota. */
  readonly quota: boolean;
  /** The durability of a resolved write. */
  readonly durability: Durability;
  /**
   * `hasMany` answers many existence checks in one backend round (one query, one
   * transaction). Optional: absent means `false`, and callers fall back to `has` per key.
   */
  readonly hasMany?: boolean;
  /**
   * `writeMany` is all-or-nothing: after a failure, an abort or a crash either
   * every entry of the batch is stored or none is (one transaction, one commit
   * record). Optional: absent means `false` (entries may land one by one).
   */
  readonly atomicBatch?: boolean;
  /**
   * `writeMany` stores the batch's first entry before any other, behind the
   * same durability barrier: whenever another entry of the batch can be seen
   * (by any reader, or after a failure, an abort or a crash of the process),
   * so can the first. What a write-ahead record needs (the archive's journal
   * segment ahead of the objects it names) without a barrier of its own.
   * Optional: absent means `false`; `atomicBatch` gives it too.
   */
  readonly batchHeadFirst?: boolean;
  /**
   * `deleteMany` removes many keys in one backend round (one transaction, one
   * multi-object request per page). Optional: absent means `false`, and callers
   * fall back to `delete` per key. Not promised to be all-or-nothing.
   */
  readonly deleteMany?: boolean;
  /**
   * `readVersioned` and `swap` give compare-and-swap on one key, atomic at the
   * backend across processes and machines (S3: `If-Match` / `If-None-Match: *`).
   * Optional: absent means `false`. Adapters with `locking` do not need it (the
   * archive changes shared keys under the lock); see `src/adapter/cas.ts`.
   */
  readonly compareAndSwap?: boolean;
}

/** Bytes with the version token the backend gave them (S3: the ETag). */
export interface Versioned {
  bytes: Uint8Array;
  /** Opaque; only meaningful to {@link StorageAdapter.swap} of the same adapter. */
  version: string;
}

/** Options of {@link StorageAdapter.lock}. */
export interface LockOptions extends CallOptions {
  /** Give up with `LockTimeoutError` after this many milliseconds (default: adapter's own, e.g. 10 s). */
  timeoutMs?: number;
}

/** Usage and quota of the backend, in bytes, where known. */
export interface StorageEstimate {
  usage?: number;
  quota?: number;
}

/** The contract between the archive and a backend. */
export interface StorageAdapter {
  /** Short name used in error messages, e.g. `node-fs`. */
  readonly name: string;
  /** Optional capabilities, declared. */
  readonly capabilities: AdapterCapabilities;

  /** The bytes under `key`, or `undefined` when absent. */
  read(key: string, options?: CallOptions): Promise<Uint8Array | undefined>;
  /** True when `key` exists. */
  has(key: string, options?: CallOptions): Promise<boolean>;
  /** Stores `bytes` under `key` atomically, replacing what was there. */
  write(key: string, bytes: Uint8Array, options?: CallOptions): Promise<void>;
  /** Removes `key`; a missing key is not an error. */
  delete(key: string, options?: CallOptions): Promise<void>;
  /** Every key starting with `prefix` (`''` for all), paged underneath. */
  list(prefix: string, options?: CallOptions): AsyncIterable<string>;

  /** Writes a batch behind one durability barrier; each entry is atomic. Present when `capabilities.writeMany`. */
  writeMany?(entries: readonly WriteEntry[], options?: CallOptions): Promise<void>;
  /** Writes only if `key` is absent; resolves `true` when it wrote. Present when `capabilities.create`. */
  create?(key: string, bytes: Uint8Array, options?: CallOptions): Promise<boolean>;
  /**
   * Existence of every key of `keys`, in order (`true` when present), as one
   * batched lookup. Each answer is what `has` would have said at some moment
   * during the call. Present when `capabilities.hasMany`.
   */
  hasMany?(keys: readonly string[], options?: CallOptions): Promise<boolean[]>;
  /**
   * Removes every key of `keys` (missing keys are no-ops, duplicates allowed) as
   * one batched call. On failure some keys may already be gone; each key is
   * either fully present or fully absent. Present when `capabilities.deleteMany`.
   */
  deleteMany?(keys: readonly string[], options?: CallOptions): Promise<void>;
  /** The bytes under `key` and their version token, or `undefined` when absent. Present when `capabilities.compareAndSwap`. */
  readVersioned?(key: string, options?: CallOptions): Promise<Versioned | undefined>;
  /**
   * Writes `bytes` under `key` only if the stored version is still `expected`
   * (`null`: only if `key` is absent), atomically at the backend. Resolves the
   * new version, or `null` when the condition failed (nothing was written).
   * Throws `ConditionalWritesUnsupportedError` when the backend turns out not
   * to enforce the condition. Present when `capabilities.compareAndSwap`.
   */
  swap?(key: string, bytes: Uint8Array, expected: string | null, options?: CallOptions): Promise<string | null>;
  /** Appends `bytes` to `key` (creating it). A crash may leave a torn tail: readers must check. */
  append?(key: string, bytes: Uint8Array, options?: CallOptions): Promise<void>;
  /** Runs `fn` while holding the exclusive lock `name`. Present when `capabilities.locking`. */
  lock?<T>(name: string, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
  /** Usage and quota. Present when `capabilities.quota`. */
  estimate?(options?: CallOptions): Promise<StorageEstimate>;
  /** Releases handles, connections, workers. Calls after close reject with `ClosedError`. */
  close?(): Promise<void>;
}

/** Longest key accepted, in UTF-16 code units (fits every backend's path and key limits). */
export const MAX_KEY_LENGTH = 512;

/** Characters allowed in one key segment. */
const SEGMENT = /^[A-Za-z0-9._~-]+$/;
/** A whole valid key: segments of allowed characters, none of them `.` or `..`. */
const VALID_KEY = /^(?!\.\.?(?:\/|$))[A-Za-z0-9._~-]+(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._~-]+)*$/;

/**
 * Throws `InvalidKeyError` unless `key` is a valid storage key: 1-512 characters,
 * `/`-separated segments of `A-Z a-z 0-9 . _ ~ -`, no empty segment, no `.` or
 * `..` segment. Such keys are safe as file paths, IndexedDB keys, SQLite text and
 * S3 object names on every platform.
 */
export function assertValidKey(key: string): void {
  // Hot path (every adapter call): one regex accepts the common, valid key; the
  // checks below run only to explain a refusal precisely.
  if (typeof key === 'string' && key.length <= MAX_KEY_LENGTH && VALID_KEY.test(key)) return;
  if (typeof key !== 'string') throw new InvalidKeyError(String(key), 'a key must be a string');
  if (key.length === 0) throw new InvalidKeyError(key, 'a key must not be empty');
  if (key.length > MAX_KEY_LENGTH) throw new InvalidKeyError(key.slice(0, 40) + '…', `longer than ${MAX_KEY_LENGTH} characters`);
  for (const segment of key.split('/')) {
    if (segment === '') throw new InvalidKeyError(key, "empty segment (leading, trailing or doubled '/')");
    if (segment === '.' || segment === '..') throw new InvalidKeyError(key, `'${segment}' segments are not allowed`);
    if (!SEGMENT.test(segment)) throw new InvalidKeyError(key, 'only A-Z a-z 0-9 . _ ~ - and / are allowed');
  }
}

/**
 * Throws `InvalidArgumentError` unless `bytes` is a `Uint8Array` (a subclass such
 * as Node's `Buffer`, or one from another realm, counts). Adapters call it for
 * every value before storing anything, so a string or a plain array is refused
 * instead of being stored as something else.
 */
export function assertBytes(bytes: unknown, key: string): asserts bytes is Uint8Array {
  if (bytes instanceof Uint8Array) return;
  // A Uint8Array made in another realm (an iframe, node:vm) fails instanceof but is bytes all the same.
  if (ArrayBuffer.isView(bytes) && Object.prototype.toString.call(bytes) === '[object Uint8Array]') return;
  const got = bytes === null ? 'null' : ArrayBuffer.isView(bytes) ? bytes.constructor.name : Array.isArray(bytes) ? 'an array' : typeof bytes;
  throw new InvalidArgumentError(`the value for ${JSON.stringify(key)} must be a Uint8Array (encode text with TextEncoder), got ${got}`);
}

/** Checks every entry of a batch (key and bytes) before any of it is stored. */
export function assertWriteEntries(entries: readonly WriteEntry[]): void {
  if (!Array.isArray(entries)) throw new InvalidArgumentError('writeMany expects an array of { key, bytes } entries');
  for (const e of entries) {
    assertValidKey(e?.key);
    assertBytes(e.bytes, e.key);
  }
}

/** Throws `InvalidKeyError` unless `prefix` is `''` or a valid key prefix (no `..` tricks). */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  // A prefix may end in '/' or in the middle of a segment; validate it as a key without the trailing '/'.
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
