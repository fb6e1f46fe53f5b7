/**
 * The Bloom filter of a run (docs/format.md, "The Bloom filter"). Addresses
 * are SHA-256 values already, uniformly spread, so the bit positions are read
 * straight from the hash: for k in 0..hashes-1, the 32-bit number of hex
 * digits 8k..8k+7, modulo `bits`. Bit i of byte j is bit 8j + i.
 *
 * @module
 */

/** Bits per entry: about 0.8 % false positives with 7 positions. */
export const BLOOM_BITS_PER_ENTRY = 10;
/** Positions per entry. */
export const BLOOM_HASHES = 7;

/** Filter size for at most `count` entries: 10 bits each, a multiple of 8, at least 8. */
export function bloomBits(count: number): number {
  return Math.max(8, Math.ceil((BLOOM_BITS_PER_ENTRY * count) / 8) * 8);
}

/**
 * The eight 32-bit numbers written by the hex digits of `hash` (8k .. 8k+7),
 * for the last hash asked: a lookup asks every run's filter about one hash in
 * a row, so the hash is read once, not once per run. Read from the character
 * codes, with no substring and no parseInt.
 */
const words = new Float64Array(8);
let wordsOf: string | undefined;
function positions(hash: string): Float64Array {
  if (hash === wordsOf) return words;
  for (let k = 0; k < 8; k++) {
    let w = 0;
    for (let i = 8 * k; i < 8 * k + 8; i++) {
      const c = hash.charCodeAt(i);
      // '0'-'9' -> 0-9, 'a'-'f' -> 10-15 (hashes are lowercase hex: checked where they are read)
      w = w * 16 + (c <= 57 ? c - 48 : c - 87);
    }
    words[k] = w;
  }
  wordsOf = hash;
  return words;
}

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

  add(hash: string): void {
    const w = positions(hash);
    const { bits, bytes } = this;
    for (let k = 0; k < this.hashes; k++) {
      const p = w[k]! % bits;
      bytes[p >>> 3]! |= 1 << (p & 7);
    }
  }

  /** False when `hash` is certainly not in the run; true when it may be. */
  mayContain(hash: string): boolean {
    const w = positions(hash);
    const { bits, bytes } = this;
    for (let k = 0; k < this.hashes; k++) {
      const p = w[k]! % bits;
      if ((bytes[p >>> 3]! & (1 << (p & 7))) === 0) return false;
    }
    return true;
  }
}
