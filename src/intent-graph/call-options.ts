/**
 * The options every intent-store call takes. Its own module because both the
 * store interface and the backup document's option types build on it, and
 * neither may import the other's module (no import circle).
 *
 * @module
 */

/** Options every store call takes. */
export interface StoreCallOptions {
  /** Aborts the call; it then rejects with `AbortError`. */
  signal?: AbortSignal;
}
