// Index v2's read path. The page scanner (codec.ts decodePage's fast path) against the general
// JSON decoder: the same page for what encodePage writes, the same verdict for any damage.
// The k-way merge (src/archive/v2/merge.ts) against a plain reference: for each hash
// the first stream that has it wins, in hash order, whatever the streams' batch sizes, whether
// they are batch streams or plain async iterables, and however the reader pulls (by batch or by
// cell, breaking off early). Plus `resumable`, which reopens a failed scan after the last hash given.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptIndexError } from '../src/errors.js';
import { sha256Hex } from '../src/hash.js';
import { Bloom, bloomBits } from '../src/archive/v2/bloom.js';
import { decodePage, decodePageJson, encodePage, type Cell, type PageRef } from '../src/archive/v2/codec.js';
import { arrayCells, BatchStream, mergeCells, resumable, type CellStream } from '../src/archive/v2/merge.js';

const hashOf = (n: number) => n.toString(16).padStart(64, '0');
const cell = (n: number, tag: number): Cell => (tag < 0 ? { hash: hashOf(n), rec: null } : { hash: hashOf(n), rec: { size: tag, storedAt: n } });

/** A sorted stream of `cells` in batches of the given sizes (cycled). */
function batched(cells: Cell[], sizes: number[]): CellStream {
  let at = 0;
  let k = 0;
  return new BatchStream(async () => {
    if (at >= cells.length) return undefined;
    const n = Math.max(1, sizes[k++ % sizes.length]!);
    const b = cells.slice(at, at + n);
    at += n;
    return b;
  });
}

async function* plain(cells: Cell[]): AsyncGenerator<Cell> {
  for (const c of cells) {
    await null;
    yield c;
  }
}

function reference(streams: Cell[][]): Cell[] {
  const won = new Map<string, Cell>();
  for (const s of streams) for (const c of s) if (!won.has(c.hash)) won.set(c.hash, c);
  return [...won.values()].sort((a, b) => (a.hash < b.hash ? -1 : 1));
}

const streamArb = fc.record({
  // distinct numbers, made sorted; the tag tells the streams apart (and -1 = tombstone)
  ns: fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 120 }),
  tomb: fc.boolean(),
  sizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
  kind: fc.constantFrom('batched', 'plain', 'array'),
});

describe('index v2 k-way merge', () => {
  it('gives the first stream’s cell for every hash, in hash order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(streamArb, { maxLength: 7 }), fc.constantFrom('batch', 'cell', 'mixed'), async (specs, pull) => {
        const inputs = specs.map((s, i) => [...s.ns].sort((a, b) => a - b).map((n) => cell(n, s.tomb && n % 5 === 0 ? -1 : i)));
        const streams = specs.map((s, i) => (s.kind === 'batched' ? batched(inputs[i]!, s.sizes) : s.kind === 'plain' ? plain(inputs[i]!) : arrayCells(inputs[i]!)));
        const m = mergeCells(streams);
        const got: Cell[] = [];
        for (let turn = 0; ; turn++) {
          if (pull === 'batch' || (pull === 'mixed' && turn % 2)) {
            const b = await m.nextBatch();
            if (!b) break;
            expect(b.length).toBeGreaterThan(0);
            got.push(...b);
          } else {
            const r = await m.next();
            if (r.done) break;
            got.push(r.value);
          }
        }
        expect(got).toEqual(reference(inputs));
      }),
      { numRuns: 400 },
    );
  });

  it('closes every input when the reader stops early', async () => {
    let closed = 0;
    const input = (from: number) =>
      new BatchStream(
        async () => [cell(from, 0), cell(from + 10, 0)],
        () => void closed++,
      );
    const m = mergeCells([input(1), input(2), arrayCells([cell(3, 0)])]);
    for await (const c of m) {
      expect(c.hash).toBe(hashOf(1));
      break;
    }
    expect(closed).toBe(2);
  });

  it('passes an input’s error on', async () => {
    const bad = new BatchStream(async () => {
      throw new Error('page gone');
    });
    await expect(mergeCells([arrayCells([cell(1, 0)]), bad]).nextBatch()).rejects.toThrow('page gone');
  });

  it('resumable reopens after the last hash given when retry says so, else rethrows', async () => {
    const all = Array.from({ length: 50 }, (_, i) => cell(i, 0));
    let opens = 0;
    const seen: [string, boolean][] = [];
    const s = resumable(
      '',
      (at, inclusive) => {
        seen.push([at, inclusive]);
        const from = all.findIndex((c) => (inclusive ? c.hash >= at : c.hash > at));
        const mine = opens++;
        let given = 0;
        return new BatchStream(async () => {
          if (mine < 2 && given === 1) throw new Error(`lost ${mine}`);
          const b = all.slice(from + given * 7, from + (given + 1) * 7);
          given++;
          return b.length ? b : undefined;
        });
      },
      async (_e, attempt) => attempt < 3,
    );
    const got: Cell[] = [];
    for await (const c of s) got.push(c);
    expect(got).toEqual(all);
    expect(seen).toEqual([
      ['', true],
      [hashOf(6), false],
      [hashOf(13), false],
    ]);
    const failing = resumable(
      '',
      () =>
        new BatchStream(async () => {
          throw new Error('for good');
        }),
      async (_e, attempt) => attempt < 2,
    );
    await expect(failing.nextBatch()).rejects.toThrow('for good');
  });
});

describe('index v2 page decoding', () => {
  const pageArb = fc
    .uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 60 })
    .chain((ns) =>
      fc.tuple(
        fc.constant([...ns].map((n) => sha256Hex(`p${n}`)).sort()),
        fc.array(fc.option(fc.tuple(fc.oneof(fc.nat(), fc.constant(0), fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: 1e14, max: Number.MAX_SAFE_INTEGER })), fc.nat()), { nil: null }), {
          minLength: ns.length,
          maxLength: ns.length,
        }),
      ),
    )
    .map(([hashes, recs]) => hashes.map((hash, i): Cell => ({ hash, rec: recs[i] ? { size: recs[i]![0], storedAt: recs[i]![1] } : null })));

  const refOf = (cells: Cell[]): PageRef => [cells[0]!.hash, cells[cells.length - 1]!.hash, cells.length, ''];
  const verdict = (f: () => unknown) => {
    try {
      return { page: f() };
    } catch (e) {
      expect(e).toBeInstanceOf(CorruptIndexError);
      return { error: (e as Error).message };
    }
  };

  it('reads what encodePage writes, as the JSON decoder does (property)', () => {
    fc.assert(
      fc.property(pageArb, (cells) => {
        const bytes = encodePage(cells);
        const ref = refOf(cells);
        const page = decodePage('k', bytes, ref);
        expect(page).toEqual(decodePageJson('k', bytes, ref));
        expect(page.hashes).toEqual(cells.map((c) => c.hash));
        expect(page.storedAt).toEqual(cells.map((c) => (c.rec ? c.rec.storedAt : -1)));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the JSON decoder’s verdict on damaged or re-spelled pages (property)', () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), to: fc.constantFrom(...'0189af[]",-: x\n{}'.split('').map((c) => c.charCodeAt(0)), 0xc3) }),
      fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), to: fc.constant(0) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), to: fc.constantFrom(0x20, 0x30, 0x2c, 0x5d) }),
    );
    fc.assert(
      fc.property(pageArb, fc.array(edit, { minLength: 1, maxLength: 3 }), fc.integer({ min: -1, max: 1 }), (cells, edits, countDelta) => {
        let bytes = [...encodePage(cells)];
        for (const e of edits) {
          const at = e.at % (bytes.length + 1);
          if (e.kind === 'byte' && at < bytes.length) bytes[at] = e.to;
          else if (e.kind === 'drop') bytes.splice(at, 1);
          else bytes.splice(at, 0, e.to);
        }
        const b = new Uint8Array(bytes);
        const ref = refOf(cells);
        ref[2] += countDelta;
        expect(verdict(() => decodePage('k', b, ref))).toEqual(verdict(() => decodePageJson('k', b, ref)));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('index v2 Bloom filter bits', () => {
  it('sets exactly the bits docs/format.md names: hex digits 8k..8k+7 as a number, modulo bits', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 8 }), (ns, count, k) => {
        const hashes = ns.map((n) => sha256Hex(`b${n}`));
        const bits = bloomBits(count);
        const b = Bloom.empty(bits, k);
        const want = new Uint8Array(bits / 8);
        for (const h of hashes) {
          b.add(h);
          for (let i = 0; i < k; i++) {
            const p = parseInt(h.slice(8 * i, 8 * i + 8), 16) % bits;
            want[p >>> 3]! |= 1 << (p & 7);
          }
        }
        expect(b.bytes).toEqual(want);
        for (const h of hashes) expect(b.mayContain(h)).toBe(true);
        // Asked about other hashes in between (the filter keeps the last one read), still the same answers.
        const other = sha256Hex('other');
        const says = b.mayContain(other);
        for (const h of hashes) expect(b.mayContain(h) && b.mayContain(other) === says).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
