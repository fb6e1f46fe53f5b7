/**
 * The machinery every `IntentStore` implementation shares (the interface
 * itself is in `intent-store.ts`).
 *
 * Every store keeps the whole graph in memory (reads are served from there)
 * and differs only in how a change is made durable. A change is persisted
 * first and applied to memory only once the backend has it, under one
 * in-process lock, so concurrent calls are serialised, a failed write leaves
 * the store as it was, and what the store shows is what is stored.
 *
 * @module
 */
import { throwIfAborted, ClosedError, InvalidArgumentError, InvalidBackupError, NotFoundError } from '../errors.js';
import { KeyedMutex } from '../internal/mutex.js';
import type { BackupInput, CreateBackupOptions, RestoreOptions, RestoreReport, StorageBackupData } from './backup-types.js';
import type { StoreCallOptions } from './call-options.js';
import { createBackup, restoreBackup } from './document.js';
import type { IntentFilter, IntentStore, StoreHealth } from './intent-store.js';
import { hasOwn, setOwn } from './schema.js';
import { INTENT_STATUSES, U32_MAX, type Edge, type IntentGraph, type IntentStatus, type StorableIntent, type StringMap } from './types.js';
import { validateEdge, validateGraph, validateIntent, type ValidationLimits } from './validate.js';

export type { IntentFilter, IntentStore, StoreCallOptions, StoreHealth };

/** The graph as a store holds it. Intent objects are never handed out, only copies. */
export interface GraphState {
  intents: Map<string, StorableIntent>;
  edges: Edge[];
}

/** One change to a graph, persisted before it is applied. */
export type GraphChange =
  | { type: 'putIntent'; intent: StorableIntent }
  | { type: 'deleteIntent'; id: string }
  | { type: 'addEdge'; edge: Edge }
  | { type: 'deleteEdge'; index: number }
  | { type: 'replace'; state: GraphState };

/** Applies `change` to `state` in place. */
export function applyChange(state: GraphState, change: GraphChange): void {
  switch (change.type) {
    case 'putIntent':
      state.intents.set(change.intent.intent_id, change.intent);
      return;
    case 'deleteIntent':
      state.intents.delete(change.id);
      return;
    case 'addEdge':
      state.edges.push(change.edge);
      return;
    case 'deleteEdge':
      state.edges.splice(change.index, 1);
      return;
    case 'replace':
      state.intents = change.state.intents;
      state.edges = change.state.edges;
  }
}

/** The graph `state` would be after `change`, as a plain {@link IntentGraph} (shares intent objects). */
export function graphAfter(state: GraphState, change: GraphChange | undefined): IntentGraph {
  const next: GraphState = change?.type === 'replace' ? change.state : { intents: new Map(state.intents), edges: [...state.edges] };
  if (change && change.type !== 'replace') applyChange(next, change);
  return stateToGraph(next, false);
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The state as an {@link IntentGraph}, intents sorted by id; `copy` deep-copies every value. */
export function stateToGraph(state: GraphState, copy: boolean): IntentGraph {
  const intents: Record<string, StorableIntent> = {};
  for (const id of [...state.intents.keys()].sort(byCodeUnits)) {
    const intent = state.intents.get(id)!;
    setOwn(intents, id, copy ? cloneIntent(intent) : intent);
  }
  return { intents, edges: copy ? state.edges.map(cloneEdge) : [...state.edges] };
}

/** The state holding `graph` (which must be valid). */
export function graphToState(graph: IntentGraph): GraphState {
  const intents = new Map<string, StorableIntent>();
  for (const id of Object.keys(graph.intents)) intents.set(id, graph.intents[id]!);
  return { intents, edges: [...graph.edges] };
}

function cloneMap(map: StringMap): StringMap {
  const out: StringMap = {};
  for (const k of Object.keys(map)) setOwn(out, k, map[k]!);
  return out;
}

/** A deep copy of a (valid) intent. */
export function cloneIntent(intent: StorableIntent): StorableIntent {
  return {
    ...intent,
    constraints: cloneMap(intent.constraints),
    preferences: cloneMap(intent.preferences),
    child_intents: [...intent.child_intents],
    generation_context: { ...intent.generation_context, input_context: cloneMap(intent.generation_context.input_context) },
    metadata: cloneMap(intent.metadata),
  };
}

/** A deep copy of a (valid) edge. */
export function cloneEdge(edge: Edge): Edge {
  return { ...edge, metadata: edge.metadata === null ? null : cloneMap(edge.metadata) };
}

function mapsEqual(a: StringMap | null, b: StringMap | null): boolean {
  if (a === null || b === null) return a === b;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => hasOwn(b, k) && a[k] === b[k]);
}

/** Edge equality as in CCOS (`#[derive(PartialEq)]`): every field, `null` metadata differs from `{}`. */
export function edgesEqual(a: Edge, b: Edge): boolean {
  return a.from === b.from && a.to === b.to && a.edge_type === b.edge_type && a.weight === b.weight && mapsEqual(a.metadata, b.metadata);
}

/** Runs a validator on API input: its `InvalidBackupError` becomes `InvalidArgumentError` (the path kept in the message and as `cause`). */
function checked<T>(what: string, validate: () => T): T {
  try {
    return validate();
  } catch (e) {
    if (e instanceof InvalidBackupError) throw new InvalidArgumentError(`invalid ${what}: ${e.message}`, { cause: e });
    throw e;
  }
}

function checkId(id: unknown): string {
  if (typeof id !== 'string') throw new InvalidArgumentError(`an intent id must be a string, got ${typeof id}`);
  return id;
}

function checkFilter(filter: IntentFilter | undefined): IntentFilter {
  if (filter === undefined) return {};
  if (typeof filter !== 'object' || filter === null) throw new InvalidArgumentError('list filter must be an object');
  if (filter.status !== undefined && !INTENT_STATUSES.includes(filter.status)) {
    throw new InvalidArgumentError(`filter.status must be one of ${INTENT_STATUSES.join(', ')}, got ${JSON.stringify(filter.status)}`);
  }
  for (const key of ['nameContains', 'goalContains'] as const) {
    if (filter[key] !== undefined && typeof filter[key] !== 'string') throw new InvalidArgumentError(`filter.${key} must be a string`);
  }
  for (const key of ['priorityMin', 'priorityMax'] as const) {
    const v = filter[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > U32_MAX)) {
      throw new InvalidArgumentError(`filter.${key} must be an integer from 0 to ${U32_MAX}, got ${String(v)}`);
    }
  }
  return filter;
}

function matches(intent: StorableIntent, f: IntentFilter): boolean {
  if (f.status !== undefined && intent.status !== f.status) return false;
  if (f.nameContains !== undefined && !(intent.name !== null && intent.name.includes(f.nameContains))) return false;
  if (f.goalContains !== undefined && !intent.goal.includes(f.goalContains)) return false;
  if (f.priorityMin !== undefined && intent.priority < f.priorityMin) return false;
  if (f.priorityMax !== undefined && intent.priority > f.priorityMax) return false;
  return true;
}

/** Options shared by every store factory. */
export interface IntentStoreOptions extends ValidationLimits {}

/**
 * The shared implementation: validation, filtering, the lock, and the
 * persist-then-apply discipline. A subclass says how a change becomes durable
 * ({@link persist}) and how to read the durable graph back ({@link load}).
 */
export abstract class BaseIntentStore implements IntentStore {
  abstract readonly kind: string;
  /** The committed graph. */
  protected state: GraphState = { intents: new Map(), edges: [] };
  private readonly lock = new KeyedMutex();
  /** Set when a persist failed in a way that may or may not have landed: reload before the next change. */
  private stale = false;
  private closed = false;
  protected readonly limits: ValidationLimits;

  protected constructor(options?: IntentStoreOptions) {
    this.limits = { maxStringLength: options?.maxStringLength };
  }

  /**
   * Makes `change` durable. Resolves once the backend has it; may return a
   * callback run right after the change is applied to memory (to update a
   * subclass's own bookkeeping in the same step).
   */
  protected abstract persist(change: GraphChange, signal: AbortSignal | undefined): Promise<void | (() => void)>;
  /** Reads the durable graph (used after a failed persist). */
  protected abstract load(signal: AbortSignal | undefined): Promise<GraphState>;

  protected enter(options?: StoreCallOptions): void {
    if (this.closed) throw new ClosedError(`${this.kind} intent store is closed`);
    throwIfAborted(options?.signal);
  }

  /** Runs `plan` under the lock; the change it returns is persisted, then applied. */
  protected mutate<T>(options: StoreCallOptions | undefined, plan: (state: GraphState) => { change: GraphChange; result: T }): Promise<T> {
    this.enter(options);
    const signal = options?.signal;
    return this.lock.run(
      'mutate',
      async () => {
        this.enter(options);
        if (this.stale) {
          this.state = await this.load(signal);
          this.stale = false;
        }
        const { change, result } = plan(this.state);
        let after: void | (() => void);
        try {
          after = await this.persist(change, signal);
        } catch (e) {
          // An aborted or failed write may still have landed (the adapter contract
          // allows old or new bytes): trust the backend, not memory, next time.
          this.stale = true;
          throw e;
        }
        applyChange(this.state, change);
        after?.();
        return result;
      },
      { signal },
    );
  }

  /** Runs `fn` under the mutation lock (no change). */
  protected exclusive<T>(options: StoreCallOptions | undefined, fn: () => Promise<T>): Promise<T> {
    this.enter(options);
    return this.lock.run('mutate', fn, { signal: options?.signal });
  }

  async store(intent: StorableIntent, options?: StoreCallOptions): Promise<string> {
    const valid = checked('intent', () => validateIntent(intent, this.limits));
    return this.mutate(options, () => ({ change: { type: 'putIntent', intent: valid }, result: valid.intent_id }));
  }

  async get(id: string, options?: StoreCallOptions): Promise<StorableIntent | undefined> {
    this.enter(options);
    const intent = this.state.intents.get(checkId(id));
    return intent && cloneIntent(intent);
  }

  async update(intent: StorableIntent, options?: StoreCallOptions): Promise<void> {
    const valid = checked('intent', () => validateIntent(intent, this.limits));
    await this.mutate(options, (state) => {
      if (!state.intents.has(valid.intent_id)) throw new NotFoundError(`intent ${JSON.stringify(valid.intent_id)} not found; use store() to add it`);
      return { change: { type: 'putIntent', intent: valid }, result: undefined };
    });
  }

  async delete(id: string, options?: StoreCallOptions): Promise<void> {
    checkId(id);
    await this.mutate(options, (state) => {
      if (!state.intents.has(id)) throw new NotFoundError(`intent ${JSON.stringify(id)} not found`);
      return { change: { type: 'deleteIntent', id }, result: undefined };
    });
  }

  async list(filter?: IntentFilter, options?: StoreCallOptions): Promise<StorableIntent[]> {
    this.enter(options);
    const f = checkFilter(filter);
    const out: StorableIntent[] = [];
    for (const intent of this.state.intents.values()) if (matches(intent, f)) out.push(cloneIntent(intent));
    return out.sort((a, b) => byCodeUnits(a.intent_id, b.intent_id));
  }

  async storeEdge(edge: Edge, options?: StoreCallOptions): Promise<void> {
    const valid = checked('edge', () => validateEdge(edge, this.limits));
    await this.mutate(options, () => ({ change: { type: 'addEdge', edge: valid }, result: undefined }));
  }

  async edges(options?: StoreCallOptions): Promise<Edge[]> {
    this.enter(options);
    return this.state.edges.map(cloneEdge);
  }

  async edgesOf(id: string, options?: StoreCallOptions): Promise<Edge[]> {
    this.enter(options);
    checkId(id);
    return this.state.edges.filter((e) => e.from === id || e.to === id).map(cloneEdge);
  }

  async deleteEdge(edge: Edge, options?: StoreCallOptions): Promise<void> {
    const valid = checked('edge', () => validateEdge(edge, this.limits));
    await this.mutate(options, (state) => {
      const index = state.edges.findIndex((e) => edgesEqual(e, valid));
      if (index < 0) throw new NotFoundError(`no edge ${valid.edge_type} ${JSON.stringify(valid.from)} -> ${JSON.stringify(valid.to)} equal to the one given`);
      return { change: { type: 'deleteEdge', index }, result: undefined };
    });
  }

  async snapshot(options?: StoreCallOptions): Promise<IntentGraph> {
    this.enter(options);
    return stateToGraph(this.state, true);
  }

  async replaceAll(graph: IntentGraph, options?: StoreCallOptions): Promise<void> {
    if (typeof graph !== 'object' || graph === null) throw new InvalidArgumentError('replaceAll expects { intents, edges }');
    const state = graphToState(checked('graph', () => validateGraph(graph, this.limits).graph));
    await this.mutate(options, () => ({ change: { type: 'replace', state }, result: undefined }));
  }

  backup(options?: CreateBackupOptions): Promise<StorageBackupData> {
    return createBackup(this, options);
  }

  restore(input: BackupInput, options?: RestoreOptions): Promise<RestoreReport> {
    return restoreBackup(this, input, { ...this.limits, ...options });
  }

  async healthCheck(options?: StoreCallOptions): Promise<StoreHealth> {
    return this.exclusive(options, async () => {
      const problems = await this.check(options?.signal);
      return { ok: problems.length === 0, store: this.kind, intents: this.state.intents.size, edges: this.state.edges.length, problems };
    });
  }

  /** Backend-specific checks, run under the lock; returns problems found. */
  protected async check(_signal: AbortSignal | undefined): Promise<string[]> {
    return [];
  }

  async clear(options?: StoreCallOptions): Promise<void> {
    await this.mutate(options, () => ({ change: { type: 'replace', state: { intents: new Map(), edges: [] } }, result: undefined }));
  }

  async close(): Promise<void> {
    // Wait for a change in flight, so that close() resolving means nothing is still being written.
    await this.lock.run('mutate', async () => {
      this.closed = true;
    });
  }
}
