/**
 * The archive-backed intent store: every intent and every edge is a
 * content-addressed object in a {@link ContentArchive} (its address the
 * SHA-256 of its canonical JSON), and a small index maps each intent id to the
 * hash of its current version and lists the edges' hashes in order.
 *
 * The index is one canonical-JSON document under its own adapter key
 * (default `intent-graph/index.json`), replaced with the adapter's atomic
 * `write` after the objects it names are stored. So a change is: store the new
 * object (idempotent), then swap the index. A crash between the two leaves an
 * unreferenced object and the old graph; never a graph naming a missing
 * object. An update stores the new version and drops the old hash from the
 * index; the old object stays in the archive (content-addressed objects may
 * be shared) until the archive's `gc` is run with a keep set that includes
 * {@link ArchiveIntentStore.referencedHashes}.
 *
 * Index document:
 * `{"edges":["<hash>",...],"format":"archive-storage/intent-graph-index","intents":{"<id>":"<hash>"},"version":1}`
 *
 * One store instance per index key (single writer), as for the file store.
 *
 * @module
 */
import { canonicalBytes, formatJsonPath, parseJson } from '../json/canonical.js';
import { InvalidBackupError, isArchiveStorageError } from '../errors.js';
import { isSha256Hex } from '../hash.js';
import type { ContentArchive } from '../archive/types.js';
import { DEFAULT_INTENT_INDEX_KEY } from '../archive/layout.js';
import { mapLimit } from '../internal/pool.js';
import type { IntentStore } from './intent-store.js';
import { BaseIntentStore, type GraphChange, type GraphState, type IntentStoreOptions } from './store.js';
import type { Edge } from './types.js';
import { validateEdge, validateIntent } from './validate.js';

/** Default adapter key of the index document (the layout's `DEFAULT_INTENT_INDEX_KEY`). */
export { DEFAULT_INTENT_INDEX_KEY };
/** `format` field of the index document. */
export const INTENT_INDEX_FORMAT = 'archive-storage/intent-graph-index';

/** Options of {@link openArchiveIntentStore}. */
export interface ArchiveIntentStoreOptions extends IntentStoreOptions {
  archive: ContentArchive;
  /** Adapter key of the index (default `intent-graph/index.json`); use one key per graph to keep several in one archive. */
  indexKey?: string;
  /** Objects read in parallel when loading (default 16). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** An archive-backed {@link IntentStore}. */
export interface ArchiveIntentStore extends IntentStore {
  readonly kind: 'archive';
  readonly indexKey: string;
  /** The hash of every object the current graph uses: a keep set for the archive's `gc`. */
  referencedHashes(): string[];
  /** The hash of the current version of an intent, or undefined. */
  hashOf(id: string): string | undefined;
}

interface Index {
  intents: Map<string, string>;
  edges: string[];
}

class ArchiveStore extends BaseIntentStore implements ArchiveIntentStore {
  readonly kind = 'archive' as const;
  private index: Index = { intents: new Map(), edges: [] };

  constructor(
    private readonly archive: ContentArchive,
    readonly indexKey: string,
    private readonly concurrency: number,
    options: IntentStoreOptions,
  ) {
    super(options);
  }

  referencedHashes(): string[] {
    return [...new Set([...this.index.intents.values(), ...this.index.edges])];
  }

  hashOf(id: string): string | undefined {
    return this.index.intents.get(id);
  }

  private async readIndex(signal: AbortSignal | undefined): Promise<Index | undefined> {
    const bytes = await this.archive.adapter.read(this.indexKey, { signal });
    if (bytes === undefined) return undefined;
    const where = `index ${JSON.stringify(this.indexKey)}`;
    let doc: unknown;
    try {
      doc = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes), { maxDepth: 8 });
    } catch (e) {
      throw new InvalidBackupError('$', `${where} is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    const d = doc as Record<string, unknown>;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || d.format !== INTENT_INDEX_FORMAT) {
      throw new InvalidBackupError('$.format', `${where} is not an intent-graph index (format ${INTENT_INDEX_FORMAT})`);
    }
    if (d.version !== 1) throw new InvalidBackupError('$.version', `${where} has version ${JSON.stringify(d.version)}; this release reads version 1`);
    const intents = new Map<string, string>();
    const rawIntents = d.intents as Record<string, unknown>;
    if (typeof rawIntents !== 'object' || rawIntents === null || Array.isArray(rawIntents)) throw new InvalidBackupError('$.intents', `${where}: expected an object of id -> hash`);
    for (const id of Object.keys(rawIntents)) {
      if (!isSha256Hex(rawIntents[id])) throw new InvalidBackupError(formatJsonPath(['intents', id]), `${where}: expected a SHA-256 hex hash`);
      intents.set(id, rawIntents[id] as string);
    }
    if (!Array.isArray(d.edges)) throw new InvalidBackupError('$.edges', `${where}: expected an array of hashes`);
    d.edges.forEach((h, i) => {
      if (!isSha256Hex(h)) throw new InvalidBackupError(formatJsonPath(['edges', i]), `${where}: expected a SHA-256 hex hash`);
    });
    return { intents, edges: d.edges as string[] };
  }

  /** Loads the graph the index names, verifying every object (hash and shape). */
  private async loadIndexed(index: Index, signal: AbortSignal | undefined): Promise<GraphState> {
    const ids = [...index.intents.keys()];
    const intents = await mapLimit(ids, this.concurrency, async (id) => {
      const hash = index.intents.get(id)!;
      const intent = validateIntent(await this.archive.get(hash, { signal }), { ...this.limits, path: ['intents', id] });
      if (intent.intent_id !== id) {
        throw new InvalidBackupError(formatJsonPath(['intents', id]), `index names object ${hash} for intent ${JSON.stringify(id)}, but it holds intent ${JSON.stringify(intent.intent_id)}`);
      }
      return intent;
    });
    // Equal edges share one object: read each distinct hash once.
    const distinct = [...new Set(index.edges)];
    const edgeByHash = new Map<string, Edge>();
    await mapLimit(distinct, this.concurrency, async (hash) => {
      edgeByHash.set(hash, validateEdge(await this.archive.get(hash, { signal }), { ...this.limits, path: ['edges', hash] }));
    });
    return {
      intents: new Map(ids.map((id, i) => [id, intents[i]!])),
      edges: index.edges.map((h) => ({ ...edgeByHash.get(h)! })),
    };
  }

  protected async load(signal: AbortSignal | undefined): Promise<GraphState> {
    const index = (await this.readIndex(signal)) ?? { intents: new Map(), edges: [] };
    const state = await this.loadIndexed(index, signal);
    this.index = index;
    return state;
  }

  private async writeIndex(index: Index, signal: AbortSignal | undefined): Promise<void> {
    const intents: Record<string, string> = {};
    for (const [id, hash] of index.intents) Object.defineProperty(intents, id, { value: hash, enumerable: true, writable: true, configurable: true });
    const doc = { format: INTENT_INDEX_FORMAT, version: 1, intents, edges: index.edges };
    await this.archive.adapter.write(this.indexKey, canonicalBytes(doc), { signal });
  }

  protected async persist(change: GraphChange, signal: AbortSignal | undefined): Promise<() => void> {
    const next: Index = { intents: new Map(this.index.intents), edges: [...this.index.edges] };
    switch (change.type) {
      case 'putIntent':
        next.intents.set(change.intent.intent_id, await this.archive.put(change.intent, { signal }));
        break;
      case 'deleteIntent':
        next.intents.delete(change.id);
        break;
      case 'addEdge':
        next.edges.push(await this.archive.put(change.edge, { signal }));
        break;
      case 'deleteEdge':
        next.edges.splice(change.index, 1);
        break;
      case 'replace': {
        const intents = [...change.state.intents.values()];
        // One durability barrier for every object, then one index swap: all or nothing.
        const hashes = await this.archive.putMany([...intents, ...change.state.edges], { signal });
        next.intents = new Map(intents.map((intent, i) => [intent.intent_id, hashes[i]!]));
        next.edges = hashes.slice(intents.length);
        break;
      }
    }
    await this.writeIndex(next, signal);
    return () => {
      this.index = next;
    };
  }

  protected override async check(signal: AbortSignal | undefined): Promise<string[]> {
    const problems: string[] = [];
    let stored: Index | undefined;
    try {
      stored = await this.readIndex(signal);
    } catch (e) {
      if (!isArchiveStorageError(e) || e.code === 'ABORTED') throw e;
      return [`index ${JSON.stringify(this.indexKey)} cannot be read: ${e.message}`];
    }
    const mine = this.index;
    if (stored === undefined) {
      if (mine.intents.size + mine.edges.length > 0) problems.push(`index ${JSON.stringify(this.indexKey)} is missing although the store holds data`);
    } else if (
      stored.edges.length !== mine.edges.length ||
      stored.edges.some((h, i) => h !== mine.edges[i]) ||
      stored.intents.size !== mine.intents.size ||
      [...stored.intents].some(([id, h]) => mine.intents.get(id) !== h)
    ) {
      problems.push(`index ${JSON.stringify(this.indexKey)} differs from what this store holds (changed by another writer?); reopen the store to see it`);
    }
    // Every object the graph uses must be present and intact.
    await mapLimit(this.referencedHashes(), this.concurrency, async (hash) => {
      try {
        await this.archive.getBytes(hash, { signal });
      } catch (e) {
        if (!isArchiveStorageError(e) || e.code === 'ABORTED') throw e;
        problems.push(`object ${hash}: ${e.message}`);
      }
    });
    return problems;
  }

  async open(signal: AbortSignal | undefined): Promise<void> {
    this.state = await this.load(signal);
  }
}

/**
 * Opens the intent store kept in `options.archive` under the index key; no
 * index is an empty store. Loading reads every object the index names and
 * verifies it (hash and shape): a damaged object fails the open with
 * `CorruptObjectError`, a missing one with `NotFoundError`.
 */
export async function openArchiveIntentStore(options: ArchiveIntentStoreOptions): Promise<ArchiveIntentStore> {
  const store = new ArchiveStore(options.archive, options.indexKey ?? DEFAULT_INTENT_INDEX_KEY, options.concurrency ?? 16, options);
  await store.open(options.signal);
  return store;
}
