/**
 * The references' own refusal: a compare-and-set that lost.
 *
 * @module
 */
import { ConflictError, type ErrorOptions } from '../errors.js';
import type { Reference } from './document.js';

/**
 * A `compareAndSet` (or a `delete` with `expected`) found the reference at
 * another hash than the caller expected, and wrote nothing. Code `CONFLICT`
 * (it is a {@link ConflictError}; `key` is the document's key); `current` is
 * what the reference holds now (undefined: absent), so the caller can decide
 * and try again without another read.
 */
export class ReferenceConflictError extends ConflictError {
  /** The reference's name (`name` is the error class's, as on every Error). */
  readonly reference: string;
  /** What the caller expected: a hash, or `null` for "absent". */
  readonly expected: string | null;
  /** The reference's current value, or undefined when it is absent. */
  readonly current: Reference | undefined;

  constructor(key: string, name: string, expected: string | null, current: Reference | undefined, options?: ErrorOptions) {
    const found = current ? `is at ${current.hash} (version ${current.seq})` : 'is absent';
    super(key, `reference ${JSON.stringify(name)} ${found}, not ${expected === null ? 'absent' : expected} as expected; nothing was written`, options);
    this.reference = name;
    this.expected = expected;
    this.current = current;
  }
}
