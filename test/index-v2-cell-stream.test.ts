// The batch helpers of src/archive/v2/merge.ts that the listing and run merges go through:
// mapCells (archive.list/entries: items answered from the batch in hand) and forEachCell (a
// merge into a run writer: an await only where the callback returns a promise). Each is checked
// against a plain for-await over the same stream, whatever the batch sizes, and for what it does
// when the reader stops early, the stream fails, the callback fails, or the signal aborts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbortError } from '../src/errors.js';
import type { Cell } from '../src/archive/v2/codec.js';
import { BatchStream, forEachCell, mapCells, type CellStream } from '../src/archive/v2/merge.js';

const hashOf = (n: number) => n.toString(16).padStart(64, '0');
const cellsOf = (n: number): Cell[] => Array.from({ length: n }, (_, i) => ({ hash: hashOf(i), rec: { size: i, storedAt: i } }));

/** `cells` in batches of the given sizes (cycled); `closed` counts close calls; `failAt` fails the batch holding that index. */
function batched(cells: Cell[], sizes: number[], failAt = -1): { stream: CellStream; closed: () => number } {
  let at = 0;
  let k = 0;
  let closed = 0;
  const stream = new BatchStream(
    async () => {
      if (at >= cells.length) return undefined;
      const n = Math.max(1, sizes[k++ % sizes.length]!);
      if (failAt >= at && failAt < at + n) throw new Error('piece unreadable');
      const b = cells.slice(at, at + n);
      at += n;
      return b;
    },
    () => {
      closed++;
    },
  );
  return { stream, closed: () => closed };
}

describe('mapCells', () => {
  it('gives every cell mapped, in order, whatever the batch sizes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 300 }), fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 5 }), async (n, sizes) => {
        const cells = cellsOf(n);
        const got: string[] = [];
        for await (const h of mapCells(batched(cells, sizes).stream, (c) => c.hash)) got.push(h);
        expect(got).toEqual(cells.map((c) => c.hash));
      }),
      { numRuns: 60 },
    );
  });

  it('closes the stream when the reader breaks off, once', async () => {
    const s = batched(cellsOf(100), [7]);
    let seen = 0;
    for await (const _ of mapCells(s.stream, (c) => c.hash)) if (++seen === 10) break;
    expect(seen).toBe(10);
    expect(s.closed()).toBe(1);
  });

  it('passes the stream’s error on, after the cells before it', async () => {
    const s = batched(cellsOf(50), [10], 25);
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const h of mapCells(s.stream, (c) => c.hash)) got.push(h);
      })(),
    ).rejects.toThrow('piece unreadable');
    expect(got).toEqual(cellsOf(20).map((c) => c.hash));
  });

  it('rejects with ABORTED once the signal aborts, and releases the stream', async () => {
    const s = batched(cellsOf(100), [30]);
    const ac = new AbortController();
    let seen = 0;
    const err = await (async () => {
      for await (const _ of mapCells(s.stream, (c) => c.hash, ac.signal)) if (++seen === 5) ac.abort();
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).code).toBe('ABORTED');
    expect(seen).toBe(5);
    expect(s.closed()).toBe(1);
  });

  it('a throwing map function rejects that item and releases the stream', async () => {
    const s = batched(cellsOf(10), [4]);
    const it = mapCells(s.stream, (c) => {
      if (c.hash === hashOf(2)) throw new Error('bad cell');
      return c.hash;
    });
    expect((await it.next()).value).toBe(hashOf(0));
    expect((await it.next()).value).toBe(hashOf(1));
    await expect(it.next()).rejects.toThrow('bad cell');
    expect(s.closed()).toBe(1);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });
});

describe('forEachCell', () => {
  it('calls back for every cell in order and waits for each promise it is given before the next cell', async () => {
    const cells = cellsOf(120);
    const order: string[] = [];
    let pending = 0;
    await forEachCell(batched(cells, [13, 50]).stream, (c) => {
      expect(pending).toBe(0); // the previous promise was awaited before this call
      order.push(c.hash);
      if (order.length % 10 !== 0) return undefined;
      pending++;
      return new Promise<void>((r) => setTimeout(() => (pending--, r()), 1));
    });
    expect(order).toEqual(cells.map((c) => c.hash));
  });

  it('a failing callback stops the walk and releases the stream', async () => {
    const s = batched(cellsOf(100), [16]);
    let calls = 0;
    await expect(
      forEachCell(s.stream, async () => {
        if (++calls === 20) throw new Error('write failed');
      }),
    ).rejects.toThrow('write failed');
    expect(calls).toBe(20);
    expect(s.closed()).toBe(1);
  });
});
