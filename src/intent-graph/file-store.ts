/**
 * The single-document intent store: the whole graph is one StorageBackupData
 * document under one adapter key, rewritten on every change with the
 * adapter's atomic `write`, so a reader (or a crash) sees the graph before or
 * after a change, never a mix. The document is exactly a backup: a CCOS
 * `FileStorage` file opens as a store, and a store file restores as a backup.
 *
 * Works over any adapter (node-fs, IndexedDB, OPFS, S3, memory). Writes are
 * O(size of the graph): meant for graphs of up to some thousands of intents;
 * for more, or for incremental writes, use the archive-backed store.
 *
 * One store instance per document: two writers (processes or tabs) on the same
 * key would overwrite each other's changes. `healthCheck()` reports when the
 * document no longer matches what this store holds.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { canonicalize } from '../json/canonical.js';
import { isArchiveStorageError } from '../errors.js';
import { DEFAULT_INTENT_GRAPH_KEY } from '../archive/layout.js';
import { stringifyBackup } from './document-json.js';
import type { StorageBackupData } from './backup-types.js';
import { BACKUP_CREATED_BY, BACKUP_FORMAT_VERSION, parseBackup } from './document.js';
import { printRtfsSnapshot } from './rtfs/snapshot.js';
import { BaseIntentStore, graphAfter, graphToState, stateToGraph, type GraphChange, type GraphState, type IntentStoreOptions } from './store.js';
import type { IntentStore } from './intent-store.js';
import type { GraphWarning } from './validate.js';


/** Default key of the document (the layout's `DEFAULT_INTENT_GRAPH_KEY`). */
export { DEFAULT_INTENT_GRAPH_KEY };

/** Options of {@link openFileIntentStore}. */
export interface FileIntentStoreOptions extends IntentStoreOptions {
  /** Where the bytes live. */
  adapter: StorageAdapter;
  /** The key of the document (default `intent-graph.json`). */
  key?: string;
  /** Embed the RTFS snapshot in the document on every write (default false: it doubles the write). */
  includeRtfs?: boolean;
  /** Clock in unix milliseconds for the document's `timestamp` (default `Date.now`). */
  now?: () => number;
  signal?: AbortSignal;
}

/** A file-backed {@link IntentStore}. */
export interface FileIntentStore extends IntentStore {
  readonly kind: 'file';
  readonly key: string;
  /** Warnings found reading the document at open (dangling edges, unknown fields, ...). */
  readonly openWarnings: readonly GraphWarning[];
}

const encoder = /* @__PURE__ */ new TextEncoder();

class FileStore extends BaseIntentStore implements FileIntentStore {
  readonly kind = 'file' as const;
  openWarnings: readonly GraphWarning[] = [];

  constructor(
    private readonly adapter: StorageAdapter,
    readonly key: string,
    private readonly includeRtfs: boolean,
    private readonly now: () => number,
    options: IntentStoreOptions,
  ) {
    super(options);
  }

  /** Reads the document; an absent key is an empty graph. */
  async read(signal: AbortSignal | undefined): Promise<{ state: GraphState; warnings: GraphWarning[] } | undefined> {
    const bytes = await this.adapter.read(this.key, { signal });
    if (bytes === undefined) return undefined;
    const { graph, warnings } = parseBackup(bytes, { ...this.limits, checkRtfs: false });
    return { state: graphToState(graph), warnings };
  }

  protected async load(signal: AbortSignal | undefined): Promise<GraphState> {
    return (await this.read(signal))?.state ?? { intents: new Map(), edges: [] };
  }

  protected async persist(change: GraphChange, signal: AbortSignal | undefined): Promise<void> {
    const graph = graphAfter(this.state, change);
    const doc: StorageBackupData = {
      intents: graph.intents,
      edges: graph.edges,
      version: BACKUP_FORMAT_VERSION,
      timestamp: Math.floor(this.now() / 1000),
      manifest: { created_by: BACKUP_CREATED_BY, source: null, note: 'intent store document' },
      rtfs: this.includeRtfs ? printRtfsSnapshot(graph) : null,
    };
    await this.adapter.write(this.key, encoder.encode(stringifyBackup(doc)), { signal });
  }

  protected override async check(signal: AbortSignal | undefined): Promise<string[]> {
    let stored: GraphState | undefined;
    try {
      stored = (await this.read(signal))?.state;
    } catch (e) {
      if (!isArchiveStorageError(e) || e.code === 'ABORTED') throw e;
      return [`document ${JSON.stringify(this.key)} on ${this.adapter.name} cannot be read: ${e.message}`];
    }
    if (stored === undefined) {
      return this.state.intents.size + this.state.edges.length === 0
        ? []
        : [`document ${JSON.stringify(this.key)} is missing on ${this.adapter.name} although the store holds data`];
    }
    if (canonicalize(stateToGraph(stored, false)) !== canonicalize(stateToGraph(this.state, false))) {
      return [`document ${JSON.stringify(this.key)} differs from what this store holds (changed by another writer?); reopen the store to see it`];
    }
    return [];
  }

  async open(signal: AbortSignal | undefined): Promise<void> {
    const found = await this.read(signal);
    if (found) {
      this.state = found.state;
      this.openWarnings = Object.freeze(found.warnings);
    }
  }
}

/**
 * Opens the intent store kept in one document under `options.key` of
 * `options.adapter`; an absent key is an empty store (nothing is written until
 * the first change). An existing document must be a valid StorageBackupData
 * (1.0 or 1.1, as written by CCOS or by this library): an unreadable one is
 * refused (`INVALID_BACKUP` / `UNSUPPORTED_VERSION`) rather than overwritten.
 */
export async function openFileIntentStore(options: FileIntentStoreOptions): Promise<FileIntentStore> {
  const key = options.key ?? DEFAULT_INTENT_GRAPH_KEY;
  const store = new FileStore(options.adapter, key, options.includeRtfs ?? false, options.now ?? Date.now, options);
  await store.open(options.signal);
  return store;
}
