/**
 * The one group-commit scheduler: callers queue items; the batcher hands the
 * queue to `run` in batches, at the next microtask, with at most
 * `maxInFlight` batches running. While a batch runs, new items wait and go
 * together in the next one, so a burst of calls costs one backend round.
 *
 * Used by the archive's commit queue, IndexedDB's write and read
 * transactions and the OPFS request groups. `run` settles each item's caller
 * itself (items usually carry a {@link Deferred}); the batcher only decides
 * what goes when.
 *
 * @module
 */

/** How a {@link Batcher} forms and runs batches. */
export interface BatcherOptions<T> {
  /**
   * Runs one batch. It may call `release()` as soon as the backend no longer
   * needs the slot (before settling its callers), so that calls they make at
   * once are scheduled without waiting for the rest of `run`; the slot is
   * released anyway when the returned promise settles.
   */
  run(batch: T[], release: () => void): Promise<void>;
  /** How many items from the head of `queue` go into the next batch (at least 1). Default: all of them. */
  take?(queue: readonly T[]): number;
  /** Batches running at once (default 1). */
  maxInFlight?: number;
  /** Items to drop instead of running (their caller stopped waiting), with what to do to each. */
  skip?(item: T): boolean;
  /** Called for each skipped item. */
  onSkip?(item: T): void;
}

/** Queues items and runs them in batches; see the module doc. */
export class Batcher<T> {
  private queue: T[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly maxInFlight: number;

  constructor(private readonly options: BatcherOptions<T>) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  }

  /** Items waiting for a batch. */
  get pending(): number {
    return this.queue.length;
  }

  /** True when nothing waits and nothing runs. */
  get idle(): boolean {
    return this.queue.length === 0 && this.inFlight === 0;
  }

  /** Queues `item`; it goes in a batch at the next microtask or when a running batch frees its slot. */
  push(item: T): void {
    this.queue.push(item);
    this.schedule();
  }

  /** Resolves once nothing waits and nothing runs (items queued meanwhile are waited for too). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs what is queued now, without waiting for the microtask (e.g. before closing). */
  flushNow(): void {
    this.scheduled = false;
    this.flush();
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const n = this.options.take ? Math.max(1, Math.min(this.queue.length, this.options.take(this.queue))) : this.queue.length;
      let batch = this.queue.splice(0, n);
      const { skip, onSkip } = this.options;
      if (skip) {
        batch = batch.filter((item) => {
          if (!skip(item)) return true;
          onSkip?.(item);
          return false;
        });
      }
      if (batch.length === 0) continue;
      this.start(batch);
    }
    this.notifyIdle();
  }

  private start(batch: T[]): void {
    this.inFlight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.schedule();
      this.notifyIdle();
    };
    let running: Promise<void>;
    try {
      running = this.options.run(batch, release);
    } catch (error) {
      running = Promise.reject(error);
    }
    // `run` settles its callers; a rejection here is a bug in `run`, never a caller's failure to report twice.
    running.catch(() => {}).finally(release);
  }

  private notifyIdle(): void {
    if (!this.idle || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
