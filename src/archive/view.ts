/**
 * What one handle sees of the index: the runs of its current root, with the
 * *tail* on top — per hash, what the journal not folded yet and the handle's
 * own writes change against the runs (a record the runs lack, or the removal
 * of one they hold). The tail is bounded by the compaction thresholds, so the
 * handle never holds the index itself.
 *
 * @module
 */
import type { IndexRecord } from './index-file.js';
import type { FoldChange } from './fold.js';
import type { ArchiveStats } from './types.js';
import type { Cell } from './v2/codec.js';
import type { IndexEngine } from './v2/engine.js';
import { arrayCells, BatchStream, mergeCells, type CellStream } from './v2/merge.js';

/** A live entry of the index: a cell that is not a tombstone. */
export type LiveCell = Cell & { rec: IndexRecord };

/** See the module doc. */
export class IndexView {
  private tail = new Map<string, FoldChange>();
  /** The root bytes the tail's `base` values were read against. */
  private tailRoot: Uint8Array | undefined;

  constructor(private readonly engine: IndexEngine) {}

  /** Starts a new tail (after a fold: empty; after open: the journal's changes). */
  reset(changes: Map<string, FoldChange>): void {
    this.tail = changes;
    this.tailRoot = this.engine.rootBytes;
  }

  /** Number of hashes in the tail. */
  get tailSize(): number {
    return this.tail.size;
  }

  /** The live record of each of `hashes` as this handle sees it. */
  async getMany(hashes: readonly string[], signal?: AbortSignal): Promise<(IndexRecord | undefined)[]> {
    const out: (IndexRecord | undefined)[] = new Array(hashes.length);
    const ask: number[] = [];
    hashes.forEach((h, i) => {
      const t = this.tail.get(h);
      if (t) out[i] = t.rec === null ? undefined : (t.base ?? t.rec);
      else ask.push(i);
    });
    const found = await this.engine.lookupMany(ask.map((i) => hashes[i]!), signal);
    ask.forEach((i, n) => (out[i] = found[n]));
    return out;
  }

  /**
   * Books a put this handle committed. `seen` is what {@link getMany} gave for
   * it before the commit: a hash already indexed keeps its first stored time.
   */
  notePut(hash: string, rec: IndexRecord, seen: IndexRecord | undefined): void {
    if (seen) return;
    const t = this.tail.get(hash);
    this.tail.set(hash, { rec, base: t?.base });
  }

  /** Books a delete this handle committed; `seen` as for {@link notePut}. */
  noteDelete(hash: string, seen: IndexRecord | undefined): void {
    const t = this.tail.get(hash);
    const base = t ? t.base : seen;
    if (base) this.tail.set(hash, { rec: null, base });
    else this.tail.delete(hash);
  }

  /**
   * Re-reads the tail's `base` values when the root moved on under it (another
   * writer's merge). The lookups await: a fold may replace the tail meanwhile
   * (then this starts again on the new one), and puts and deletes may change
   * it (entries noted meanwhile are kept as noted; a hash that left it is not
   * brought back).
   */
  private async rebase(signal?: AbortSignal): Promise<void> {
    while (this.tailRoot !== this.engine.rootBytes) {
      const tail = this.tail;
      const root = this.engine.rootBytes;
      const hashes = [...tail.keys()];
      const bases = await this.engine.lookupMany(hashes, signal);
      if (this.tail !== tail || this.engine.rootBytes !== root) continue;
      const next = new Map<string, FoldChange>();
      const asked = new Set(hashes);
      hashes.forEach((h, i) => {
        const t = tail.get(h);
        if (!t) return;
        const base = bases[i];
        if (t.rec ? !base : base) next.set(h, { rec: t.rec, base });
      });
      for (const [h, t] of tail) if (!asked.has(h)) next.set(h, t);
      this.tail = next;
      this.tailRoot = root;
    }
  }

  /** `stats()`: the root's totals, adjusted by the tail. */
  async stats(signal?: AbortSignal): Promise<ArchiveStats> {
    await this.rebase(signal);
    let { count, bytes, oldest, newest } = this.engine.root;
    for (const { rec, base } of this.tail.values()) {
      if (rec && !base) {
        count++;
        bytes += rec.size;
        if (oldest === null || rec.storedAt < oldest) oldest = rec.storedAt;
        if (newest === null || rec.storedAt > newest) newest = rec.storedAt;
      } else if (!rec && base) {
        count--;
        bytes -= base.size;
      }
    }
    const out: ArchiveStats = { count, bytes };
    if (count > 0 && oldest !== null) out.oldest = oldest;
    if (count > 0 && newest !== null) out.newest = newest;
    return out;
  }

  /**
   * Live entries with `from <= hash < to`, in hash order: the runs merged with
   * the tail, one page per run in memory. Handed out a page's worth at a time
   * (see merge.ts), so iterating costs no promise chain per entry below this.
   */
  entries(from = '', to?: string, signal?: AbortSignal): CellStream<LiveCell> {
    let src: CellStream | undefined;
    const pull = async (): Promise<LiveCell[] | undefined> => {
      if (!src) {
        await this.rebase(signal);
        const tail: Cell[] = [];
        for (const [hash, { rec, base }] of this.tail) {
          if (hash < from || (to !== undefined && hash >= to)) continue;
          if (rec === null) tail.push({ hash, rec: null });
          else if (!base) tail.push({ hash, rec });
        }
        tail.sort((a, b) => (a.hash < b.hash ? -1 : 1));
        const runs = this.engine.scan(from, to, signal);
        src = mergeCells(tail.length ? [arrayCells(tail), runs] : [runs]);
      }
      for (;;) {
        const batch = await src.nextBatch();
        if (batch === undefined) return undefined;
        let live = 0;
        while (live < batch.length && batch[live]!.rec) live++;
        if (live === batch.length) return batch as LiveCell[];
        // Tombstones (deletes not merged away yet) are dropped.
        const out = batch.slice(0, live) as LiveCell[];
        for (let i = live + 1; i < batch.length; i++) if (batch[i]!.rec) out.push(batch[i] as LiveCell);
        if (out.length) return out;
      }
    };
    return new BatchStream(pull, () => src?.return());
  }
}
