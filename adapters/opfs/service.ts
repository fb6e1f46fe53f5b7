/**
 * The request loop around a {@link PackEngine}: the same code answers the
 * adapter in a dedicated worker (sync access handles) and on the main thread
 * (the `createWritable` fallback).
 *
 * Requests arrive in groups (every call an adapter received in one microtask
 * travels as one group, one `postMessage`). While a round runs, new groups
 * queue; the next round takes all of them, so the writes of every queued
 * group are committed as ONE batch — one write and one flush — however many
 * callers they came from (group commit), on the shared {@link Batcher}. Reads
 * are answered after the round's commit, so they see it, and after one look
 * at what other tabs committed.
 *
 * @module
 */
import { Batcher } from '../../src/internal/batcher.js';
import { PackEngine, type Change } from './engine.js';

/** One call of the adapter, as sent to the engine. */
export type EngineRequest =
  | { op: 'read'; key: string }
  | { op: 'has'; key: string }
  | { op: 'hasMany'; keys: string[] }
  | { op: 'refresh' }
  | { op: 'put'; key: string; bytes: Uint8Array }
  | { op: 'delete'; key: string }
  | { op: 'append'; key: string; bytes: Uint8Array }
  | { op: 'putMany'; entries: { key: string; bytes: Uint8Array }[] }
  | { op: 'deleteMany'; keys: string[] }
  | { op: 'list'; prefix: string; after: string | undefined; limit: number; fresh: boolean }
  | { op: 'compact' };

/** A failure as it crosses the worker boundary (errors are rebuilt into SDK classes on the other side). */
export interface WireError {
  /** `QUOTA_EXCEEDED` for a DOM quota failure, else `BACKEND_FAILURE`. */
  code: 'QUOTA_EXCEEDED' | 'BACKEND_FAILURE';
  /** Name of the original error (e.g. `NoModificationAllowedError`). */
  name: string;
  message: string;
}

/** The answer to one request. */
export type EngineResult = { ok: true; value?: Uint8Array | boolean | boolean[] | string[] } | { ok: false; error: WireError };

/** Turns any thrown value into a {@link WireError}. */
export function toWireError(error: unknown): WireError {
  const name = (error as { name?: unknown } | null)?.name;
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: name === 'QuotaExceededError' ? 'QUOTA_EXCEEDED' : 'BACKEND_FAILURE',
    name: typeof name === 'string' ? name : 'Error',
    message,
  };
}

const WRITE_OPS = new Set(['put', 'delete', 'append', 'putMany', 'deleteMany']);

type EngineValue = Uint8Array | boolean | boolean[] | string[] | undefined;

interface Group {
  requests: EngineRequest[];
  resolve(results: EngineResult[]): void;
}

/** Serves request groups against one engine, committing each round's writes as one batch. */
export class PackService {
  private closed = false;
  /** One round at a time; a round takes every group that queued while the previous one ran. */
  private readonly rounds = new Batcher<Group>({
    run: async (groups) => {
      await this.round(groups);
      if (this.rounds.pending === 0 && this.engine.wantsCompaction()) {
        // Between rounds only: compaction rewrites segments and must not interleave with a commit.
        await this.engine.compact(false).catch(() => false);
      }
    },
  });

  constructor(readonly engine: PackEngine) {}

  /** Queues a group; resolves one result per request, in order. */
  run(requests: EngineRequest[]): Promise<EngineResult[]> {
    if (this.closed) {
      return Promise.resolve(requests.map(() => ({ ok: false, error: { code: 'BACKEND_FAILURE', name: 'ClosedError', message: 'the OPFS engine is closed' } })));
    }
    return new Promise((resolve) => this.rounds.push({ requests, resolve }));
  }

  private async round(groups: Group[]): Promise<void> {
    const results = groups.map((g) => new Array<EngineResult>(g.requests.length));
    // 1. Every write of every group: one batch.
    const changes: Change[] = [];
    const writers: [number, number][] = [];
    groups.forEach((g, gi) =>
      g.requests.forEach((r, ri) => {
        if (!WRITE_OPS.has(r.op)) return;
        writers.push([gi, ri]);
        if (r.op === 'putMany') for (const e of r.entries) changes.push({ op: 'put', key: e.key, bytes: e.bytes });
        else if (r.op === 'deleteMany') for (const key of r.keys) changes.push({ op: 'delete', key });
        else changes.push(r as Change);
      }),
    );
    if (changes.length > 0) {
      let outcome: EngineResult = { ok: true };
      try {
        await this.engine.commit(changes);
      } catch (error) {
        outcome = { ok: false, error: toWireError(error) };
      }
      for (const [gi, ri] of writers) results[gi]![ri] = outcome;
    }
    // 2. Reads, lists and maintenance, after the commit so they see it.
    const settle = (gi: number, ri: number, p: Promise<EngineValue>) =>
      p.then(
        (value) => void (results[gi]![ri] = value === undefined ? { ok: true } : { ok: true, value }),
        (error: unknown) => void (results[gi]![ri] = { ok: false, error: toWireError(error) }),
      );
    const readers: [number, number, EngineRequest][] = [];
    const compactions: [number, number][] = [];
    groups.forEach((g, gi) =>
      g.requests.forEach((r, ri) => {
        if (WRITE_OPS.has(r.op)) return;
        if (r.op === 'compact') compactions.push([gi, ri]);
        else readers.push([gi, ri, r]);
      }),
    );
    // One look at what other writers (tabs) committed serves every read of the round: a write that resolved
    // anywhere before a read was issued is seen by it. Follow-up pages of a list need no new look.
    if (readers.some(([, , r]) => r.op !== 'list' || r.fresh)) {
      try {
        await this.engine.refresh();
      } catch (error) {
        for (const [gi, ri] of readers) results[gi]![ri] = { ok: false, error: toWireError(error) };
        readers.length = 0;
      }
    }
    await Promise.all(readers.map(([gi, ri, r]) => settle(gi, ri, this.answer(r))));
    // 3. Compaction last and alone: it rewrites segments the reads above may be reading.
    for (const [gi, ri] of compactions) await settle(gi, ri, this.engine.compact());
    groups.forEach((g, gi) => g.resolve(results[gi]!));
  }

  private async answer(r: EngineRequest): Promise<EngineValue> {
    switch (r.op) {
      case 'read':
        return this.engine.read(r.key);
      case 'has':
        return this.engine.has(r.key);
      case 'hasMany':
        return this.engine.hasMany(r.keys);
      case 'refresh':
        return undefined; // the round refreshed before answering
      case 'list':
        return this.engine.listPage(r.prefix, r.after, r.limit);
      default:
        throw new Error(`unknown request ${(r as { op: string }).op}`);
    }
  }

  /** Waits for queued work, then releases the engine. */
  async close(): Promise<void> {
    this.closed = true;
    await this.rounds.whenIdle();
    this.engine.close();
  }
}
