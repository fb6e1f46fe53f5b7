/**
 * The k-way merge behind listing and run merges: sorted streams of cells,
 * highest priority first (the journal tail, then the runs newest first); for
 * each hash the first stream that has it wins. k stays small (under ~30
 * runs), so the smallest head is found by a linear pass.
 *
 * @module
 */
import type { Cell } from './codec.js';

/** Merges `streams` (each in strictly increasing hash order) into one, newest winning. */
export async function* mergeCells(streams: readonly AsyncIterable<Cell>[]): AsyncGenerator<Cell> {
  const its = streams.map((s) => s[Symbol.asyncIterator]());
  const heads: (Cell | undefined)[] = await Promise.all(its.map(async (it) => (await it.next()).value as Cell | undefined));
  try {
    for (;;) {
      let min: string | undefined;
      for (const h of heads) if (h && (min === undefined || h.hash < min)) min = h.hash;
      if (min === undefined) return;
      let winner: Cell | undefined;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (!h || h.hash !== min) continue;
        winner ??= h;
        const next = await its[i]!.next();
        heads[i] = next.done ? undefined : next.value;
      }
      yield winner!;
    }
  } finally {
    await Promise.all(its.map((it) => it.return?.()));
  }
}

/** A sorted array of cells as a stream. */
export async function* arrayCells(cells: readonly Cell[]): AsyncGenerator<Cell> {
  yield* cells;
}
