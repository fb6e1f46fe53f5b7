/**
 * The ZIP records this package reads and writes (PKWARE APPNOTE 6.3),
 * encoded and decoded by hand: fixed-size little-endian structures, nothing else.
 *
 * Every local header carries its CRC-32 and both sizes (no data descriptors):
 * a streaming reader then knows where each entry ends and what it must hold
 * without guessing. fflate's streaming `Zip` always defers sizes to a data
 * descriptor, and its `Unzip` finds the end of such an entry by scanning for a
 * signature that the entry's own bytes can contain, so the container is
 * written here and fflate is used for DEFLATE only.
 *
 * Zip64 appears only where plain ZIP runs out: more than 65,534 entries, a
 * central directory beyond 4 GiB, or a local header beyond 4 GiB (its offset
 * goes to a Zip64 extra field of the central record). Single entries stay
 * below 4 GiB.
 *
 * @module
 */

/** Signature of a local file header. */
export const LOCAL_HEADER_SIG = 0x04034b50;
/** Signature of a central directory record. */
export const CENTRAL_HEADER_SIG = 0x02014b50;
/** Signature of the end of central directory record. */
export const EOCD_SIG = 0x06054b50;
/** Signature of the Zip64 end of central directory record. */
export const ZIP64_EOCD_SIG = 0x06064b50;
/** Signature of the Zip64 end of central directory locator. */
export const ZIP64_LOCATOR_SIG = 0x07064b50;
/** Signature of a data descriptor (never written, refused by the reader). */
export const DATA_DESCRIPTOR_SIG = 0x08074b50;

/** Fixed part of a local header, bytes. */
export const LOCAL_HEADER_SIZE = 30;
/** Fixed part of a central record, bytes. */
export const CENTRAL_HEADER_SIZE = 46;
/** End of central directory record without comment, bytes. */
export const EOCD_SIZE = 22;
/** Zip64 end of central directory record (version 1, no extensible data), bytes. */
export const ZIP64_EOCD_SIZE = 56;
/** Zip64 locator, bytes. */
export const ZIP64_LOCATOR_SIZE = 20;

/** Compression methods read and written. */
export const METHOD_STORE = 0;
export const METHOD_DEFLATE = 8;

/** General-purpose flag bits the reader must reject. */
export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_DATA_DESCRIPTOR = 0x0008;
export const FLAG_STRONG_ENCRYPTION = 0x0040;

/** 1980-01-01 00:00:00 in MS-DOS date/time: every entry gets it, so no clock or time zone leaks into the bytes. */
export const DOS_DATE_1980 = (0 << 9) | (1 << 5) | 1;
export const DOS_TIME_MIDNIGHT = 0;

/** "Made by" Unix, spec 2.0: lets `unzip` apply the permission bits below. */
const VERSION_MADE_BY = (3 << 8) | 20;
const VERSION_NEEDED = 20;
const VERSION_NEEDED_ZIP64 = 45;
/** Regular file, rw-r--r--, in the high 16 bits of the external attributes (Unix convention). */
const EXTERNAL_ATTRS = (0o100644 << 16) >>> 0;

/** Largest value of a 16-bit / 32-bit field; that value itself means "see Zip64". */
export const MAX_U16 = 0xffff;
export const MAX_U32 = 0xffffffff;

/** What a ZIP record states about one entry. */
export interface ZipEntryInfo {
  /** Entry name (UTF-8). */
  name: string;
  /** 0 store, 8 deflate. */
  method: number;
  /** CRC-32 of the uncompressed bytes. */
  crc: number;
  /** Bytes stored in the zip. */
  compressedSize: number;
  /** Bytes after decompression. */
  size: number;
}

const encoder = /* @__PURE__ */ new TextEncoder();

/** UTF-8 bytes of an entry name: ASCII names (the common case) are encoded without a TextEncoder call. */
function nameBytes(name: string): Uint8Array {
  const out = new Uint8Array(name.length);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(name);
    out[i] = c;
  }
  return out;
}

/** Little-endian 16-bit value at `at`. */
export function readU16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

/** Little-endian 32-bit unsigned value at `at`. */
export function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** Reads a little-endian 64-bit unsigned as a number (exact below 2^53; larger is refused by the caller). */
export function getU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
}

function assertEntryFits(entry: ZipEntryInfo): void {
  if (entry.size >= MAX_U32 || entry.compressedSize >= MAX_U32) {
    throw new RangeError(`zip entry ${entry.name} is 4 GiB or more; this writer keeps single entries below 4 GiB (no Zip64 sizes)`);
  }
}

/** The local file header of `entry` (sizes and CRC included, no extra field). */
export function encodeLocalHeader(entry: ZipEntryInfo): Uint8Array {
  assertEntryFits(entry);
  const name = nameBytes(entry.name);
  const out = new Uint8Array(LOCAL_HEADER_SIZE + name.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, LOCAL_HEADER_SIG, true);
  v.setUint16(4, VERSION_NEEDED, true);
  v.setUint16(6, 0, true);
  v.setUint16(8, entry.method, true);
  v.setUint16(10, DOS_TIME_MIDNIGHT, true);
  v.setUint16(12, DOS_DATE_1980, true);
  v.setUint32(14, entry.crc >>> 0, true);
  v.setUint32(18, entry.compressedSize, true);
  v.setUint32(22, entry.size, true);
  v.setUint16(26, name.length, true);
  v.setUint16(28, 0, true);
  out.set(name, LOCAL_HEADER_SIZE);
  return out;
}

/** The central directory record of `entry`, whose local header starts at `offset`. */
export function encodeCentralHeader(entry: ZipEntryInfo, offset: number): Uint8Array {
  assertEntryFits(entry);
  const name = nameBytes(entry.name);
  const zip64 = offset >= MAX_U32;
  const extraLength = zip64 ? 12 : 0;
  const out = new Uint8Array(CENTRAL_HEADER_SIZE + name.length + extraLength);
  const v = new DataView(out.buffer);
  v.setUint32(0, CENTRAL_HEADER_SIG, true);
  v.setUint16(4, VERSION_MADE_BY, true);
  v.setUint16(6, zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED, true);
  v.setUint16(8, 0, true);
  v.setUint16(10, entry.method, true);
  v.setUint16(12, DOS_TIME_MIDNIGHT, true);
  v.setUint16(14, DOS_DATE_1980, true);
  v.setUint32(16, entry.crc >>> 0, true);
  v.setUint32(20, entry.compressedSize, true);
  v.setUint32(24, entry.size, true);
  v.setUint16(28, name.length, true);
  v.setUint16(30, extraLength, true);
  v.setUint16(32, 0, true); // comment
  v.setUint16(34, 0, true); // disk
  v.setUint16(36, 0, true); // internal attributes
  v.setUint32(38, EXTERNAL_ATTRS, true);
  v.setUint32(42, zip64 ? MAX_U32 : offset, true);
  out.set(name, CENTRAL_HEADER_SIZE);
  if (zip64) {
    const at = CENTRAL_HEADER_SIZE + name.length;
    v.setUint16(at, 0x0001, true);
    v.setUint16(at + 2, 8, true);
    setU64(v, at + 4, offset);
  }
  return out;
}

/**
 * The records that close the archive: Zip64 record and locator when needed,
 * then the end of central directory record. `cdOffset` is where the central
 * directory starts, `cdSize` its length, `count` the number of entries.
 */
export function encodeEnd(count: number, cdOffset: number, cdSize: number): Uint8Array {
  const zip64 = count >= MAX_U16 || cdOffset >= MAX_U32 || cdSize >= MAX_U32;
  const out = new Uint8Array((zip64 ? ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE : 0) + EOCD_SIZE);
  const v = new DataView(out.buffer);
  let at = 0;
  if (zip64) {
    const recordOffset = cdOffset + cdSize;
    v.setUint32(0, ZIP64_EOCD_SIG, true);
    setU64(v, 4, ZIP64_EOCD_SIZE - 12);
    v.setUint16(12, VERSION_MADE_BY, true);
    v.setUint16(14, VERSION_NEEDED_ZIP64, true);
    v.setUint32(16, 0, true);
    v.setUint32(20, 0, true);
    setU64(v, 24, count);
    setU64(v, 32, count);
    setU64(v, 40, cdSize);
    setU64(v, 48, cdOffset);
    v.setUint32(56, ZIP64_LOCATOR_SIG, true);
    v.setUint32(60, 0, true);
    setU64(v, 64, recordOffset);
    v.setUint32(72, 1, true);
    at = ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE;
  }
  v.setUint32(at, EOCD_SIG, true);
  v.setUint16(at + 4, 0, true);
  v.setUint16(at + 6, 0, true);
  v.setUint16(at + 8, Math.min(count, MAX_U16), true);
  v.setUint16(at + 10, Math.min(count, MAX_U16), true);
  v.setUint32(at + 12, Math.min(cdSize, MAX_U32), true);
  v.setUint32(at + 16, Math.min(cdOffset, MAX_U32), true);
  v.setUint16(at + 20, 0, true);
  return out;
}
