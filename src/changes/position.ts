/**
 * Positions in the change log (docs/format.md, "Change log v1", Positions):
 * a floor (unix ms) and, per writer, a watermark — every segment of that
 * writer below `seq` is read, and the first `lines` lines of segment `seq`.
 * Spelled `1:<floor>:<writer>.<seq>.<lines>,…`; opaque to applications.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js';

/** How far one writer's segments have been read. */
export interface Watermark {
  seq: number;
  /** Lines of segment `seq` read ({@link ALL_LINES}: all of it). */
  lines: number;
  /** Time in the name of segment `seq` (not encoded: only used to forget writers below the floor). */
  time: number;
}

/** A reader's place in the log. */
export interface ChangePosition {
  floor: number;
  marks: Map<string, Watermark>;
}

/** `lines` of a watermark that covers its whole segment, however long (a start at `'now'` never reads the segments it skips). */
export const ALL_LINES = 999_999_999;

const POSITION = /^1:(\d{1,15}):((?:[0-9a-z]{1,32}\.\d{1,12}\.\d{1,9})(?:,[0-9a-z]{1,32}\.\d{1,12}\.\d{1,9})*)?$/;

/** The string of `p`, writers in name order (the same place gives the same string). */
export function encodePosition(p: ChangePosition): string {
  const marks = [...p.marks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([w, m]) => `${w}.${m.seq}.${m.lines}`);
  return `1:${Math.max(0, Math.floor(p.floor))}:${marks.join(',')}`;
}

/** Parses a position string; `INVALID_ARGUMENT` for anything else (including another version). */
export function decodePosition(s: unknown): ChangePosition {
  const m = typeof s === 'string' ? POSITION.exec(s) : null;
  if (!m) {
    throw new InvalidArgumentError(`not a change position: ${JSON.stringify(s)?.slice(0, 80)}; pass a position from a change (change.position) or 'now'`);
  }
  const floor = Number(m[1]);
  const marks = new Map<string, Watermark>();
  for (const part of m[2] ? m[2].split(',') : []) {
    const [w, seq, lines] = part.split('.') as [string, string, string];
    if (marks.has(w)) throw new InvalidArgumentError(`change position names writer ${w} twice: ${s as string}`);
    marks.set(w, { seq: Number(seq), lines: Number(lines), time: floor });
  }
  return { floor, marks };
}
