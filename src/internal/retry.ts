/**
 * One bounded retry loop with jittered backoff, for every place that tries
 * again after losing a race or a round trip: a reference's compare-and-swap,
 * the index root's, the S3 adapter's 409 answers and its transport.
 *
 * An attempt's outcome is either a value or a thrown error; the caller says
 * which outcomes are worth another attempt, so a lost swap that resolves
 * `null` and a conflict that throws are retried by the same loop.
 *
 * @module
 */
import { sleep } from './abort.js';

/** What one attempt gave: the value it resolved, or the error it threw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** How {@link retrying} loops. */
export interface RetryPolicy<T> {
  /** Attempts in all, the first included (at least 1). */
  attempts: number;
  /** Whether `outcome` is worth another attempt; anything else is final at once. */
  retryable(outcome: Outcome<T>): boolean;
  /** Milliseconds to wait after attempt `attempt` (1-based) gave the retryable `outcome`. */
  backoff(attempt: number, outcome: Outcome<T>): number;
  /** Cuts a wait short with `AbortError` (attempts check it themselves where they need to). */
  signal?: AbortSignal;
}

/**
 * Runs `attempt(1)`, `attempt(2)`, … while its outcome is retryable and
 * attempts are left, waiting `backoff` between them. Resolves the first final
 * value, or throws the first final error. After the last attempt its outcome is
 * final whatever it is: a retryable value is resolved (the caller decides what
 * "still lost" means), a retryable error thrown. An abort during a wait
 * rejects with `AbortError` at once.
 */
export async function retrying<T>(policy: RetryPolicy<T>, attempt: (n: number) => Promise<T>): Promise<T> {
  const { attempts, signal } = policy;
  for (let n = 1; ; n++) {
    let outcome: Outcome<T>;
    try {
      outcome = { ok: true, value: await attempt(n) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (n >= attempts || !policy.retryable(outcome)) {
      if (outcome.ok) return outcome.value;
      throw outcome.error;
    }
    await sleep(policy.backoff(n, outcome), signal);
  }
}

/**
 * Exponential backoff with full jitter: after attempt `n` (1-based), a random
 * wait in [0, min(capMs, firstMs · 2^(n-1))). Full jitter spreads writers that
 * lost the same race, so they do not collide again in step.
 */
export function fullJitter(firstMs: number, capMs = Infinity): (attempt: number) => number {
  return (attempt) => Math.random() * Math.min(capMs, firstMs * 2 ** (attempt - 1));
}
