/** The compare-and-set loop of the race tests: retry from the value a lost round reports until ours lands. */
import { ReferenceConflictError, type Reference, type References } from '../../src/refs/index.js';

/** compareAndSet `name` from `seen` to `hash`, retrying from `error.current` after each lost round; resolves the winning value. */
export async function compareAndSetRetrying(refs: References, name: string, seen: string | null, hash: string): Promise<Reference> {
  for (let expected = seen; ; ) {
    try {
      return await refs.compareAndSet(name, expected, hash);
    } catch (e) {
      if (!(e instanceof ReferenceConflictError)) throw e;
      expected = e.current?.hash ?? null;
    }
  }
}
