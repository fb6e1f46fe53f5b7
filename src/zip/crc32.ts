/**
 * CRC-32 (IEEE 802.3, the checksum of ZIP and gzip) as plain unsigned 32-bit
 * numbers.
 *
 * fflate computes CRCs internally but exports none, and its unzip never checks
 * them; the ZIP reader needs its own. Slice-by-8 tables in JS everywhere; in
 * Node the native `zlib.crc32` (Node >= 20.15), reached lazily through
 * `platform.ts`'s `nodeBuiltin`, so that importing this module imports no `node:*`.
 * Both give identical results (tested on the same inputs).
 *
 * @module
 */
import { nodeBuiltin } from '../platform.js';

/** 8 tables of 256 entries: table k maps a byte to its CRC contribution k bytes further on. */
let tables: Uint32Array | undefined;

function getTables(): Uint32Array {
  if (tables) return tables;
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  tables = t;
  return t;
}

/** Continues the CRC-32 `crc` (0 to start) over `data` in plain JS (slice-by-8). */
export function crc32Js(data: Uint8Array, crc = 0): number {
  const t = getTables();
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  for (; i < end8; i += 8) {
    const lo = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + data[i + 4]!]! ^
      t[2 * 256 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

type NativeCrc32 = (data: Uint8Array, value?: number) => number;
let nativeCrc32: NativeCrc32 | null | undefined;

/** Node's `zlib.crc32` when present (Node >= 20.15, 22.2), else null. Resolved once, on first use. */
function getNativeCrc32(): NativeCrc32 | null {
  if (nativeCrc32 === undefined) {
    nativeCrc32 = null;
    const zlib = nodeBuiltin<{ crc32?: NativeCrc32 }>('node:zlib');
    if (zlib && typeof zlib.crc32 === 'function') nativeCrc32 = zlib.crc32;
  }
  return nativeCrc32;
}

/** Continues the CRC-32 `crc` (0 to start) over `data`, natively where the runtime offers it. */
export function crc32(data: Uint8Array, crc = 0): number {
  const native = getNativeCrc32();
  return native ? native(data, crc) >>> 0 : crc32Js(data, crc);
}

/** True when a native CRC-32 is in use (for tests and benchmarks). */
export function hasNativeCrc32(): boolean {
  return getNativeCrc32() !== null;
}

/** A CRC-32 as 8 lowercase hex digits, as messages show it. */
export function crc32Hex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, '0');
}
