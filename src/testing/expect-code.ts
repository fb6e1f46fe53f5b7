/** Assertions on the SDK's typed errors, shared by the conformance suites and the tests. */
import { expect } from 'vitest';
import { isArchiveStorageError } from '../errors.js';

/** What `p` (or calling it) rejects or throws with; undefined when it succeeds. */
export async function caught(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e;
  }
  return undefined;
}

/** Expects `p` to fail with an SDK error of `code`; returns that error, typed as `E` (e.g. `InvalidJsonError`). */
export async function expectCode<E extends Error = Error>(p: Promise<unknown> | (() => unknown), code: string): Promise<E> {
  const e = await caught(p);
  expect(e, `expected a rejection with code ${code}`).toBeDefined();
  expect(isArchiveStorageError(e) ? e.code : e).toBe(code);
  return e as E;
}
