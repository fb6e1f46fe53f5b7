/**
 * The lines of the change log (docs/format.md, "Change log v2"): the
 * journal's `put` and `del` lines, kept by a fold in a pack (`pack.ts`), and
 * the `ref <name>` line a references handle writes under `changes/` before a
 * compare-and-swap.
 * Every line carries the journal's checksum (first 8 hex of the SHA-256 of
 * its body), so one damaged line is skipped without losing its neighbours.
 *
 * @module
 */
import { checkedBody, checksummedLine, decodeLine, type JournalRecord } from '../archive/journal.js';
import { isReferenceName } from '../refs/name.js';

/** One line of a change segment. */
export type ChangeRecord = JournalRecord | { op: 'ref'; name: string };

const encoder = /* @__PURE__ */ new TextEncoder();
const decoder = /* @__PURE__ */ new TextDecoder();

/** The bytes of a reference change segment: one checksummed `ref <name>` line. */
export function encodeRefSegment(name: string): Uint8Array {
  return encoder.encode(checksummedLine(`ref ${name}`));
}

function decodeRefLine(line: string): ChangeRecord | undefined {
  if (line.length < 14 || !line.startsWith('ref ', 9)) return undefined;
  const body = checkedBody(line);
  if (body === undefined) return undefined;
  const name = body.slice(4);
  return isReferenceName(name) ? { op: 'ref', name } : undefined;
}

/** One line of a change segment (without its newline): a record, or `undefined` when damaged or unknown. */
export function decodeChangeLine(line: string): ChangeRecord | undefined {
  return decodeLine(line) ?? decodeRefLine(line);
}

/** A change segment's lines, in order: a record, or `undefined` for a damaged, torn or unknown line. */
export function decodeChangeSegment(bytes: Uint8Array): (ChangeRecord | undefined)[] {
  const lines = decoder.decode(bytes).split('\n');
  const tail = lines.pop(); // '' for a well-terminated segment, else a torn tail
  const out: (ChangeRecord | undefined)[] = lines.map(decodeChangeLine);
  if (tail) out.push(undefined);
  return out;
}
