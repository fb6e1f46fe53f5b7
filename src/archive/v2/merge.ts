/**
 * The k-way merge behind listing and run merges: sorted streams of cells,
 * highest priority first (the journal tail, then the runs newest first); for
 * each hash the first stream that has it wins.
 *
 * Streams hand cells out a batch at a time ({@link CellStream}: a run's page,
 * a sorted array), so the merge costs no await per cell, only one per page a
 * stream reads: per cell it is a comparison or two, because the stream with
 * the smallest head gives every cell below the next smallest head in one go
 * (runs of very different sizes, the usual shape, give long stretches). A
 * plain async iterable is taken too, one cell per await.
 *
 * A {@link CellStream} is also an async iterator of single cells, answered
 * from the batch in hand without a new promise chain per cell.
 *
 * @module
 */
import { abortErrorOf } from '../../internal/abort.js';
import type { Cell } from './codec.js';

/** Cells handed out per batch by a merge, about one page. */
const BATCH = 2048;
/** Cells read ahead per batch from a plain async iterable (one await each). */
const PLAIN_BATCH = 256;

/** A sorted stream of cells that gives them a batch at a time, or one at a time. */
export interface CellStream<C extends Cell = Cell> extends AsyncIterableIterator<C> {
  /** The next cells, in order (never an empty array), or undefined at the end. */
  nextBatch(): Promise<C[] | undefined>;
  /** Ends the stream early, releasing what it holds (as an iterator's `return`). */
  return(): Promise<IteratorResult<C>>;
}

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined });
const NO_BATCH: Promise<undefined> = Promise.resolve(undefined);

/**
 * A {@link CellStream} over `pull`, a function giving the next non-empty
 * batch or undefined at the end; `close` runs once, at the end or on `return`.
 */
export class BatchStream<C extends Cell = Cell> implements CellStream<C> {
  private buf: C[] = [];
  private pos = 0;
  private ended = false;

  constructor(
    private readonly pull: () => Promise<C[] | undefined>,
    private readonly close?: () => Promise<unknown> | void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  nextBatch(): Promise<C[] | undefined> {
    if (this.pos < this.buf.length) {
      const rest = this.pos === 0 ? this.buf : this.buf.slice(this.pos);
      this.buf = [];
      this.pos = 0;
      return Promise.resolve(rest);
    }
    if (this.ended) return NO_BATCH;
    return this.pull().then(
      (b) => {
        if (b === undefined) this.finish();
        return b;
      },
      (e: unknown) => {
        this.finish();
        throw e;
      },
    );
  }

  next(): Promise<IteratorResult<C>> {
    if (this.pos < this.buf.length) return Promise.resolve({ done: false, value: this.buf[this.pos++]! });
    return this.nextBatch().then((b) => {
      if (b === undefined) return DONE;
      this.buf = b;
      this.pos = 1;
      return { done: false, value: b[0]! };
    });
  }

  async return(): Promise<IteratorResult<C>> {
    this.buf = [];
    this.pos = 0;
    this.finish();
    return DONE;
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    void this.close?.();
  }
}

/** A sorted array of cells as a stream. */
export function arrayCells(cells: readonly Cell[]): CellStream {
  let given = cells.length === 0;
  return new BatchStream(() => {
    if (given) return NO_BATCH;
    given = true;
    return Promise.resolve(cells.slice());
  });
}

/** `s` as a batch source: its own batches when it has them, else one cell per batch. */
function batchesOf(s: AsyncIterable<Cell>): { next: () => Promise<Cell[] | undefined>; close: () => Promise<unknown> } {
  if (typeof (s as Partial<CellStream>).nextBatch === 'function') {
    const c = s as CellStream;
    return { next: () => c.nextBatch(), close: () => c.return() };
  }
  // A plain iterable: a few cells per batch, so the layers above still see batches.
  const it = s[Symbol.asyncIterator]();
  let ended = false;
  return {
    next: async () => {
      const out: Cell[] = [];
      while (!ended && out.length < PLAIN_BATCH) {
        const r = await it.next();
        if (r.done) ended = true;
        else out.push(r.value);
      }
      return out.length ? out : undefined;
    },
    close: async () => it.return?.(),
  };
}

/** One input of a merge: the batch in hand, where its head is, and the head's hash. */
interface Input {
  next: () => Promise<Cell[] | undefined>;
  close: () => Promise<unknown>;
  buf: Cell[];
  pos: number;
  /** `buf[pos].hash`, or '' when the batch is used up (hashes are never empty). */
  head: string;
  done: boolean;
}

/** Merges `streams` (each in strictly increasing hash order) into one, the first stream having a hash winning. */
export function mergeCells(streams: readonly AsyncIterable<Cell>[]): CellStream {
  const inputs: Input[] = streams.map((s) => {
    const { next, close } = batchesOf(s);
    return { next, close, buf: [], pos: 0, head: '', done: false };
  });
  let live = inputs;

  const refill = async (x: Input): Promise<void> => {
    const b = await x.next();
    if (b === undefined || b.length === 0) x.done = true;
    else {
      x.buf = b;
      x.pos = 0;
      x.head = b[0]!.hash;
    }
  };

  const pull = async (): Promise<Cell[] | undefined> => {
    const out: Cell[] = [];
    while (out.length < BATCH) {
      // Every live input needs a head before the smallest can be known.
      if (live.some((x) => x.head === '')) {
        await Promise.all(live.filter((x) => x.head === '').map(refill));
        live = live.filter((x) => !x.done);
      }
      if (live.length === 0) break;
      if (live.length === 1) {
        // One stream left: the rest of its batch, as it is.
        const x = live[0]!;
        if (out.length === 0 && x.pos === 0) {
          x.pos = x.buf.length;
          x.head = '';
          return x.buf;
        }
        for (let i = x.pos; i < x.buf.length; i++) out.push(x.buf[i]!);
        x.pos = x.buf.length;
        x.head = '';
        continue;
      }
      // As long as no input runs dry: the smallest head (the first stream among equals) and the next smallest.
      while (out.length < BATCH) {
        let m = live[0]!;
        let second = '';
        for (let k = 1; k < live.length; k++) {
          const x = live[k]!;
          const h = x.head;
          if (h < m.head) {
            second = m.head;
            m = x;
          } else if (second === '' || h < second) second = h;
        }
        if (second === m.head) {
          // The hash is in several streams: the first one's cell wins, every one moves past it.
          const min = second;
          out.push(m.buf[m.pos]!);
          let dry = false;
          for (const x of live) {
            if (x.head !== min) continue;
            const p = ++x.pos;
            x.head = p < x.buf.length ? x.buf[p]!.hash : '';
            if (x.head === '') dry = true;
          }
          if (dry) break;
          continue;
        }
        // Everything of `m` below the next smallest head comes before any other stream's.
        const buf = m.buf;
        let i = m.pos;
        do out.push(buf[i++]!);
        while (i < buf.length && buf[i]!.hash < second);
        m.pos = i;
        m.head = i < buf.length ? buf[i]!.hash : '';
        if (m.head === '') break;
      }
    }
    return out.length ? out : undefined;
  };

  return new BatchStream(pull, () => Promise.all(inputs.map((x) => x.close())));
}

/**
 * A scan that survives the ground moving under it: `open(at, inclusive)`
 * starts the stream at `at`; when it fails and `retry(error, attempt)`
 * resolves true (say, a piece was merged away and a newer root was adopted),
 * it is opened again after the last hash given, and the caller never sees
 * the seam. Otherwise the error goes to the caller. Batches pass through
 * as they are (no await per cell).
 */
export function resumable<C extends Cell = Cell>(
  from: string,
  open: (at: string, inclusive: boolean) => CellStream<C>,
  retry: (error: unknown, attempt: number) => Promise<boolean>,
): CellStream<C> {
  let at = from;
  let inclusive = true;
  let cur: CellStream<C> | undefined;
  let attempt = 0;
  const pull = async (): Promise<C[] | undefined> => {
    for (;;) {
      cur ??= open(at, inclusive);
      try {
        const b = await cur.nextBatch();
        if (b !== undefined) {
          at = b[b.length - 1]!.hash;
          inclusive = false;
        }
        return b;
      } catch (e) {
        void cur.return();
        cur = undefined;
        if (!(await retry(e, attempt++))) throw e;
      }
    }
  };
  return new BatchStream<C>(pull, () => cur?.return());
}

/**
 * Calls `f` on every cell of `stream`, in order, awaiting only what `f`
 * returns as a promise (a run writer's `add` does only when a page is full):
 * a merge of a million cells then costs one await per page, not per cell.
 */
export async function forEachCell<C extends Cell>(stream: CellStream<C>, f: (cell: C) => Promise<unknown> | void): Promise<void> {
  let done = false;
  try {
    for (let b = await stream.nextBatch(); b !== undefined; b = await stream.nextBatch()) {
      for (const c of b) {
        const p = f(c);
        if (p) await p;
      }
    }
    done = true;
  } finally {
    if (!done) await stream.return();
  }
}

/**
 * `stream`'s cells mapped by `f`, as a plain async iterator: a cell is
 * answered from the batch in hand (one settled promise, no generator step),
 * so a `for await` over a million entries pays one real await per batch.
 * `signal` is checked before every item: an aborted listing rejects with
 * `ABORTED` and releases the stream.
 */
export function mapCells<C extends Cell, T>(stream: CellStream<C>, f: (cell: C) => T, signal?: AbortSignal): AsyncIterableIterator<T> {
  let buf: C[] = [];
  let pos = 0;
  let ended = false;
  const end = (): Promise<IteratorResult<T>> => {
    buf = [];
    pos = 0;
    if (ended) return Promise.resolve(DONE);
    ended = true;
    return stream.return().then(() => DONE);
  };
  const it: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => it,
    next(): Promise<IteratorResult<T>> {
      if (ended) return Promise.resolve(DONE);
      if (signal?.aborted) {
        const e = abortErrorOf(signal);
        return end().then(() => Promise.reject(e));
      }
      try {
        if (pos < buf.length) return Promise.resolve({ done: false, value: f(buf[pos++]!) });
      } catch (e) {
        return end().then(() => Promise.reject(e));
      }
      return stream.nextBatch().then(
        (b) => {
          if (b === undefined) {
            ended = true;
            buf = [];
            return DONE;
          }
          buf = b;
          pos = 1;
          return { done: false, value: f(b[0]!) };
        },
        (e: unknown) => {
          ended = true;
          buf = [];
          throw e;
        },
      );
    },
    return: end,
  };
  return it;
}
