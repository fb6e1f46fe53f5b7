// The one retry loop of src/internal/retry.ts, which the references' compare-and-swap, the index
// root's, the S3 adapter's 409 answers and its transport all go through: how many attempts it
// makes, which outcome it surfaces after the last one, that a non-retryable outcome is final at
// once, that an abort cuts a wait short with ABORTED, and that fullJitter gives the very delays
// the four hand-written loops it replaced gave.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortError, ConflictError } from '../src/errors.js';
import { fullJitter, retrying, type Outcome } from '../src/internal/retry.js';

const LOST = Symbol('lost');
const noWait = () => 0;

describe('retrying', () => {
  it('tries exactly `attempts` times while the outcome stays retryable, numbering them from 1, and resolves the last value', async () => {
    for (const attempts of [1, 2, 5]) {
      const seen: number[] = [];
      const waits: number[] = [];
      const result = await retrying<typeof LOST>(
        { attempts, retryable: (o) => o.ok && o.value === LOST, backoff: (n) => (waits.push(n), 0) },
        async (n) => (seen.push(n), LOST),
      );
      expect(result).toBe(LOST);
      expect(seen).toEqual(Array.from({ length: attempts }, (_, i) => i + 1));
      expect(waits).toEqual(seen.slice(0, -1)); // a wait between attempts, none after the last
    }
  });

  it('stops at the first outcome that is not retryable', async () => {
    let calls = 0;
    const result = await retrying<string>({ attempts: 10, retryable: (o) => o.ok && o.value === 'again', backoff: noWait }, async () => (++calls < 3 ? 'again' : 'done'));
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('throws the error of the last attempt, not an earlier one, when every attempt failed retryably', async () => {
    let calls = 0;
    const run = retrying<never>({ attempts: 4, retryable: (o) => !o.ok && o.error instanceof ConflictError, backoff: noWait }, async (n) => {
      calls++;
      throw new ConflictError('index.json', `attempt ${n}`);
    });
    await expect(run).rejects.toMatchObject({ code: 'CONFLICT', message: 'attempt 4' });
    expect(calls).toBe(4);
  });

  it('throws a non-retryable error at once, without waiting', async () => {
    let calls = 0;
    const backoff = vi.fn(() => 600_000);
    const boom = new Error('not a conflict');
    const run = retrying<never>({ attempts: 12, retryable: (o) => !o.ok && o.error instanceof ConflictError, backoff }, async () => {
      calls++;
      throw boom;
    });
    await expect(run).rejects.toBe(boom);
    expect(calls).toBe(1);
    expect(backoff).not.toHaveBeenCalled();
  });

  it('resolves a value at once when only errors are retryable, and throws an error at once when only values are', async () => {
    let calls = 0;
    await expect(retrying({ attempts: 5, retryable: (o) => !o.ok, backoff: noWait }, async () => (calls++, 'value'))).resolves.toBe('value');
    expect(calls).toBe(1);
    const boom = new Error('thrown');
    await expect(
      retrying({ attempts: 5, retryable: (o) => o.ok, backoff: noWait }, async () => {
        calls++;
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(calls).toBe(2);
  });

  it('hands backoff the attempt number and its outcome', async () => {
    const got: [number, Outcome<number>][] = [];
    const boom = new Error('e');
    await retrying<number>(
      { attempts: 3, retryable: () => true, backoff: (n, o) => (got.push([n, o]), 0) },
      async (n) => {
        if (n === 1) throw boom;
        return n;
      },
    );
    expect(got).toEqual([
      [1, { ok: false, error: boom }],
      [2, { ok: true, value: 2 }],
    ]);
  });

  it('an abort during a wait rejects with ABORTED at once, and no further attempt runs', async () => {
    const ctl = new AbortController();
    let calls = 0;
    const run = retrying({ attempts: 5, signal: ctl.signal, retryable: () => true, backoff: () => 600_000 }, async () => {
      calls++;
      setTimeout(() => ctl.abort(new Error('user cancelled')), 20);
      return LOST;
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toMatchObject({ code: 'ABORTED', cause: ctl.signal.reason });
    // A wait that ignored the abort would last 600 s: the test's time-out fails it first.
    expect(calls).toBe(1);
  });

  it('a signal already aborted stops before the first wait', async () => {
    const ctl = new AbortController();
    ctl.abort();
    let calls = 0;
    await expect(retrying({ attempts: 3, signal: ctl.signal, retryable: () => true, backoff: () => 600_000 }, async () => (calls++, LOST))).rejects.toMatchObject({
      code: 'ABORTED',
    });
    expect(calls).toBe(1);
  });
});

describe('fullJitter', () => {
  afterEach(() => vi.restoreAllMocks());

  it('waits a random time in [0, min(cap, first · 2^(n-1)))', () => {
    const jitter = fullJitter(10, 300);
    for (let n = 1; n <= 12; n++) {
      const bound = Math.min(300, 10 * 2 ** (n - 1));
      for (let i = 0; i < 200; i++) {
        const ms = jitter(n);
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThan(bound);
      }
    }
    expect(fullJitter(100)(40)).toBeLessThan(100 * 2 ** 39); // uncapped by default
  });

  it('gives the delays of the four loops it replaced, to the bit', () => {
    // Math.random is pinned only to compare formulas; the waits themselves stay random in use.
    for (const r of [0, 1e-9, 0.25, 0.5, 0.731, 0.999999]) {
      vi.spyOn(Math, 'random').mockReturnValue(r);
      const refs = fullJitter(2, 50);
      const root = fullJitter(40, 2000);
      const conflict409 = fullJitter(100);
      const transport = fullJitter(100, 5000);
      for (let n = 1; n <= 40; n++) {
        const old0 = n - 1; // the S3 loops counted from 0
        expect(refs(n)).toBe(r * Math.min(50, 2 ** Math.min(n, 6)));
        expect(root(n)).toBe(r * Math.min(2000, 20 * 2 ** n));
        expect(conflict409(n)).toBe(r * 100 * 2 ** old0);
        expect(transport(n)).toBe(r * Math.min(5000, 100 * 2 ** old0));
      }
    }
  });
});
