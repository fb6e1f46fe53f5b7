/**
 * A tiny seeded generator (mulberry32) for randomized tests: the same seed
 * gives the same sequence, so a failure can name its seed and be repeated.
 * Not for anything that needs unpredictability.
 */

/** Numbers in [0, 1), the same sequence for the same `seed` (taken as an unsigned 32-bit integer). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
