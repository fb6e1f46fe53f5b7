/**
 * The `IntentStore` interface: what every intent store (memory, file,
 * archive) offers. Only the contract lives here; the shared implementation is
 * `store.ts`, which builds on the backup document, which in turn names this
 * interface — so the interface needs a module of its own to keep the imports
 * a DAG.
 *
 * @module
 */
import type { BackupInput, CreateBackupOptions, RestoreOptions, RestoreReport, StorageBackupData } from './backup-types.js';
import type { StoreCallOptions } from './call-options.js';
import type { Edge, IntentGraph, IntentStatus, StorableIntent } from './types.js';

export type { StoreCallOptions } from './call-options.js';

/** Which intents {@link IntentStore.list} returns; every given criterion must hold. */
export interface IntentFilter {
  status?: IntentStatus;
  /** Substring of `name` (case-sensitive); intents without a name never match. */
  nameContains?: string;
  /** Substring of `goal` (case-sensitive). */
  goalContains?: string;
  /** Lowest priority, inclusive. */
  priorityMin?: number;
  /** Highest priority, inclusive. */
  priorityMax?: number;
}

/** What {@link IntentStore.healthCheck} found. */
export interface StoreHealth {
  /** True when nothing is wrong. */
  ok: boolean;
  /** The store kind, e.g. `file`. */
  store: string;
  intents: number;
  edges: number;
  /** What is wrong, for people. Empty when `ok`. */
  problems: string[];
}

/**
 * A place to keep an intent graph. Intents are keyed by `intent_id`; edges are
 * a list (equal edges may repeat, as in CCOS). Every input is validated
 * (`INVALID_ARGUMENT` naming the offending path); every call takes `{ signal }`.
 */
export interface IntentStore {
  /** `memory`, `file` or `archive`. */
  readonly kind: string;
  /** Stores an intent, replacing one with the same id. Resolves the id. */
  store(intent: StorableIntent, options?: StoreCallOptions): Promise<string>;
  /** The intent with this id (a copy), or `undefined`. */
  get(id: string, options?: StoreCallOptions): Promise<StorableIntent | undefined>;
  /** Replaces an existing intent; `NotFoundError` when there is none with its id. */
  update(intent: StorableIntent, options?: StoreCallOptions): Promise<void>;
  /**
   * Deletes an intent; `NotFoundError` when absent. Its edges stay, as in CCOS
   * (they then dangle; `edgesOf(id)` still finds them).
   */
  delete(id: string, options?: StoreCallOptions): Promise<void>;
  /** Intents matching `filter` (all without one), sorted by id. */
  list(filter?: IntentFilter, options?: StoreCallOptions): Promise<StorableIntent[]>;
  /** Appends an edge. */
  storeEdge(edge: Edge, options?: StoreCallOptions): Promise<void>;
  /** Every edge, in stored order. */
  edges(options?: StoreCallOptions): Promise<Edge[]>;
  /** Edges whose `from` or `to` is `id`, in stored order. */
  edgesOf(id: string, options?: StoreCallOptions): Promise<Edge[]>;
  /** Removes the first edge equal to `edge` (all fields); `NotFoundError` when none is. */
  deleteEdge(edge: Edge, options?: StoreCallOptions): Promise<void>;
  /** A consistent copy of the whole graph. */
  snapshot(options?: StoreCallOptions): Promise<IntentGraph>;
  /** Replaces the whole graph at once: all or nothing. */
  replaceAll(graph: IntentGraph, options?: StoreCallOptions): Promise<void>;
  /** A StorageBackupData v1.1 of the graph (see `createBackup`). */
  backup(options?: CreateBackupOptions): Promise<StorageBackupData>;
  /** Replaces the graph with a backup's, all or nothing (see `restoreBackup`). */
  restore(input: BackupInput, options?: RestoreOptions): Promise<RestoreReport>;
  /** Checks that the backend still holds what the store shows. Reports, never throws for what it finds. */
  healthCheck(options?: StoreCallOptions): Promise<StoreHealth>;
  /** Removes every intent and edge. */
  clear(options?: StoreCallOptions): Promise<void>;
  /** Releases the store; later calls reject with `ClosedError`. The adapter or archive underneath stays open. */
  close(): Promise<void>;
}
