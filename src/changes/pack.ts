/**
 * Packs of the change log (docs/format.md, "Change log v2", Packs): the
 * journal segments one fold folded, in one file, each as a part — a
 * checksummed header `<c> seg <segment name> <n>` and then exactly the
 * segment's `n` lines as they were stored. One file per fold instead of one
 * per segment (a close after 300 single puts wrote 300 files on node-fs), and
 * the bytes the fold already had instead of every line encoded and hashed
 * again.
 *
 * A pack is split by its counts, never by the look of a line: a copied line
 * that happens to read like a header is still content. Only where a header
 * is expected does a reader look for the next valid one (damage).
 *
 * @module
 */
import { checkedBody, checksummedLine, encodeSegment, parseSegmentKey, type JournalRecord } from '../archive/journal.js';
import { JOURNAL_PREFIX } from '../archive/layout.js';
import { concatBytes } from '../zip/byte-reader.js';

const encoder = /* @__PURE__ */ new TextEncoder();
const decoder = /* @__PURE__ */ new TextDecoder();

const NEWLINE = 0x0a;
const COUNT = /^(0|[1-9]\d{0,8})$/;

/** A folded journal segment to put in a pack. */
export interface PackPartInput {
  /** Its journal key, `journal/<time>-<writer>-<seq>.log`. */
  key: string;
  records: readonly JournalRecord[];
  /** Its bytes as the fold read (or this handle wrote) them: copied verbatim when given. */
  bytes?: Uint8Array;
}

function countLines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** The part's lines: the stored bytes up to their last newline (a torn tail must not run into the next header). */
function partBody(part: PackPartInput): Uint8Array {
  if (!part.bytes) return encodeSegment(part.records);
  const end = part.bytes.lastIndexOf(NEWLINE) + 1;
  return end === part.bytes.byteLength ? part.bytes : part.bytes.subarray(0, end);
}

function headerBody(name: string, lines: number): string {
  return `seg ${name} ${lines}`;
}

/** The bytes of a pack holding `parts`, in the order given (the caller gives name order); parts without a line are left out. */
export function encodePack(parts: readonly PackPartInput[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const part of parts) {
    const body = partBody(part);
    const lines = countLines(body);
    if (lines === 0) continue;
    const header = encoder.encode(checksummedLine(headerBody(part.key.slice(JOURNAL_PREFIX.length), lines)));
    chunks.push(header, body);
    total += header.byteLength + body.byteLength;
  }
  return concatBytes(chunks, total);
}

/** One part of a pack as read: the segment it was, and its lines (without newlines). */
export interface PackPart {
  /** The segment's name under `journal/`. */
  name: string;
  time: number;
  writer: string;
  seq: number;
  lines: string[];
  /** The last line was cut by the end of the pack (it counts as damaged). */
  torn: boolean;
}

/** A pack split into its parts, and what was skipped as damaged (outside any part). */
export interface SplitPack {
  parts: PackPart[];
  /** Lines skipped or missing because of the pack's structure (headers, counts, names); 0 when sound. */
  damaged: number;
  /** Why, in words, when `damaged` > 0 or a part was dropped. */
  reasons: string[];
}

function parseHeader(line: string): { name: string; time: number; writer: string; seq: number; count: number } | undefined {
  if (line.length < 14 || !line.startsWith('seg ', 9)) return undefined;
  const body = checkedBody(line);
  if (body === undefined) return undefined;
  const fields = body.split(' ');
  if (fields.length !== 3 || !COUNT.test(fields[2]!)) return undefined;
  const seg = parseSegmentKey(JOURNAL_PREFIX + fields[1]!);
  return seg && { name: fields[1]!, time: seg.time, writer: seg.writer, seq: seg.seq, count: Number(fields[2]) };
}

/**
 * Splits a pack named for parts from `range.oldest` to `range.newest` (ms).
 * Never throws: whatever does not fit the format is counted in `damaged` and
 * skipped (docs/format.md lists the cases), the sound parts are kept.
 */
export function splitPack(bytes: Uint8Array, range: { oldest: number; newest: number }): SplitPack {
  const lines = decoder.decode(bytes).split('\n');
  const tail = lines.pop()!; // '' for a well-terminated pack, else a torn last line
  const tornAt = tail ? lines.push(tail) - 1 : -1;
  const parts: PackPart[] = [];
  const seen = new Set<string>();
  const reasons: string[] = [];
  let damaged = 0;
  let skipped = 0;
  for (let i = 0; i < lines.length; ) {
    const header = i === tornAt ? undefined : parseHeader(lines[i]!);
    if (!header) {
      skipped++;
      i++;
      continue;
    }
    const start = i + 1;
    const end = Math.min(lines.length, start + header.count);
    i = start + header.count;
    if (end - start < header.count) {
      damaged += header.count - (end - start);
      reasons.push(`part ${header.name} is cut short: ${end - start} of ${header.count} lines`);
    }
    if (header.time < range.oldest || header.time > range.newest || seen.has(header.name)) {
      damaged += end - start;
      reasons.push(`part ${header.name} ${seen.has(header.name) ? 'comes twice' : 'is named outside the pack\'s times'}: skipped`);
      continue;
    }
    seen.add(header.name);
    const { name, time, writer, seq } = header;
    parts.push({ name, time, writer, seq, lines: lines.slice(start, end), torn: tornAt >= start && tornAt < end });
  }
  if (skipped > 0) reasons.unshift(`${skipped} line(s) where a part header was expected: skipped`);
  return { parts, damaged: damaged + skipped, reasons };
}
