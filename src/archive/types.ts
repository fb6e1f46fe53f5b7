/**
 * The public shape of a content-addressable archive.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import type { JsonValue } from '../json/canonical.js';
import type { References } from '../refs/index.js';
import type { ArchiveChange, ChangesOptions, WatchOptions } from '../changes/types.js';

export type {
  ArchiveChange,
  ChangesOptions,
  DamagedChange,
  DeleteChange,
  PutChange,
  RefDeleteChange,
  RefSetChange,
  WatchOptions,
} from '../changes/types.js';

/** Options every archive call takes. */
export interface ArchiveCallOptions {
  signal?: AbortSignal;
}

/** Options of `openArchive`. */
export interface OpenArchiveOptions extends ArchiveCallOptions {
  /** Rebuild the index from the objects on open when it is missing, torn or stale (default true). */
  autoRepairIndex?: boolean;
  /** Clock used for stored times (unix milliseconds); injectable for tests. */
  now?: () => number;
  /**
   * Journal segments (commit batches) gathered before the index is compacted
   * into `index.json` (default 1024). Records are bounded too, at four times
   * this or a quarter of the index, whichever is larger, so compaction costs
   * the same per put at any archive size.
   */
  compactAfter?: number;
  /**
   * How long (ms, default 60 000) a journal line whose object operation has not
   * shown up yet is presumed in flight in another process or tab, and its
   * segment kept. Older unsettled lines are void (their writer died).
   */
  pendingGraceMs?: number;
  /**
   * How long (ms, default 3 600 000: one hour) folded journal segments and
   * reference changes stay in the change log (`changes/`), so that a listener
   * of `changes()` that was away catches up from its position. 0 keeps none:
   * listeners then only see what is still in the journal.
   */
  changeRetentionMs?: number;
  /** How long to wait for the adapter's index lock (default 30 000 ms). */
  lockTimeoutMs?: number;
  /** Backend calls kept in flight by scans, verify and batch checks (default 16). */
  concurrency?: number;
}

/** One index entry: where an object lives and what it weighs. */
export interface IndexEntry {
  /** Lowercase hex SHA-256 of the canonical bytes. */
  hash: string;
  /** Key of the object relative to the archive root: `objects/<aa>/<bb>/<hash>.json`. */
  path: string;
  /** Size of the object in bytes. */
  size: number;
  /** When it was stored, unix milliseconds. */
  storedAt: number;
}

/** What `stats()` reports. */
export interface ArchiveStats {
  count: number;
  bytes: number;
  /** Unix ms of the oldest / newest stored object; undefined when empty. */
  oldest?: number;
  newest?: number;
}

/** Progress of a long operation. */
export interface Progress {
  done: number;
  total?: number;
  /** Bytes processed so far, where meaningful. */
  bytes?: number;
}

/** Options of `verify`. */
export interface VerifyOptions extends ArchiveCallOptions {
  onProgress?: (p: Progress) => void;
  /** Move corrupt objects to `quarantine/` and rebuild the index. */
  repair?: boolean;
}

/** What `verify` found. */
export interface VerifyReport {
  /** Objects checked. */
  checked: number;
  /** Objects whose bytes do not hash to their name (or are not valid canonical JSON). */
  corrupt: string[];
  /** In the index but with no object. */
  missing: string[];
  /** Objects present but not in the index. */
  orphaned: string[];
  /** True when nothing was found wrong (after repair, if repair ran: what was found before repair). */
  ok: boolean;
  /** True when `repair` ran and changed something. */
  repaired: boolean;
}

/**
 * Options of `gc`. Whatever they say, gc never deletes an object that a
 * reference names (current value or retained history, `openReferences`) or
 * that a journal line of a put still in flight names (docs/format.md,
 * "Garbage collection and references").
 */
export interface GcOptions extends ArchiveCallOptions {
  /**
   * Hashes to keep. Given alone (the 0.1 mode), every other object is
   * deleted (`graceMs` defaults to 0); with `unreferenced`, these are kept
   * besides the referenced ones. Without `keep` or `unreferenced`, gc only
   * removes leftovers (quarantine, gc's own trash).
   */
  keep?: Iterable<string> | AsyncIterable<string>;
  /**
   * Delete every object nothing keeps: no reference, no journal line, not in
   * `keep`, nor named by the archive-backed intent store's default index
   * (`intent-graph/index.json`; a store under another index key must pass
   * its `referencedHashes()` as `keep`). `graceMs` defaults to one hour.
   */
  unreferenced?: boolean;
  /**
   * Only objects stored longer ago than this (ms, by the index's `storedAt`)
   * are deleted, so a writer that stored an object and is about to set a
   * reference to it never loses it. Default: one hour with `unreferenced`,
   * 0 with `keep` alone. While it is above 0, an object the index does not
   * know (no stored time) is kept.
   */
  graceMs?: number;
  /** Report what would be deleted, and change nothing (no delete, no journal fold). */
  dryRun?: boolean;
}

/** What `gc` did, or on a dry run would do. */
export interface GcReport {
  /** Objects and leftovers deleted (0 on a dry run). */
  deleted: number;
  /** Their bytes (0 on a dry run). */
  bytesFreed: number;
  /** Present on a dry run. */
  dryRun?: true;
  /** On a dry run: the objects it would delete, in hash order. */
  wouldDelete?: string[];
  /** On a dry run: the bytes it would free, leftovers included. */
  wouldFree?: number;
  /** On a dry run: the leftovers (quarantine, gc trash) it would remove. */
  leftovers?: number;
  /** Objects deleted and then put back because a reference to them appeared while gc ran (absent when none). */
  restored?: number;
}

/** A content-addressable store of JSON values over a {@link StorageAdapter}. */
export interface ContentArchive {
  /** The adapter underneath. */
  readonly adapter: StorageAdapter;
  /**
   * Names over hashes, with history and compare-and-set (docs/refs.md): the
   * same as `openReferences(archive)` with default options, opened on first use.
   */
  readonly refs: References;
  /** Stores a value; resolves its hash. Idempotent: never rewrites an existing object. */
  put(value: unknown, options?: ArchiveCallOptions): Promise<string>;
  /** Stores many values behind one durability barrier; hashes in input order. */
  putMany(values: Iterable<unknown>, options?: ArchiveCallOptions): Promise<string[]>;
  /** The value with this hash; `NotFoundError` when absent, `CorruptObjectError` when damaged. */
  get<T extends JsonValue = JsonValue>(hash: string, options?: ArchiveCallOptions): Promise<T>;
  /** The canonical bytes with this hash, verified. */
  getBytes(hash: string, options?: ArchiveCallOptions): Promise<Uint8Array>;
  /**
   * Stores already-canonical bytes under their hash; resolves the hash. Refuses
   * (`INVALID_JSON`) bytes that are not the canonical form of a JSON value.
   */
  putBytes(bytes: Uint8Array, options?: ArchiveCallOptions): Promise<string>;
  /** {@link putBytes} for many, behind one durability barrier; hashes in input order. All or nothing on refusal. */
  putManyBytes(items: Iterable<Uint8Array>, options?: ArchiveCallOptions): Promise<string[]>;
  has(hash: string, options?: ArchiveCallOptions): Promise<boolean>;
  /** Removes an object; a missing hash is not an error. */
  delete(hash: string, options?: ArchiveCallOptions): Promise<void>;
  /** Every stored hash. */
  list(options?: ArchiveCallOptions): AsyncIterable<string>;
  /** Index entries, with size and stored time. */
  entries(options?: ArchiveCallOptions): AsyncIterable<IndexEntry>;
  stats(options?: ArchiveCallOptions): Promise<ArchiveStats>;
  verify(options?: VerifyOptions): Promise<VerifyReport>;
  /** Rebuilds the index from the objects. */
  rebuildIndex(options?: ArchiveCallOptions): Promise<void>;
  gc(options?: GcOptions): Promise<GcReport>;
  /**
   * Every change to the archive (`put`, `delete`) and to its references
   * (`ref-set`, `ref-delete`), made by this handle, other tabs or other
   * processes, in log order, from `since` (a change's `position`, or `'now'`,
   * the default) until `signal` aborts or the archive closes (docs/changes.md).
   * A position older than the change log keeps is `CHANGES_TRIMMED`.
   *
   * @example
   * ```ts
   * for await (const c of archive.changes({ since: savedPosition })) {
   *   if (c.kind === 'ref-set') console.log(c.name, '→', c.hash);
   *   savedPosition = c.position;
   * }
   * ```
   */
  changes(options?: ChangesOptions): AsyncIterable<ArchiveChange>;
  /**
   * {@link changes} as a listener: calls `listener` with each change and
   * returns the function that stops it. Errors that end the watch go to
   * `options.onError`.
   */
  watch(listener: (change: ArchiveChange) => void, options?: WatchOptions): () => void;
  /**
   * Waits for queued writes and compacts the journal into `index.json`; later
   * calls reject with `ClosedError`. The adapter stays open: whoever created it
   * owns it and closes it (`await adapter.close()`), so one adapter can outlive
   * an archive or be shared by several. An adapter left open keeps its handles
   * (an OPFS worker's sync access handle, node-fs's writer marker).
   */
  close(): Promise<void>;
}

// The layout is spelled in layout.ts; these names stay importable from here (and from the core entry).
export { INDEX_KEY, OBJECTS_PREFIX, objectKey, QUARANTINE_PREFIX } from './layout.js';
