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

/** A filter being filled or read. */
export class Bloom {
  constructor(
    readonly bytes: Uint8Array,
    readonly hashes = BLOOM_HASHES,
  ) {}

  /** An empty filter of `bits` bits. */
  static empty(bits: number, hashes = BLOOM_HASHES): Bloom {
    return new Bloom(new Uint8Array(bits / 8), hashes);
  }

  get bits(): number {
    return this.bytes.byteLength * 8;
  }

  add(hash: string): void {
    const bits = this.bits;
    for (let k = 0; k < this.hashes; k++) {
      const p = parseInt(hash.slice(8 * k, 8 * k + 8), 16) % bits;
      this.bytes[p >>> 3]! |= 1 << (p & 7);
    }
  }

  /** False when `hash` is certainly not in the run; true when it may be. */
  mayContain(hash: string): boolean {
    const bits = this.bits;
    for (let k = 0; k < this.hashes; k++) {
      const p = parseInt(hash.slice(8 * k, 8 * k + 8), 16) % bits;
      if ((this.bytes[p >>> 3]! & (1 << (p & 7))) === 0) return false;
    }
    return true;
  }
}
