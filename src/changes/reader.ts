/**
 * The reading side of the change log (docs/format.md, "Change log v2"): one
 * reader lists `journal/` then `changes/`, expands each pack into the
 * segments it holds (under their journal names), orders the segments by
 * name, skips what its per-writer watermarks say it has read, and turns each
 * new line into a change once storage confirms it (the object present for a
 * put, absent for a delete, the reference document holding the version). A
 * line not confirmed yet stays pending for {@link CHANGE_PENDING_MS}.
 *
 * Packs are immutable: each is read once per reader, its part names kept
 * while it is listed (the lines only until the poll that read them ends).
 *
 * A reader is a plain object polled by its owner (`stream.ts`); it keeps no
 * timer and touches storage only inside {@link ChangeReader.poll}.
 *
 * @module
 */
import { hasEach } from '../adapter/batch.js';
import type { StorageAdapter } from '../adapter/contract.js';
import { MAX_CHANGE_SEGMENTS } from '../archive/change-log.js';
import { CHANGE_KEY_PATTERN, CHANGE_PACK_KEY_PATTERN, CHANGES_PREFIX, changeKeyTimes, JOURNAL_PREFIX, objectKey, referenceKey, SEGMENT_KEY_PATTERN } from '../archive/layout.js';
import { ChangesTrimmedError, CorruptIndexError, throwIfAborted, UnsupportedVersionError } from '../errors.js';
import { mapLimit } from '../internal/pool.js';
import { decodeReferenceDocument, type ReferenceDocument } from '../refs/document.js';
import { decodeChangeLine, decodeChangeSegment, type ChangeRecord } from './lines.js';
import { splitPack, type PackPart } from './pack.js';
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

/** Where a segment's lines are: its own file (under `journal/` or `changes/`), or part `part` of a pack. */
type Source = { file: string } | { pack: string; part: number };

interface Segment {
  name: string;
  time: number;
  writer: string;
  seq: number;
  from: Source;
}

/** A pack as this reader knows it: its parts' names, and their lines until the poll that read them ends. */
interface CachedPack {
  parts: { name: string; time: number; writer: string; seq: number }[];
  lines?: PackPart[];
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
  /** The packs of the last listing (at or above the floor), by key: packs are immutable, so each is read once. */
  private readonly packs = new Map<string, CachedPack>();
  /** True once this poll listed `changes/` again for a segment that left `journal/` (once per poll is enough). */
  private relisted = false;

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
      const reader = new ChangeReader(settings, { floor, marks: new Map() });
      for (const seg of await reader.listSegments(floor, signal)) {
        if (seg.time >= now) continue; // named after the call: a change from now on
        const m = reader.marks.get(seg.writer);
        if (!m || seg.seq > m.seq) reader.marks.set(seg.writer, { seq: seg.seq, lines: ALL_LINES, time: seg.time });
      }
      reader.releaseLines(); // everything listed is behind the start
      return reader;
    }
    const start = decodePosition(since);
    const retained = settings.retentionMs > 0 ? settings.retentionMs : CHANGE_LOOKBACK_MS;
    const trimmed = (why: string) =>
      new ChangesTrimmedError(since, retained, `change position ${since} is older than the change log keeps (${why}): re-read what you need (list, refs.list) and resume with { since: 'now' }`);
    if (start.floor < now - retained) throw trimmed(`its floor ${new Date(start.floor).toISOString()} is more than ${retained} ms ago`);
    let kept = 0;
    let oldest = Infinity;
    for await (const key of settings.adapter.list(CHANGES_PREFIX, { signal })) {
      const times = changeKeyTimes(key);
      if (!times) continue;
      kept++;
      oldest = Math.min(oldest, times.oldest); // a pack holds segments back to its oldest part
    }
    if (kept >= MAX_CHANGE_SEGMENTS && oldest > start.floor) throw trimmed(`the log holds its maximum of ${MAX_CHANGE_SEGMENTS} files, the oldest after the position`);
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
      const changes = await this.pollOnce(signal);
      this.releaseLines(); // every segment listed is read now: only a failed poll reads them again
      return changes;
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
    this.relisted = false;
    const fresh = await this.readNew(await this.listSegments(listFloor, signal), listFloor, signal);
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
  private async readNew(segments: Segment[], floor: number, signal?: AbortSignal): Promise<Item[]> {
    const items: Item[] = [];
    for (const seg of segments) {
      const mark = this.marks.get(seg.writer);
      // A watermark from a position knows no time: learn it, or the floor would forget the writer too soon.
      if (mark && seg.seq === mark.seq) mark.time = Math.max(mark.time, seg.time);
      if (mark && (seg.seq < mark.seq || (seg.seq === mark.seq && mark.lines >= ALL_LINES))) continue;
      const from = mark && seg.seq === mark.seq ? mark.lines : 0;
      throwIfAborted(signal);
      const { key, lines } = await this.readSegment(seg, floor, signal);
      let damaged = 0;
      for (let line = from; line < lines.length; line++) {
        const rec = lines[line];
        if (rec) items.push({ seg, line, rec });
        else damaged++;
      }
      const part = key.endsWith('.pack') ? ` of part ${seg.name}` : '';
      if (damaged > 0) this.damaged({ key, lines: damaged, reason: `${damaged} line(s)${part} damaged, torn or unknown, skipped` });
      // Segments are written once, atomically: read to its end, it is done.
      this.marks.set(seg.writer, { seq: seg.seq, lines: ALL_LINES, time: seg.time });
    }
    return items;
  }

  /** The lines of `seg` and the key they were read from; none when it is gone from everywhere (trimmed, or folded without a log). */
  private async readSegment(seg: Segment, floor: number, signal?: AbortSignal): Promise<{ key: string; lines: (ChangeRecord | undefined)[] }> {
    const { adapter } = this.settings;
    if ('pack' in seg.from) return { key: seg.from.pack, lines: await this.partLines(seg.from.pack, seg.from.part, signal) };
    const bytes = await adapter.read(seg.from.file, { signal });
    if (bytes || !seg.from.file.startsWith(JOURNAL_PREFIX)) return { key: seg.from.file, lines: bytes ? decodeChangeSegment(bytes) : [] };
    // Listed under journal/ but folded since: the fold kept it under changes/ before the delete, in
    // a pack (one this poll listed, or one written after: list again, once per poll) or as a v1 copy.
    for (let again = !this.relisted; ; again = false) {
      for (const [key, pack] of this.packs) {
        const part = pack.parts.findIndex((p) => p.name === seg.name);
        if (part >= 0) return { key, lines: await this.partLines(key, part, signal) };
      }
      if (!again) break;
      this.relisted = true;
      await this.listChanges(floor, new Map(), signal);
    }
    const copy = CHANGES_PREFIX + seg.name;
    const v1 = await adapter.read(copy, { signal });
    return { key: copy, lines: v1 ? decodeChangeSegment(v1) : [] };
  }

  /** Part `part` of pack `key`, decoded (read again only if its lines were released by an earlier poll). */
  private async partLines(key: string, part: number, signal?: AbortSignal): Promise<(ChangeRecord | undefined)[]> {
    let pack = this.packs.get(key);
    if (!pack?.lines) pack = await this.loadPack(key, !pack, signal);
    const p = pack.lines?.[part];
    if (!p) return [];
    const lines = p.lines.map(decodeChangeLine);
    if (p.torn) lines[lines.length - 1] = undefined;
    return lines;
  }

  /** Reads and splits pack `key` and caches it; its damage is reported the first time only. */
  private async loadPack(key: string, first: boolean, signal?: AbortSignal): Promise<CachedPack> {
    const bytes = await this.settings.adapter.read(key, { signal });
    const times = changeKeyTimes(key)!;
    const split = bytes ? splitPack(bytes, times) : { parts: [], damaged: 0, reasons: [] };
    if (first && (split.damaged > 0 || split.reasons.length > 0)) this.damaged({ key, lines: split.damaged, reason: split.reasons.join('; ') });
    const pack: CachedPack = { parts: split.parts.map(({ name, time, writer, seq }) => ({ name, time, writer, seq })), lines: split.parts };
    this.packs.set(key, pack);
    return pack;
  }

  /** Forgets the lines of the cached packs (their part names stay): a reader holds a pack's text for one poll only. */
  private releaseLines(): void {
    for (const pack of this.packs.values()) pack.lines = undefined;
  }

  /** Segments named at or after `floor`, under `journal/` then `changes/` (in that order: see format.md), deduplicated, in name order. */
  private async listSegments(floor: number, signal?: AbortSignal): Promise<Segment[]> {
    const byName = new Map<string, Segment>();
    for await (const key of this.settings.adapter.list(JOURNAL_PREFIX, { signal })) {
      if (SEGMENT_KEY_PATTERN.test(key)) addSegment(byName, key.slice(JOURNAL_PREFIX.length), { file: key }, floor);
    }
    await this.listChanges(floor, byName, signal);
    return [...byName.values()].sort(compareNames);
  }

  /**
   * Adds to `byName` the segments under `changes/` named at or after `floor`
   * that it lacks: the `.log` files, and the parts of every pack whose newest
   * part is at or after `floor` (read when new). Forgets packs no longer listed.
   */
  private async listChanges(floor: number, byName: Map<string, Segment>, signal?: AbortSignal): Promise<void> {
    const packKeys: string[] = [];
    for await (const key of this.settings.adapter.list(CHANGES_PREFIX, { signal })) {
      if (CHANGE_KEY_PATTERN.test(key)) addSegment(byName, key.slice(CHANGES_PREFIX.length), { file: key }, floor);
      else if (CHANGE_PACK_KEY_PATTERN.test(key) && changeKeyTimes(key)!.newest >= floor) packKeys.push(key);
    }
    const listed = new Set(packKeys);
    for (const key of this.packs.keys()) if (!listed.has(key)) this.packs.delete(key);
    const fresh = packKeys.filter((key) => !this.packs.has(key));
    await mapLimit(fresh, this.settings.concurrency, (key) => this.loadPack(key, true, signal), signal);
    for (const key of packKeys) {
      this.packs.get(key)!.parts.forEach((p, part) => addSegment(byName, p.name, { pack: key, part }, floor));
    }
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

/** Adds segment `name` (a `<time>-<writer>-<seq>.log` name) found at `from`, unless it is older than `floor` or already listed. */
function addSegment(byName: Map<string, Segment>, name: string, from: Source, floor: number): void {
  const m = SEGMENT_NAME.exec(name);
  if (!m || byName.has(name)) return;
  const time = Number(m[1]);
  if (time >= floor) byName.set(name, { name, time, writer: m[2]!, seq: Number(m[3]), from });
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
