/**
 * The Bloom filter of a run (docs/format.md, "The Bloom filter"). Addresses
 * are SHA-256 values already, uniformly spread, so the bit positions are read
 * straight from the hash: for k in 0..hashes-1, the 32-bit number of hex
 * digits 8k..8k+7, modulo `bits`. Bit i of byte j is bit 8j + i.
 *
 * @module
 */

/**
 * Bits per entry: about 0.06 % false positives with 8 positions. Every new
 * hash a put brings is asked of every run's filter, and a false positive costs
 * a page read (bytes, SHA-256, decode); at 10 bits (0.8 %) and ~10 runs that
 * was half of putMany's CPU at a million objects (docs/format.md).
 */
export const BLOOM_BITS_PER_ENTRY = 16;
/** Positions per entry (at most 8: a SHA-256 hash gives eight 32-bit words). */
export const BLOOM_HASHES = 8;

/** Filter size for at most `count` entries: {@link BLOOM_BITS_PER_ENTRY} bits each, a multiple of 8, at least 8. */
export function bloomBits(count: number): number {
  return Math.max(8, Math.ceil((BLOOM_BITS_PER_ENTRY * count) / 8) * 8);
}

/** Value of each lowercase hex digit's character code (hashes are checked where they are read). */
const HEX_VALUE = /* @__PURE__ */ (() => {
  const t = new Uint8Array(128);
  for (let i = 0; i < 16; i++) t['0123456789abcdef'.charCodeAt(i)] = i;
  return t;
})();

/**
 * The eight 32-bit numbers written by the hex digits of `hash` (8k .. 8k+7),
 * for the last hash asked: a lookup asks every run's filter about one hash in
 * a row, so the hash is read once, not once per run. Read from the character
 * codes through a table, 16 bits at a time (no substring, no parseInt: ~3x
 * faster, and a merge adds every entry it writes).
 */
const words = new Float64Array(8);
let wordsOf: string | undefined;
function positions(hash: string): Float64Array {
  if (hash === wordsOf) return words;
  const v = HEX_VALUE;
  for (let k = 0, o = 0; k < 8; k++, o += 8) {
    const hi = (v[hash.charCodeAt(o)]! << 12) | (v[hash.charCodeAt(o + 1)]! << 8) | (v[hash.charCodeAt(o + 2)]! << 4) | v[hash.charCodeAt(o + 3)]!;
    const lo = (v[hash.charCodeAt(o + 4)]! << 12) | (v[hash.charCodeAt(o + 5)]! << 8) | (v[hash.charCodeAt(o + 6)]! << 4) | v[hash.charCodeAt(o + 7)]!;
    words[k] = hi * 65536 + lo;
  }
  wordsOf = hash;
  return words;
}

/**
 * `x mod bits` for a 32-bit `x` and `bits` ≥ 1: `x - floor(x / bits) * bits`, which is exact here
 * (the quotient of two integers below 2^53 rounds to the right side of every integer, and every
 * product and difference is an integer below 2^53) and, unlike `%` on doubles, is not a call
 * into the runtime's fmod for each of a filter's positions.
 */
function modulo(x: number, bits: number): number {
  return x - Math.floor(x / bits) * bits;
}

/** Bit positions of the last hash added, taken before any is set (see {@link Bloom.add}). */
const targets = new Float64Array(8);

/** A filter being filled or read. */
export class Bloom {
  /** Bits of the filter (`bytes.byteLength * 8`). */
  readonly bits: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly hashes = BLOOM_HASHES,
  ) {
    this.bits = bytes.byteLength * 8;
  }

  /** An empty filter of `bits` bits. */
  static empty(bits: number, hashes = BLOOM_HASHES): Bloom {
    return new Bloom(new Uint8Array(bits / 8), hashes);
  }

  /**
   * Sets the hash's bits. The positions are all computed first, then set: a merge adds every entry
   * it writes, and in a filter of megabytes each position is a cache miss; with nothing to compute
   * between them the processor overlaps the misses (an add took ~0.6 µs instead of ~0.9 µs into a
   * 20 MB filter, throwaway bench).
   */
  add(hash: string): void {
    const w = positions(hash);
    const { bits, bytes, hashes } = this;
    const t = targets;
    for (let k = 0; k < hashes; k++) t[k] = modulo(w[k]!, bits);
    for (let k = 0; k < hashes; k++) {
      const p = t[k]!;
      bytes[p >>> 3]! |= 1 << (p & 7);
    }
  }

  /** False when `hash` is certainly not in the run; true when it may be. */
  mayContain(hash: string): boolean {
    const w = positions(hash);
    const { bits, bytes } = this;
    for (let k = 0; k < this.hashes; k++) {
      const p = modulo(w[k]!, bits);
      if ((bytes[p >>> 3]! & (1 << (p & 7))) === 0) return false;
    }
    return true;
  }
}
