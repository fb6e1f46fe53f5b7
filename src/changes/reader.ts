/**
 * The reading side of the change log (docs/format.md, "Change log v1"): one
 * reader lists `journal/` then `changes/`, orders the segments by name, skips
 * what its per-writer watermarks say it has read, and turns each new line
 * into a change once storage confirms it (the object present for a put,
 * absent for a delete, the reference document holding the version). A line
 * not confirmed yet stays pending for {@link CHANGE_PENDING_MS}.
 *
 * A reader is a plain object polled by its owner (`stream.ts`); it keeps no
 * timer and touches storage only inside {@link ChangeReader.poll}.
 *
 * @module
 */
import { hasEach } from '../adapter/batch.js';
import type { StorageAdapter } from '../adapter/contract.js';
import { MAX_CHANGE_SEGMENTS } from '../archive/change-log.js';
import { CHANGE_KEY_PATTERN, CHANGES_PREFIX, JOURNAL_PREFIX, objectKey, referenceKey, SEGMENT_KEY_PATTERN } from '../archive/layout.js';
import { ChangesTrimmedError, CorruptIndexError, throwIfAborted, UnsupportedVersionError } from '../errors.js';
import { mapLimit } from '../internal/pool.js';
import { decodeReferenceDocument, type ReferenceDocument } from '../refs/document.js';
import { decodeChangeSegment, type ChangeRecord } from './lines.js';
import { ALL_LINES, decodePosition, encodePosition, type ChangePosition, type Watermark } from './position.js';
import type { ArchiveChange, DamagedChange } from './types.js';

/** A segment is read if it shows up less than this long (reader's clock) after the time in its name. */
export const CHANGE_LOOKBACK_MS = 30_000;

/** A line whose object operation (or reference swap) has not shown up is dropped this long after its segment's time. */
export const CHANGE_PENDING_MS = 60_000;

/** What a reader needs of its archive. */
export interface ChangeReaderSettings {
  adapter: StorageAdapter;
  now: () => number;
  /** The archive's `changeRetentionMs` (judges whether a position was trimmed). */
  retentionMs: number;
  concurrency: number;
  /** True for writer ids of this handle (its journal, its references handles). */
  isLocal: (writer: string) => boolean;
  onDamaged?: (damage: DamagedChange) => void;
}

interface Segment {
  name: string;
  time: number;
  writer: string;
  seq: number;
}

interface Item {
  seg: Segment;
  line: number;
  rec: ChangeRecord;
}

/** A change before its position and origin are known. */
type ChangeBody = ArchiveChange extends infer C ? (C extends ArchiveChange ? Omit<C, 'position' | 'local'> : never) : never;

type DocResult = { doc: ReferenceDocument | undefined } | { error: unknown };

const SEGMENT_NAME = /^(\d{15})-([0-9a-z]{1,32})-(\d{1,12})\.log$/;

function compareNames(a: Segment, b: Segment): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** `a` before `b` in one writer's order. */
function before(a: { seq: number; lines: number }, b: { seq: number; lines: number }): boolean {
  return a.seq < b.seq || (a.seq === b.seq && a.lines < b.lines);
}

/** Reads the change log from a position on; see the module comment. */
export class ChangeReader {
  private floor: number;
  private readonly marks: Map<string, Watermark>;
  private pending: Item[] = [];
  /** Highest `seq` emitted per reference name. */
  private readonly refSeq = new Map<string, number>();

  private constructor(
    private readonly settings: ChangeReaderSettings,
    start: ChangePosition,
  ) {
    this.floor = start.floor;
    this.marks = start.marks;
  }

  /**
   * A reader after `since` (a position string) or at the present (`'now'`).
   * `CHANGES_TRIMMED` when the log may have lost what followed `since`;
   * `INVALID_ARGUMENT` for a string that is not a position.
   */
  static async open(settings: ChangeReaderSettings, since: string, signal?: AbortSignal): Promise<ChangeReader> {
    const now = settings.now();
    if (since === 'now') {
      const floor = now - CHANGE_LOOKBACK_MS;
      const marks = new Map<string, Watermark>();
      for (const seg of await listSegments(settings.adapter, floor, signal)) {
        if (seg.time >= now) continue; // named after the call: a change from now on
        const m = marks.get(seg.writer);
        if (!m || seg.seq > m.seq) marks.set(seg.writer, { seq: seg.seq, lines: ALL_LINES, time: seg.time });
      }
      return new ChangeReader(settings, { floor, marks });
    }
    const start = decodePosition(since);
    const retained = settings.retentionMs > 0 ? settings.retentionMs : CHANGE_LOOKBACK_MS;
    const trimmed = (why: string) =>
      new ChangesTrimmedError(since, retained, `change position ${since} is older than the change log keeps (${why}): re-read what you need (list, refs.list) and resume with { since: 'now' }`);
    if (start.floor < now - retained) throw trimmed(`its floor ${new Date(start.floor).toISOString()} is more than ${retained} ms ago`);
    let kept = 0;
    let oldest = Infinity;
    for await (const key of settings.adapter.list(CHANGES_PREFIX, { signal })) {
      const m = CHANGE_KEY_PATTERN.exec(key);
      if (!m) continue;
      kept++;
      oldest = Math.min(oldest, Number(m[1]));
    }
    if (kept >= MAX_CHANGE_SEGMENTS && oldest > start.floor) throw trimmed(`the log holds its maximum of ${MAX_CHANGE_SEGMENTS} segments, the oldest after the position`);
    return new ChangeReader(settings, start);
  }

  /** The position after everything returned so far. */
  position(): string {
    return encodePosition({ floor: this.floor, marks: this.capped(new Map(), this.pending) });
  }

  /** Reads the log once; resolves the changes confirmed since the last poll, in log order. */
  async poll(signal?: AbortSignal): Promise<ArchiveChange[]> {
    // A failed poll leaves the reader where it was: the next one reads the same lines again.
    const marks = new Map(this.marks);
    const { pending, floor } = this;
    try {
      return await this.pollOnce(signal);
    } catch (e) {
      this.marks.clear();
      for (const [w, m] of marks) this.marks.set(w, m);
      this.pending = pending;
      this.floor = floor;
      throw e;
    }
  }

  private async pollOnce(signal?: AbortSignal): Promise<ArchiveChange[]> {
    const { adapter, concurrency } = this.settings;
    const now = this.settings.now();
    const listFloor = this.floor;
    const fresh = await this.readNew(await listSegments(adapter, listFloor, signal), signal);
    const items = [...this.pending, ...fresh];
    this.pending = [];
    if (items.length === 0) return this.advance(now), [];

    // One batched existence check for every put/del line, one read per reference name.
    const objectItems = items.filter((it) => it.rec.op !== 'ref');
    const present = await hasEach(adapter, objectItems.map((it) => objectKey((it.rec as { hash: string }).hash)), concurrency, { signal });
    const presence = new Map(objectItems.map((it, i) => [it, present[i]!]));
    const names = [...new Set(items.flatMap((it) => (it.rec.op === 'ref' ? [it.rec.name] : [])))];
    const docs = new Map(names.map((n, i) => [n, i] as const));
    const read = await mapLimit(names, concurrency, (name) => readDoc(adapter, name, signal), signal);

    // For each writer, the items not walked yet (to cap the positions handed out mid-way).
    const ahead = new Map<string, Item[]>();
    for (const it of items) (ahead.get(it.seg.writer) ?? ahead.set(it.seg.writer, []).get(it.seg.writer)!).push(it);
    const laterHash = new Map<string, number>();
    // A version belongs to the newest intent of its name at or before its time (times grow with seq):
    // each intent emits the versions up to the next intent's time, so a resumed reader emits each once.
    const nextIntent = new Map<number, number>();
    const lastIntent = new Map<string, number>();
    items.forEach((it, i) => {
      if (it.rec.op !== 'ref') return laterHash.set(it.rec.hash, i);
      const prev = lastIntent.get(it.rec.name);
      if (prev !== undefined) nextIntent.set(prev, it.seg.time);
      lastIntent.set(it.rec.name, i);
    });

    const out: ArchiveChange[] = [];
    const emit = (it: Item, change: ChangeBody) => {
      out.push({ ...change, local: this.settings.isLocal(it.seg.writer), position: '' } as ArchiveChange);
    };
    for (const [i, it] of items.entries()) {
      ahead.get(it.seg.writer)!.shift();
      const before = out.length;
      const { rec } = it;
      if (rec.op === 'ref') {
        const r = read[docs.get(rec.name)!]!;
        if ('error' in r) {
          this.damaged({ key: referenceKey(rec.name), lines: 0, reason: r.error instanceof Error ? r.error.message : String(r.error) });
        } else {
          const versions = r.doc?.versions ?? [];
          const last = this.refSeq.get(rec.name) ?? 0;
          for (const v of [...versions].reverse()) {
            if (v.time < it.seg.time || v.time >= (nextIntent.get(i) ?? Infinity) || v.seq <= last) continue;
            this.refSeq.set(rec.name, v.seq);
            if (v.hash === null) emit(it, { kind: 'ref-delete', name: rec.name, seq: v.seq, time: v.time });
            else emit(it, { kind: 'ref-set', name: rec.name, hash: v.hash, seq: v.seq, time: v.time, ...(v.meta === undefined ? {} : { meta: v.meta }) });
          }
          if (!versions.some((v) => v.time >= it.seg.time)) this.keepPending(it, now);
        }
      } else if (presence.get(it)! === (rec.op === 'put')) {
        emit(it, rec.op === 'put' ? { kind: 'put', hash: rec.hash, size: rec.size } : { kind: 'delete', hash: rec.hash });
      } else if (laterHash.get(rec.hash) === i) {
        this.keepPending(it, now); // not settled yet, and no later line undoes it
      }
      if (out.length > before) {
        const position = encodePosition({ floor: listFloor, marks: this.capped(ahead, this.pending) });
        for (let j = before; j < out.length; j++) out[j]!.position = position;
      }
    }
    this.advance(now);
    return out;
  }

  /** Reads the segments not covered by the watermarks; moves the watermarks past them. */
  private async readNew(segments: Segment[], signal?: AbortSignal): Promise<Item[]> {
    const items: Item[] = [];
    for (const seg of segments) {
      const mark = this.marks.get(seg.writer);
      // A watermark from a position knows no time: learn it, or the floor would forget the writer too soon.
      if (mark && seg.seq === mark.seq) mark.time = Math.max(mark.time, seg.time);
      if (mark && (seg.seq < mark.seq || (seg.seq === mark.seq && mark.lines >= ALL_LINES))) continue;
      const from = mark && seg.seq === mark.seq ? mark.lines : 0;
      throwIfAborted(signal);
      const { adapter } = this.settings;
      // Listed under journal/ but folded since: its copy is under changes/ (written before the delete).
      const bytes = (await adapter.read(JOURNAL_PREFIX + seg.name, { signal })) ?? (await adapter.read(CHANGES_PREFIX + seg.name, { signal }));
      const lines = bytes ? decodeChangeSegment(bytes) : [];
      let damaged = 0;
      for (let line = from; line < lines.length; line++) {
        const rec = lines[line];
        if (rec) items.push({ seg, line, rec });
        else damaged++;
      }
      if (damaged > 0) this.damaged({ key: CHANGES_PREFIX + seg.name, lines: damaged, reason: `${damaged} line(s) damaged, torn or unknown, skipped` });
      // Segments are written once, atomically: read to its end, it is done.
      this.marks.set(seg.writer, { seq: seg.seq, lines: ALL_LINES, time: seg.time });
    }
    return items;
  }

  private keepPending(it: Item, now: number): void {
    if (now - it.seg.time < CHANGE_PENDING_MS) this.pending.push(it);
  }

  /** The watermarks, each held back to the first item of its writer still ahead or pending. */
  private capped(ahead: ReadonlyMap<string, readonly Item[]>, pending: readonly Item[]): Map<string, Watermark> {
    const marks = new Map<string, Watermark>();
    for (const [w, m] of this.marks) marks.set(w, { ...m });
    const hold = (it: Item) => {
      const at = { seq: it.seg.seq, lines: it.line, time: it.seg.time };
      const m = marks.get(it.seg.writer);
      if (!m || before(at, m)) marks.set(it.seg.writer, at);
    };
    for (const list of ahead.values()) if (list[0]) hold(list[0]);
    for (const it of pending) hold(it);
    return marks;
  }

  /** Moves the floor up to the lookback (or the oldest pending segment) and forgets writers below it. */
  private advance(now: number): void {
    let floor = now - CHANGE_LOOKBACK_MS;
    for (const it of this.pending) floor = Math.min(floor, it.seg.time);
    this.floor = Math.max(this.floor, floor);
    for (const [w, m] of this.marks) if (m.time < this.floor) this.marks.delete(w);
  }

  private damaged(d: DamagedChange): void {
    try {
      this.settings.onDamaged?.(d);
    } catch {
      // A throwing report hook must not stop the listener.
    }
  }
}

/** Segments named at or after `floor`, under `journal/` then `changes/` (in that order: see format.md), deduplicated, in name order. */
async function listSegments(adapter: StorageAdapter, floor: number, signal?: AbortSignal): Promise<Segment[]> {
  const byName = new Map<string, Segment>();
  for (const [prefix, pattern] of [
    [JOURNAL_PREFIX, SEGMENT_KEY_PATTERN],
    [CHANGES_PREFIX, CHANGE_KEY_PATTERN],
  ] as const) {
    for await (const key of adapter.list(prefix, { signal })) {
      if (!pattern.test(key)) continue;
      const name = key.slice(prefix.length);
      const m = SEGMENT_NAME.exec(name)!;
      const time = Number(m[1]);
      if (time >= floor && !byName.has(name)) byName.set(name, { name, time, writer: m[2]!, seq: Number(m[3]) });
    }
  }
  return [...byName.values()].sort(compareNames);
}

async function readDoc(adapter: StorageAdapter, name: string, signal?: AbortSignal): Promise<DocResult> {
  const key = referenceKey(name);
  try {
    const bytes = await adapter.read(key, { signal });
    return { doc: bytes && decodeReferenceDocument(bytes, key, name) };
  } catch (error) {
    // A damaged or newer document is reported and skipped; a failing backend fails the poll.
    if (error instanceof CorruptIndexError || error instanceof UnsupportedVersionError) return { error };
    throw error;
  }
}
