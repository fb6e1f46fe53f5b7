/**
 * The on-disk format of the OPFS adapter: append-only segment files of
 * checksummed records, committed in batches.
 *
 * ```
 * segment  = header(16) record*
 * header   = "ASOPFS01" (8 bytes ASCII) + 8 reserved zero bytes
 * record   = u32 magic 0x52534124 ("$ASR")
 *            u8 type (1 put, 2 delete, 3 append, 4 commit)  u8 reserved  u16 key length
 *            u32 value length  f64 stamp  u32 writer tag
 *            u32 CRC-32 of bytes 4..24 + key + value
 *            key (ASCII)  value
 * ```
 * All integers little-endian. A batch is a run of records closed by a commit
 * record; a reader applies a batch only once it has read its commit, so a
 * batch torn by a crash (or still being written) is ignored as a whole: that
 * is what makes `write` atomic and `writeMany` all-or-nothing.
 *
 * `stamp` orders records across writers (several tabs each append to their own
 * segment): a hybrid logical clock, `ms * 1024 + counter`, never below any
 * stamp its writer has seen; `tag` (random per writer) breaks ties.
 *
 * @module
 */
import { crc32 } from '../../src/zip/crc32.js';

/** First bytes of every segment file. */
export const SEGMENT_MAGIC = 'ASOPFS01';
/** Bytes before the first record. */
export const SEGMENT_HEADER_BYTES = 16;
/** Magic number at the start of every record ("$ASR" read little-endian). */
export const RECORD_MAGIC = 0x52534124;
/** Fixed part of a record, before the key. */
export const RECORD_HEADER_BYTES = 28;
/** File name suffix of segment files. */
export const SEGMENT_SUFFIX = '.seg';

/** Record types. */
export const RecordType = { Put: 1, Delete: 2, Append: 3, Commit: 4 } as const;
/** A record type that carries a key (everything but the commit marker). */
export type ChangeType = 1 | 2 | 3;

/** One change to encode. */
export interface RecordInput {
  type: ChangeType;
  key: string;
  /** The value (put, append); ignored for delete. */
  value?: Uint8Array;
  stamp: number;
  tag: number;
}

/** A record found by {@link parseRecords}: where its value lies in the segment. */
export interface ParsedRecord {
  type: ChangeType;
  key: string;
  stamp: number;
  tag: number;
  /** Offset of the value in the segment file. */
  valueOffset: number;
  valueLength: number;
  /** Offset of the record's first byte, and its total size (for garbage accounting). */
  offset: number;
  size: number;
}

/** What {@link parseRecords} found in a range of a segment. */
export interface ParseResult {
  /** Records of complete, committed batches, in file order. */
  records: ParsedRecord[];
  /** Offset just after the last commit record: where the next scan starts. */
  committedEnd: number;
  /** True when bytes after `committedEnd` are damaged (not merely incomplete): a torn batch. */
  damaged: boolean;
  /** Number of committed batches found. */
  batches: number;
}

const encoder = /* @__PURE__ */ new TextEncoder();
const decoder = /* @__PURE__ */ new TextDecoder();

/** The 16-byte header a new segment starts with. */
export function segmentHeader(): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  out.set(encoder.encode(SEGMENT_MAGIC));
  return out;
}

/** True when `bytes` starts with a valid segment header. */
export function isSegmentHeader(bytes: Uint8Array): boolean {
  if (bytes.byteLength < SEGMENT_HEADER_BYTES) return false;
  return decoder.decode(bytes.subarray(0, SEGMENT_MAGIC.length)) === SEGMENT_MAGIC;
}

/** Size of the encoded record of `input`. */
export function recordSize(input: RecordInput): number {
  return RECORD_HEADER_BYTES + input.key.length + (input.type === RecordType.Delete ? 0 : (input.value?.byteLength ?? 0));
}

/**
 * Encodes a batch: every record, then the commit record, in one buffer (so it
 * is written with one call and flushed once). Resolves the offset of each
 * record's value relative to the start of the buffer.
 */
export function encodeBatch(inputs: readonly RecordInput[], commitStamp: number, tag: number): { bytes: Uint8Array; valueOffsets: number[] } {
  let total = RECORD_HEADER_BYTES;
  for (const r of inputs) total += recordSize(r);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const valueOffsets: number[] = [];
  let at = 0;
  const put = (type: number, key: string, value: Uint8Array | undefined, stamp: number, recTag: number) => {
    const keyLength = key.length;
    const valueLength = value?.byteLength ?? 0;
    view.setUint32(at, RECORD_MAGIC, true);
    view.setUint8(at + 4, type);
    view.setUint8(at + 5, 0);
    view.setUint16(at + 6, keyLength, true);
    view.setUint32(at + 8, valueLength, true);
    view.setFloat64(at + 12, stamp, true);
    view.setUint32(at + 20, recTag >>> 0, true);
    // Keys are ASCII (assertValidKey), so one byte per character.
    for (let i = 0; i < keyLength; i++) bytes[at + RECORD_HEADER_BYTES + i] = key.charCodeAt(i);
    const valueAt = at + RECORD_HEADER_BYTES + keyLength;
    if (value) bytes.set(value, valueAt);
    let crc = crc32(bytes.subarray(at + 4, at + 24));
    crc = crc32(bytes.subarray(at + RECORD_HEADER_BYTES, valueAt + valueLength), crc);
    view.setUint32(at + 24, crc, true);
    at = valueAt + valueLength;
    return valueAt;
  };
  for (const r of inputs) valueOffsets.push(put(r.type, r.key, r.type === RecordType.Delete ? undefined : r.value, r.stamp, r.tag));
  put(RecordType.Commit, '', undefined, commitStamp, tag);
  return { bytes, valueOffsets };
}

/**
 * Parses the records in `bytes`, which hold the segment from file offset
 * `base` on (`base` is at a record boundary). Only batches closed by a commit
 * record are returned. Stops at the first incomplete or damaged record.
 */
export function parseRecords(bytes: Uint8Array, base: number): ParseResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: ParsedRecord[] = [];
  let pending: ParsedRecord[] = [];
  let at = 0;
  let committedEnd = base;
  let damaged = false;
  let batches = 0;
  while (at + RECORD_HEADER_BYTES <= bytes.byteLength) {
    if (view.getUint32(at, true) !== RECORD_MAGIC) {
      damaged = true;
      break;
    }
    const type = view.getUint8(at + 4);
    const keyLength = view.getUint16(at + 6, true);
    const valueLength = view.getUint32(at + 8, true);
    const end = at + RECORD_HEADER_BYTES + keyLength + valueLength;
    if (type < RecordType.Put || type > RecordType.Commit || (type === RecordType.Commit && keyLength + valueLength !== 0)) {
      damaged = true;
      break;
    }
    if (end > bytes.byteLength) break; // incomplete: a batch still being written, or torn at the end
    let crc = crc32(bytes.subarray(at + 4, at + 24));
    crc = crc32(bytes.subarray(at + RECORD_HEADER_BYTES, end), crc);
    if (crc !== view.getUint32(at + 24, true)) {
      damaged = true;
      break;
    }
    if (type === RecordType.Commit) {
      for (const r of pending) records.push(r);
      pending = [];
      committedEnd = base + end;
      batches++;
    } else {
      const keyStart = at + RECORD_HEADER_BYTES;
      pending.push({
        type: type as ChangeType,
        key: decoder.decode(bytes.subarray(keyStart, keyStart + keyLength)),
        stamp: view.getFloat64(at + 12, true),
        tag: view.getUint32(at + 20, true),
        valueOffset: base + keyStart + keyLength,
        valueLength,
        offset: base + at,
        size: end - at,
      });
    }
    at = end;
  }
  return { records, committedEnd, damaged, batches };
}

/** `<writer>-<seq>.seg`: the file name of a writer's `seq`-th segment. */
export function segmentName(writer: string, seq: number): string {
  return `${writer}-${String(seq).padStart(8, '0')}${SEGMENT_SUFFIX}`;
}

/** The writer id and sequence number in a segment file name, or undefined for other files. */
export function parseSegmentName(name: string): { writer: string; seq: number } | undefined {
  const m = /^([0-9a-z]{8,32})-(\d{8})\.seg$/.exec(name);
  return m ? { writer: m[1]!, seq: Number(m[2]) } : undefined;
}
