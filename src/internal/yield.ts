/**
 * Long work that gives the event loop a turn now and then, so a page stays
 * responsive (input, rendering, a progress bar, a cancel button) while the
 * SDK works through data that is already in memory and never waits for I/O:
 * a bundle read from a `Blob` or `Uint8Array`, say, would otherwise run as
 * one task for seconds.
 *
 * Work is cut into slices of about {@link SLICE_MS} of wall time, checked
 * with the monotonic clock, so a fast loop pays one `performance.now()` per
 * step and one turn every few milliseconds: no measurable cost to throughput.
 *
 * ```ts
 * const slice = new TimeSlicer(signal);
 * for (const item of items) {
 *   work(item);
 *   if (slice.due()) await slice.yield(); // throws AbortError if the signal aborted meanwhile
 * }
 * ```
 *
 * @module
 */
import { throwIfAborted } from '../errors.js';
import { eventLoopTurn, monotonicNow } from '../platform.js';

/** Milliseconds of work between two turns of the event loop (half a 60 Hz frame). */
export const SLICE_MS = 8;

/**
 * Resolves after the event loop had a turn: `setImmediate` in Node, a
 * `MessageChannel` task in browsers (see `eventLoopTurn` in `platform.ts`,
 * also for why not `scheduler.yield()`).
 */
export function yieldToEventLoop(): Promise<void> {
  return eventLoopTurn()();
}

/**
 * A clock for cooperative time slicing: {@link TimeSlicer.due} says when the
 * current slice has used its time, {@link TimeSlicer.yield} gives the event
 * loop a turn, starts the next slice, and throws `AbortError` when `signal`
 * aborted meanwhile (so a cancel is noticed at the next slice boundary).
 */
export class TimeSlicer {
  private start = monotonicNow();
  /** Turns given to the event loop so far. */
  turns = 0;

  constructor(
    private readonly signal?: AbortSignal,
    private readonly sliceMs: number = SLICE_MS,
  ) {}

  /** True once the current slice has run for its time. */
  due(): boolean {
    return monotonicNow() - this.start >= this.sliceMs;
  }

  /** Gives the event loop a turn now, then checks the signal. */
  async yield(): Promise<void> {
    await yieldToEventLoop();
    this.turns++;
    this.start = monotonicNow();
    throwIfAborted(this.signal);
  }

  /**
   * {@link TimeSlicer.yield} when the slice is {@link TimeSlicer.due}, else
   * `undefined` without a microtask (for callbacks: `const p = pause(); if (p) await p;`).
   */
  readonly pause = (): Promise<void> | undefined => (this.due() ? this.yield() : undefined);
}
