/**
 * The archive-backed intent store, on references (docs/format.md, "Intent
 * graph on references v2"): every intent and the edge list are
 * content-addressed objects in a {@link ContentArchive}, and the graph is a
 * set of references under one base, `<base>/intents/<segment of id>` per
 * intent (its versions are the reference's history), `<base>/edges` for the
 * edge list, and `<base>/replace` while a replace is rolled forward.
 *
 * A single change is one compare-and-set of one reference from the hash
 * this store last saw, so a second writer's change is never overwritten
 * (it fails with `CONFLICT`, and the store reloads before its next change).
 * A replace (replaceAll, restore, clear, migration) is made all or nothing
 * by a self-contained roll-forward record, completed by whoever opens the
 * store next if a kill interrupts it.
 *
 * An archive written by the previous release (a private index document,
 * `intent-graph/index.json`) is migrated on open: the references are
 * written first, the index deleted last (legacy-index.ts).
 *
 * @module
 */
import { DEFAULT_INTENT_INDEX_KEY } from '../archive/layout.js';
import type { ContentArchive } from '../archive/types.js';
import { InvalidArgumentError, InvalidBackupError, isArchiveStorageError, UnsupportedVersionError } from '../errors.js';
import { formatJsonPath } from '../json/canonical.js';
import { mapLimit } from '../internal/pool.js';
import { randomId } from '../internal/random-id.js';
import { MAX_KEEP_VERSIONS, openReferences, type Reference, type References, type ReferencesOptions, type ReferenceVersion } from '../refs/index.js';
import { baseForIndexKey, DEFAULT_INTENT_GRAPH_BASE, graphNames, idOfSegment, intentSegment, type GraphNames } from './graph-names.js';
import type { IntentStore, StoreCallOptions } from './intent-store.js';
import { INTENT_INDEX_FORMAT, loadLegacyGraph, readLegacyIndex } from './legacy-index.js';
import { setOwn } from './schema.js';
import { applyChange, BaseIntentStore, type GraphChange, type GraphState, type IntentStoreOptions } from './store.js';
import type { Edge, StorableIntent } from './types.js';
import { validateEdge, validateGraph, validateIntent } from './validate.js';

/** Key of the previous release's index document, read once to migrate it (the layout's `DEFAULT_INTENT_INDEX_KEY`). */
export { DEFAULT_INTENT_INDEX_KEY, INTENT_INDEX_FORMAT, DEFAULT_INTENT_GRAPH_BASE };

/** `format` of the roll-forward record of a replace. */
export const INTENT_REPLACE_FORMAT = 'archive-storage/intent-graph-replace';

/** Earlier versions of each intent kept in its reference's history. */
export const INTENT_HISTORY_VERSIONS = MAX_KEEP_VERSIONS;

/** Earlier edge lists kept in the history of `<base>/edges`. */
export const EDGE_LIST_HISTORY_VERSIONS = 32;

/** Options of {@link openArchiveIntentStore}. */
export interface ArchiveIntentStoreOptions extends IntentStoreOptions {
  archive: ContentArchive;
  /**
   * The graph's reference base (default `intent-graph`): its references are
   * `<graph>/intents/…`, `<graph>/edges`, `<graph>/replace`. Use one per
   * graph to keep several in one archive.
   */
  graph?: string;
  /**
   * Where the previous release kept this graph's index (default
   * `intent-graph/index.json`); found there, it is migrated on open. Given
   * without `graph`, the graph's base is `intent-graph/graphs/<segment of it>`.
   */
  indexKey?: string;
  /** Objects read in parallel when loading (default 16). */
  concurrency?: number;
  /**
   * The caller is the only writer of the storage (see `openReferences`).
   * Unset: true on an adapter with neither compare-and-swap nor a lock
   * (S3 with `writers: 'single'`), otherwise false. `false` refuses such an
   * adapter with `CONDITIONAL_WRITES_UNSUPPORTED`.
   */
  singleWriter?: boolean;
  signal?: AbortSignal;
}

/** An archive-backed {@link IntentStore}. */
export interface ArchiveIntentStore extends IntentStore {
  readonly kind: 'archive';
  /** The graph's reference base. */
  readonly graph: string;
  /** Where the previous release's index of this graph was (migrated on open, then deleted). */
  readonly indexKey: string;
  /** The hash of every object the current graph uses (every intent's current version and the edge list). */
  referencedHashes(): string[];
  /** The hash of the current version of an intent, or undefined. */
  hashOf(id: string): string | undefined;
  /** The reference name holding the versions of intent `id`: `refs.history(name)` lists them. */
  referenceOf(id: string): string;
  /** Every retained version of intent `id`, newest first (deletions have `hash: null`); `[]` if never stored. */
  history(id: string, options?: StoreCallOptions): Promise<ReferenceVersion[]>;
}

/** Which references a graph state corresponds to. */
interface Heads {
  intents: Map<string, string>;
  edges: string | undefined;
}

const RETRIES_AFTER_GC = 3;

/**
 * References for the graph. On an adapter with neither compare-and-swap nor
 * a lock (S3 with `writers: 'single'`, the CLI's read-only view) the store is
 * single-writer, as the intent store always was there, rather than refused:
 * such an adapter's owner has declared one writer already.
 */
function referencesOf(archive: ContentArchive, options: ReferencesOptions): References {
  try {
    return openReferences(archive, options);
  } catch (e) {
    if (isArchiveStorageError(e) && e.code === 'CONDITIONAL_WRITES_UNSUPPORTED' && options.singleWriter === undefined) return openReferences(archive, { ...options, singleWriter: true });
    throw e;
  }
}

class ArchiveStore extends BaseIntentStore implements ArchiveIntentStore {
  readonly kind = 'archive' as const;
  readonly graph: string;
  private heads: Heads = { intents: new Map(), edges: undefined };
  private readonly names: GraphNames;
  private readonly intentRefs: References;
  private readonly edgeRefs: References;
  private readonly replaceRefs: References;

  constructor(
    private readonly archive: ContentArchive,
    readonly indexKey: string,
    graph: string,
    private readonly concurrency: number,
    options: ArchiveIntentStoreOptions,
  ) {
    super(options);
    this.names = graphNames(graph);
    this.graph = graph;
    const refs = (keepVersions: number) => referencesOf(archive, { singleWriter: options.singleWriter, keepVersions });
    this.intentRefs = refs(INTENT_HISTORY_VERSIONS);
    this.edgeRefs = refs(EDGE_LIST_HISTORY_VERSIONS);
    // Once a replace is done its record is garbage: no history keeps it.
    this.replaceRefs = refs(0);
  }

  referencedHashes(): string[] {
    const out = new Set(this.heads.intents.values());
    if (this.heads.edges !== undefined) out.add(this.heads.edges);
    return [...out];
  }

  hashOf(id: string): string | undefined {
    return this.heads.intents.get(id);
  }

  referenceOf(id: string): string {
    return this.names.intent(id);
  }

  async history(id: string, options?: StoreCallOptions): Promise<ReferenceVersion[]> {
    this.enter(options);
    if (typeof id !== 'string') throw new InvalidArgumentError(`an intent id must be a string, got ${typeof id}`);
    return this.intentRefs.history(this.names.intent(id), options);
  }

  // ------------------------------------------------------------- loading

  protected async load(signal: AbortSignal | undefined): Promise<GraphState> {
    const pending = await this.replaceRefs.get(this.names.replace, { signal });
    if (pending) await this.rollForward(pending.hash, signal);
    const legacy = await readLegacyIndex(this.archive, this.indexKey, signal);
    if (legacy) {
      // Migration: the references first, the index last (a kill in between migrates again, to the same hashes).
      const state = await loadLegacyGraph(this.archive, legacy, this.limits, this.concurrency, signal);
      await this.replace(state, signal);
      await this.archive.adapter.delete(this.indexKey);
    }
    const { state, heads } = await this.readGraph(signal);
    this.heads = heads;
    return state;
  }

  /** Lists the graph's references and loads every object they name, verified (hash, shape, id). */
  private async readGraph(signal: AbortSignal | undefined): Promise<{ state: GraphState; heads: Heads }> {
    const present = await this.presentIntents(signal);
    const loaded = await mapLimit(
      [...present],
      this.concurrency,
      async ([segment, ref]) => {
        const known = idOfSegment(segment);
        const intent = validateIntent(await this.archive.get(ref.hash, { signal }), { ...this.limits, path: ['intents', known ?? segment] });
        if (intentSegment(intent.intent_id) !== segment) {
          throw new InvalidBackupError(formatJsonPath(['intents', known ?? segment]), `reference ${JSON.stringify(ref.name)} names object ${ref.hash}, which holds intent ${JSON.stringify(intent.intent_id)}, not the one its name stands for`);
        }
        return [intent, ref.hash] as const;
      },
      signal,
    );
    const intents = new Map<string, StorableIntent>();
    const heads: Heads = { intents: new Map(), edges: undefined };
    for (const [intent, hash] of loaded) {
      intents.set(intent.intent_id, intent);
      heads.intents.set(intent.intent_id, hash);
    }
    let edges: Edge[] = [];
    const edgeRef = await this.edgeRefs.get(this.names.edges, { signal });
    if (edgeRef) {
      edges = this.edgeList(await this.archive.get(edgeRef.hash, { signal }), `reference ${JSON.stringify(this.names.edges)} (object ${edgeRef.hash})`);
      heads.edges = edgeRef.hash;
    }
    return { state: { intents, edges }, heads };
  }

  /** The present intent references, by segment; a name under the prefix this scheme never writes is refused, not skipped. */
  private async presentIntents(signal: AbortSignal | undefined): Promise<Map<string, Reference>> {
    const out = new Map<string, Reference>();
    for await (const ref of this.intentRefs.list({ prefix: this.names.intentsPrefix, signal })) {
      const segment = ref.name.slice(this.names.intentsPrefix.length);
      if (segment.includes('/') || (idOfSegment(segment) === undefined && !/^~~[0-9a-f]{64}$/.test(segment))) {
        throw new InvalidBackupError('$', `reference ${JSON.stringify(ref.name)} is not an intent name of graph ${JSON.stringify(this.graph)} (docs/format.md, "Intent graph on references v2"); nothing was changed`);
      }
      out.set(segment, ref);
    }
    return out;
  }

  /** An edge-list object, validated. */
  private edgeList(value: unknown, where: string): Edge[] {
    if (!Array.isArray(value)) throw new InvalidBackupError('$.edges', `${where}: expected an array of edges`);
    return value.map((e, i) => validateEdge(e, { ...this.limits, path: ['edges', i] }));
  }

  /** Completes the replace whose record is `hash` (idempotent: a second run writes nothing). */
  private async rollForward(hash: string, signal: AbortSignal | undefined): Promise<void> {
    const where = `replace record ${hash} (reference ${JSON.stringify(this.names.replace)})`;
    const record = (await this.archive.get(hash, { signal })) as Record<string, unknown> | null;
    if (typeof record !== 'object' || record === null || Array.isArray(record) || record.format !== INTENT_REPLACE_FORMAT) {
      throw new InvalidBackupError('$.format', `${where} is not an intent-graph replace record (format ${INTENT_REPLACE_FORMAT}); nothing was changed`);
    }
    if (record.version !== 1) throw new UnsupportedVersionError(String(record.version), `${where} has version ${JSON.stringify(record.version)}; this release reads version 1; nothing was changed`);
    const { graph } = validateGraph({ intents: record.intents, edges: record.edges }, this.limits);
    const intents = new Map<string, StorableIntent>();
    for (const id of Object.keys(graph.intents)) intents.set(id, graph.intents[id]!);
    await this.replace({ intents, edges: graph.edges }, signal, hash);
  }

  // ------------------------------------------------------------- changes

  protected async persist(change: GraphChange, signal: AbortSignal | undefined): Promise<() => void> {
    const heads: Heads = { intents: new Map(this.heads.intents), edges: this.heads.edges };
    switch (change.type) {
      case 'putIntent': {
        const id = change.intent.intent_id;
        heads.intents.set(id, await this.setTo(this.intentRefs, this.names.intent(id), this.heads.intents.get(id) ?? null, change.intent, signal));
        break;
      }
      case 'deleteIntent':
        await this.intentRefs.delete(this.names.intent(change.id), { expected: this.heads.intents.get(change.id), signal });
        heads.intents.delete(change.id);
        break;
      case 'addEdge':
      case 'deleteEdge': {
        const next: GraphState = { intents: this.state.intents, edges: [...this.state.edges] };
        applyChange(next, change);
        if (next.edges.length) heads.edges = await this.setTo(this.edgeRefs, this.names.edges, this.heads.edges ?? null, next.edges, signal);
        else {
          // No edges: no edge-list object (docs/format.md: absent means none).
          await this.edgeRefs.delete(this.names.edges, { expected: this.heads.edges, signal });
          heads.edges = undefined;
        }
        break;
      }
      case 'replace': {
        const done = await this.replace(change.state, signal);
        heads.intents = done.intents;
        heads.edges = done.edges;
        break;
      }
    }
    return () => {
      this.heads = heads;
    };
  }

  /**
   * Puts `value` and moves `name` to it from `expected` (compare-and-set).
   * A concurrent gc may take the object between the put and the set
   * (references refuse with `NOT_FOUND` then): put it again and retry.
   */
  private async setTo(refs: References, name: string, expected: string | null | undefined, value: unknown, signal: AbortSignal | undefined): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const hash = await this.archive.put(value, { signal });
      try {
        if (expected === undefined) await refs.set(name, hash, { signal });
        else await refs.compareAndSet(name, expected, hash, { signal });
        return hash;
      } catch (e) {
        if (!(isArchiveStorageError(e) && e.code === 'NOT_FOUND' && attempt < RETRIES_AFTER_GC)) throw e;
      }
    }
  }

  /**
   * Replaces the graph's references with `state`, all or nothing across a
   * kill: the self-contained record first (from then on the replace has
   * happened), then every reference, then the record's reference deleted
   * and the record itself. `pending`: the record of an interrupted replace
   * being rolled forward.
   */
  private async replace(state: GraphState, signal: AbortSignal | undefined, pending?: string): Promise<Heads> {
    const intents: Record<string, StorableIntent> = {};
    for (const [id, intent] of state.intents) setOwn(intents, id, intent);
    // `id` makes every record its own object, so that deleting ours once done can never take another replace's.
    const record = { format: INTENT_REPLACE_FORMAT, version: 1, id: randomId(), intents, edges: state.edges };
    const list = [...state.intents.values()];
    // One durability barrier for every object the references will name; then the record makes the replace happen.
    const hashes = await this.archive.putMany(state.edges.length ? [...list, state.edges] : list, { signal });
    const heads: Heads = { intents: new Map(list.map((intent, i) => [intent.intent_id, hashes[i]!])), edges: state.edges.length ? hashes[list.length] : undefined };
    const present = await this.presentIntents(signal);
    const wanted = new Map(list.map((intent) => [intentSegment(intent.intent_id), intent]));
    const edgesNow = (await this.edgeRefs.get(this.names.edges, { signal }))?.hash;
    const same =
      present.size === wanted.size &&
      list.every((intent) => present.get(intentSegment(intent.intent_id))?.hash === heads.intents.get(intent.intent_id)) &&
      edgesNow === heads.edges;
    if (same && pending === undefined && !(await this.replaceRefs.get(this.names.replace, { signal }))) {
      // Nothing would change (a restore of the graph the references hold already): write nothing, not even a record.
      return heads;
    }
    // Rolling forward, the record is there already (`pending`): complete that one.
    const recordHash = pending ?? (await this.setTo(this.replaceRefs, this.names.replace, undefined, record, signal));
    await mapLimit(
      list,
      this.concurrency,
      async (intent) => {
        const name = this.names.intent(intent.intent_id);
        if (present.get(intentSegment(intent.intent_id))?.hash !== heads.intents.get(intent.intent_id)) await this.setTo(this.intentRefs, name, undefined, intent, signal);
      },
      signal,
    );
    await mapLimit(
      [...present.keys()].filter((segment) => !wanted.has(segment)),
      this.concurrency,
      async (segment) => {
        await this.intentRefs.delete(this.names.intentsPrefix + segment, { signal });
      },
      signal,
    );
    const edgeRef = await this.edgeRefs.get(this.names.edges, { signal });
    if (edgeRef?.hash !== heads.edges) {
      if (state.edges.length) await this.setTo(this.edgeRefs, this.names.edges, undefined, state.edges, signal);
      else await this.edgeRefs.delete(this.names.edges, { signal });
    }
    await this.replaceRefs.delete(this.names.replace, { signal });
    // The record is this replace's own (its id) and nothing keeps it now: remove it rather than leave it for gc.
    await this.archive.delete(recordHash, { signal }).catch(() => {}); // left behind, it is gc's
    return heads;
  }

  // ------------------------------------------------------------- checks

  protected override async check(signal: AbortSignal | undefined): Promise<string[]> {
    const problems: string[] = [];
    const mine = this.heads;
    try {
      if (await this.replaceRefs.get(this.names.replace, { signal })) problems.push(`a replace of graph ${JSON.stringify(this.graph)} is pending (interrupted?); reopen the store to complete it`);
      if (await this.archive.adapter.has(this.indexKey, { signal })) problems.push(`index ${JSON.stringify(this.indexKey)} of the previous release is there again; reopen the store to migrate it`);
      const present = await this.presentIntents(signal);
      const edgeRef = await this.edgeRefs.get(this.names.edges, { signal });
      const stored = new Map([...present.values()].map((r) => [r.name, r.hash]));
      const differs =
        stored.size !== mine.intents.size ||
        [...mine.intents].some(([id, h]) => stored.get(this.names.intent(id)) !== h) ||
        (edgeRef?.hash ?? undefined) !== mine.edges;
      if (differs) problems.push(`the references of graph ${JSON.stringify(this.graph)} differ from what this store holds (changed by another writer?); reopen the store to see them`);
    } catch (e) {
      if (!isArchiveStorageError(e) || e.code === 'ABORTED') throw e;
      problems.push(`the references of graph ${JSON.stringify(this.graph)} cannot be read: ${e.message}`);
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
 * Opens the intent graph kept in `options.archive` under the references of
 * `options.graph` (default `intent-graph`); none is an empty graph. Loading
 * completes a replace a kill interrupted, migrates the previous release's
 * index if there is one, and reads every object the references name,
 * verified (hash and shape): a damaged object fails the open with
 * `CorruptObjectError`, a missing one with `NotFoundError`.
 */
export async function openArchiveIntentStore(options: ArchiveIntentStoreOptions): Promise<ArchiveIntentStore> {
  const indexKey = options.indexKey ?? DEFAULT_INTENT_INDEX_KEY;
  const graph = options.graph ?? (indexKey === DEFAULT_INTENT_INDEX_KEY ? DEFAULT_INTENT_GRAPH_BASE : baseForIndexKey(indexKey));
  const store = new ArchiveStore(options.archive, indexKey, graph, options.concurrency ?? 16, options);
  await store.open(options.signal);
  return store;
}
