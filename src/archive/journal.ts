/**
 * The index journal: what changed since `index.json` was last compacted.
 *
 * The journal is a set of immutable segments, each written once with the
 * adapter's atomic `write` under `journal/<time>-<writer>-<seq>.log`. Segments
 * are never appended to or rewritten, so any process can fold a segment into
 * `index.json` and then delete it without racing its writer; and the scheme
 * needs nothing beyond the five required adapter calls (S3 has no append).
 *
 * A segment is UTF-8 lines, each carrying its own checksum so that damage (or
 * a torn tail, should a segment ever be produced by an appending backend) is
 * ignored line by line instead of poisoning the whole segment:
 *
 * ```text
 * <c> put <hash> <size> <storedAt>\n
 * <c> del <hash>\n
 * ```
 *
 * `<c>` is the first 8 hex digits of the SHA-256 of the rest of the line
 * (everything after `<c> `, without the newline).
 *
 * A line is an intent, stored BEFORE the object operation it describes can be
 * seen (a write-ahead log): after a crash every object that exists is named by
 * `index.json` or by some segment, so replaying the journal never needs a scan
 * of the objects. A put's segment and objects may share one durability
 * barrier, the segment stored first within it (`commit-queue.ts` says when,
 * and why that is enough). Whether an intent took effect is decided by
 * looking at the object (objects are the truth), see `fold.ts`.
 *
 * @module
 */
import { isSha256Hex, sha256Hex } from '../hash.js';
import { JOURNAL_PREFIX, SEGMENT_KEY_PATTERN, segmentKey } from './layout.js';

// The segment key's spelling lives in layout.ts; these names stay importable from here.
export { JOURNAL_PREFIX, segmentKey };

/** One journal record. */
export type JournalRecord =
  | { op: 'put'; hash: string; size: number; storedAt: number }
  | { op: 'del'; hash: string };

/** A segment's identity, parsed from its key. */
export interface SegmentName {
  key: string;
  /** Unix ms when the writer wrote it (writer's clock). */
  time: number;
  /** Random id of the archive handle that wrote it. */
  writer: string;
  seq: number;
}

/** Parses a segment key; `undefined` for keys under `journal/` that are not segments. */
export function parseSegmentKey(key: string): SegmentName | undefined {
  const m = SEGMENT_KEY_PATTERN.exec(key);
  if (!m) return undefined;
  return { key, time: Number(m[1]), writer: m[2]!, seq: Number(m[3]) };
}

const encoder = /* @__PURE__ */ new TextEncoder();
const decoder = /* @__PURE__ */ new TextDecoder();

function recordBody(r: JournalRecord): string {
  return r.op === 'put' ? `put ${r.hash} ${r.size} ${r.storedAt}` : `del ${r.hash}`;
}

/**
 * `body` as one checksummed line (with its newline): the first 8 hex digits of
 * its SHA-256, a space, the body. The line format of the journal, and of every
 * line of the change log (reference intents, pack headers).
 */
export function checksummedLine(body: string): string {
  return `${sha256Hex(body).slice(0, 8)} ${body}\n`;
}

/** The body of a checksummed line (without its newline) when its checksum holds; `undefined` otherwise. */
export function checkedBody(line: string): string | undefined {
  if (line.length < 10 || line[8] !== ' ') return undefined;
  const body = line.slice(9);
  return sha256Hex(body).slice(0, 8) === line.slice(0, 8) ? body : undefined;
}

/** One checksummed line (with its newline). */
export function encodeLine(r: JournalRecord): string {
  return checksummedLine(recordBody(r));
}

/** The bytes of a segment holding `records`. */
export function encodeSegment(records: readonly JournalRecord[]): Uint8Array {
  let text = '';
  for (const r of records) text += encodeLine(r);
  return encoder.encode(text);
}

const NON_NEGATIVE_INT = /^(0|[1-9]\d{0,15})$/;

/** Parses one line (without newline); `undefined` when torn, damaged or unknown. */
export function decodeLine(line: string): JournalRecord | undefined {
  const body = checkedBody(line);
  if (body === undefined) return undefined;
  const parts = body.split(' ');
  if (parts[0] === 'put' && parts.length === 4) {
    const [, hash, size, at] = parts as [string, string, string, string];
    if (!isSha256Hex(hash) || !NON_NEGATIVE_INT.test(size) || !NON_NEGATIVE_INT.test(at)) return undefined;
    return { op: 'put', hash, size: Number(size), storedAt: Number(at) };
  }
  if (parts[0] === 'del' && parts.length === 2 && isSha256Hex(parts[1])) return { op: 'del', hash: parts[1] };
  return undefined;
}

/** What a segment holds: its good records and how many lines were dropped as damaged. */
export interface DecodedSegment {
  records: JournalRecord[];
  damaged: number;
}

/** Parses a segment, skipping damaged lines and a torn (unterminated) tail. */
export function decodeSegment(bytes: Uint8Array): DecodedSegment {
  const text = decoder.decode(bytes);
  const lines = text.split('\n');
  // The last piece is '' for a well-terminated segment, else a torn tail.
  const tail = lines.pop();
  let damaged = tail ? 1 : 0;
  const records: JournalRecord[] = [];
  for (const line of lines) {
    const r = decodeLine(line);
    if (r) records.push(r);
    else damaged++;
  }
  return { records, damaged };
}
