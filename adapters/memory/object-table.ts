/**
 * The archive's objects (`objects/<aa>/<bb>/<64 hex>.json`) of a
 * {@link MemoryStore}, kept in typed arrays: no heap object per value.
 *
 * Why: a Map of key strings to slab views holds three heap objects per
 * object (the key string, the view, and the key again in the folder tree),
 * and V8 marks every one of them on each major collection. At ten million
 * objects that is thirty million objects to mark, and the fill of a memory
 * archive spent 15-35 % of its wall time in main-thread GC pauses between
 * 1M and 3M (a PerformanceObserver on 'gc'). Here an object is a row of
 * columns (its hash as eight 32-bit words, where its bytes are, their
 * length, its version) in a few large typed arrays, found through an
 * open-addressing hash table of row numbers, and listed through one row list
 * per `objects/<aa>/<bb>/` folder. The bytes live in 1 MiB slabs as before
 * (adapters/memory/slabs.ts explains the compaction rule, which is the same).
 *
 * Only keys of exactly that shape, with the folders the hash's own first
 * four digits, lowercase, are kept here; every other key (including an
 * object key spelled any other way) stays in the store's Map, so nothing a
 * caller writes is refused or renamed.
 *
 * @module
 */
import { hexDigit } from './key-tree.js';
import { SLAB_BYTES, SLAB_MAX_VALUE } from './slabs.js';

const PREFIX = 'objects/';
const SUFFIX = '.json';
/** `objects/` + `aa/bb/` + 64 hex + `.json`. */
export const OBJECT_KEY_LENGTH = PREFIX.length + 6 + 64 + SUFFIX.length;

/** Where a row's bytes are when they are not in a slab (too big, or empty): `offset` indexes {@link ObjectTable.big}. */
const OWN_BUFFER = -1;
/** A row on the free list. */
const FREE = -2;
/** A row whose bytes were just released, before its new bytes are placed (or it is freed). */
const NOWHERE = -3;
/** Folders of the table: one per 16-bit hash prefix (`objects/<aa>/<bb>/`). */
const FOLDERS = 1 << 16;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A growable Uint32Array list. */
class U32List {
  items = new Uint32Array(4);
  length = 0;
  push(v: number): number {
    if (this.length === this.items.length) {
      const grown = new Uint32Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    this.items[this.length] = v;
    return this.length++;
  }
}

/** One slab: its bytes, how far they are used, how many still hold a stored value, and which rows were written into it. */
interface Slab {
  bytes: Uint8Array;
  used: number;
  live: number;
  rows: U32List;
}

/** The objects of one store; see the module doc. */
export class ObjectTable {
  /** Objects held. */
  size = 0;
  /** Bytes of the objects held. */
  bytes = 0;
  /** Slabs held, compactions made, rows moved, slots visited by lookups: for tests and figures. */
  readonly counts = { slabs: 0, compactions: 0, moved: 0, probes: 0 };

  // Rows: column arrays indexed by row number, grown by doubling.
  private capacity = 0;
  private rows = 0;
  private words = new Uint32Array(0);
  private slabOf = new Int32Array(0);
  private offset = new Uint32Array(0);
  private length = new Uint32Array(0);
  private version = new Float64Array(0);
  /** Position of the row in its folder's list (so a delete is O(1)). */
  private folderPos = new Uint32Array(0);
  private readonly freeRows = new U32List();

  /** Open addressing, linear probing: row + 1 per slot, 0 empty; deletes shift back, so no tombstones. */
  private slots = new Int32Array(0);
  private mask = 0;
  /** 32 - log2(slots). */
  private shift = 32;
  /**
   * Mixed into the slot of a hash before any of its words, non-linearly, so keys chosen to collide in
   * one table (the adapter takes any key of an object's shape, not only true digests) do not in another.
   */
  private readonly seed = (Math.random() * 0x1_0000_0000) >>> 0;

  /** Rows of each `objects/<aa>/<bb>/` folder by its number, made when first needed (a store of a few objects holds a few). */
  private readonly folders = new Map<number, U32List>();

  private readonly slabs: (Slab | undefined)[] = [];
  private readonly freeSlabs: number[] = [];
  private current = -1;
  /** Values with a buffer of their own, by index (`offset` of an {@link OWN_BUFFER} row). */
  private readonly big: (Uint8Array | undefined)[] = [];
  private readonly freeBig: number[] = [];

  private lastVersion = 0;
  /** The hash of the key last given to {@link parse}. */
  private readonly key = new Uint32Array(8);

  /**
   * Reads `key` into the table's scratch hash when it is an object key this
   * table keeps (see the module doc); every other call takes the key parsed
   * last, so a caller parses once and then reads, writes or deletes it.
   */
  parse(key: string): boolean {
    if (key.length !== OBJECT_KEY_LENGTH || !key.startsWith(PREFIX) || !key.endsWith(SUFFIX)) return false;
    if (key.charCodeAt(10) !== 47 || key.charCodeAt(13) !== 47) return false;
    // The folders are the hash's first four digits.
    if (key.charCodeAt(8) !== key.charCodeAt(14) || key.charCodeAt(9) !== key.charCodeAt(15)) return false;
    if (key.charCodeAt(11) !== key.charCodeAt(16) || key.charCodeAt(12) !== key.charCodeAt(17)) return false;
    for (let w = 0; w < 8; w++) {
      let v = 0;
      for (let i = 14 + w * 8, end = i + 8; i < end; i++) {
        const n = hexDigit(key.charCodeAt(i));
        if (n < 0) return false;
        v = (v << 4) | n;
      }
      this.key[w] = v >>> 0;
    }
    return true;
  }

  /** The row of the parsed key, or -1. */
  private find(): number {
    const k = this.key;
    const mask = this.mask;
    if (this.slots.length === 0) return -1;
    for (let i = this.slotOf(k); ; i = (i + 1) & mask) {
      this.counts.probes++;
      const s = this.slots[i]!;
      if (s === 0) return -1;
      if (this.sameHash(s - 1, k)) return s - 1;
    }
  }

  /** Home slot of a hash: all eight words mixed into the seed (xor, multiply, xor-shift each), top bits. */
  private slotOf(k: Uint32Array): number {
    let h = this.seed;
    for (let i = 0; i < 8; i++) {
      h = Math.imul(h ^ k[i]!, 0x9e3779b1);
      h ^= h >>> 15;
    }
    return Math.imul(h, 0x85ebca6b) >>> this.shift;
  }

  private sameHash(row: number, k: Uint32Array): boolean {
    const w = this.words;
    const at = row * 8;
    for (let i = 0; i < 8; i++) if (w[at + i] !== k[i]) return false;
    return true;
  }

  /** Whether the parsed key is held. */
  has(): boolean {
    return this.find() >= 0;
  }

  /** A copy of the parsed key's bytes, or undefined. */
  read(): Uint8Array | undefined {
    const row = this.find();
    return row < 0 ? undefined : this.bytesOf(row).slice();
  }

  /** The parsed key's version token (a new one for every write), or null. */
  versionOf(): string | null {
    const row = this.find();
    return row < 0 ? null : `o${this.version[row]!.toString(36)}`;
  }

  /** Stores a copy of `bytes` under the parsed key, with a new version. */
  write(bytes: Uint8Array): void {
    let row = this.find();
    if (row >= 0) this.release(row);
    else row = this.insert();
    this.place(row, bytes);
    this.bytes += bytes.byteLength;
    this.version[row] = ++this.lastVersion;
  }

  /** Removes the parsed key; whether it was held. */
  delete(): boolean {
    const row = this.find();
    if (row < 0) return false;
    this.release(row);
    this.unslot(row);
    this.leaveFolder(row);
    this.slabOf[row] = FREE;
    this.freeRows.push(row);
    this.size--;
    return true;
  }

  /**
   * The keys under `prefix`, one folder at a time: each array is a snapshot
   * of one `objects/<aa>/<bb>/` folder's matching keys, taken when the walk
   * reaches it, in ascending folder order. `check` (the caller's abort
   * check) runs at every folder that holds keys.
   */
  *under(prefix: string, check: () => void): Generator<string[]> {
    const range = this.folderRange(prefix);
    if (!range) return;
    const exact = prefix.length <= PREFIX.length + 6;
    const [lo, hi] = range;
    // The folders held in the range, in order: from the Map's keys when it holds fewer than the range spans.
    const numbers =
      this.folders.size < hi - lo + 1
        ? [...this.folders.keys()].filter((f) => f >= lo && f <= hi).sort((a, b) => a - b)
        : Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    for (const f of numbers) {
      const list = this.folders.get(f);
      if (!list || list.length === 0) continue;
      check();
      const out: string[] = [];
      for (let i = 0; i < list.length; i++) {
        const key = this.keyOf(list.items[i]!);
        if (exact || key.startsWith(prefix)) out.push(key);
      }
      if (out.length) yield out;
    }
  }

  /** The first and last folder whose keys can start with `prefix`, or undefined when none can. */
  private folderRange(prefix: string): [number, number] | undefined {
    if (prefix.length <= PREFIX.length) return PREFIX.startsWith(prefix) ? [0, FOLDERS - 1] : undefined;
    if (!prefix.startsWith(PREFIX)) return undefined;
    // Digits of the folder number are at 8, 9 (then '/'), 11, 12 (then '/'); a prefix fixes the first few.
    let value = 0;
    let digits = 0;
    for (const pos of [8, 9, 10, 11, 12, 13]) {
      if (pos >= prefix.length) break;
      const c = prefix.charCodeAt(pos);
      if (pos === 10 || pos === 13) {
        if (c !== 47) return undefined;
        continue;
      }
      const n = hexDigit(c);
      if (n < 0) return undefined;
      value = (value << 4) | n;
      digits++;
    }
    const shift = 4 * (4 - digits);
    return [value << shift, ((value + 1) << shift) - 1];
  }

  /** The key of a row, spelled as the layout spells it. */
  private keyOf(row: number): string {
    const w = this.words;
    let hex = '';
    for (let i = row * 8, end = i + 8; i < end; i++) {
      const v = w[i]!;
      hex += HEX[v >>> 24]! + HEX[(v >>> 16) & 255]! + HEX[(v >>> 8) & 255]! + HEX[v & 255]!;
    }
    return `${PREFIX}${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}${SUFFIX}`;
  }

  /** The stored bytes of a row (a view: not for callers). */
  private bytesOf(row: number): Uint8Array {
    const s = this.slabOf[row]!;
    const at = this.offset[row]!;
    if (s === OWN_BUFFER) return this.big[at]!;
    return this.slabs[s]!.bytes.subarray(at, at + this.length[row]!);
  }

  /** A new row for the parsed key: slotted, in its folder, no bytes yet. */
  private insert(): number {
    if ((this.size + 1) * 2 > this.slots.length) this.reslot(Math.max(128, this.slots.length * 2));
    if (this.freeRows.length === 0 && this.rows === this.capacity) this.grow();
    const row = this.freeRows.length > 0 ? this.freeRows.items[--this.freeRows.length]! : this.rows++;
    this.words.set(this.key, row * 8);
    let i = this.slotOf(this.key);
    while (this.slots[i] !== 0) i = (i + 1) & this.mask;
    this.slots[i] = row + 1;
    const folder = this.key[0]! >>> 16;
    let list = this.folders.get(folder);
    if (!list) this.folders.set(folder, (list = new U32List()));
    this.folderPos[row] = list.push(row);
    this.size++;
    return row;
  }

  /** Doubles the rows' columns. */
  private grow(): void {
    const cap = Math.max(64, this.capacity * 2);
    const widen = <T extends Uint32Array | Int32Array | Float64Array>(old: T, make: (n: number) => T, per = 1): T => {
      const next = make(cap * per);
      next.set(old);
      return next;
    };
    this.words = widen(this.words, (n) => new Uint32Array(n), 8);
    this.slabOf = widen(this.slabOf, (n) => new Int32Array(n));
    this.offset = widen(this.offset, (n) => new Uint32Array(n));
    this.length = widen(this.length, (n) => new Uint32Array(n));
    this.version = widen(this.version, (n) => new Float64Array(n));
    this.folderPos = widen(this.folderPos, (n) => new Uint32Array(n));
    this.capacity = cap;
  }

  /** New slots, `n` of them (a power of two, kept at most half full), and every row slotted again. */
  private reslot(n: number): void {
    this.slots = new Int32Array(n);
    this.mask = n - 1;
    this.shift = 32 - Math.log2(n);
    const k = new Uint32Array(8);
    for (let row = 0; row < this.rows; row++) {
      if (this.slabOf[row] === FREE) continue;
      k.set(this.words.subarray(row * 8, row * 8 + 8));
      let i = this.slotOf(k);
      while (this.slots[i] !== 0) i = (i + 1) & this.mask;
      this.slots[i] = row + 1;
    }
  }

  /** Takes a row out of the slots; the rows after it in its probe run shift back (no tombstones). */
  private unslot(row: number): void {
    const mask = this.mask;
    let i = this.slotOf(this.key);
    while (this.slots[i] !== row + 1) i = (i + 1) & mask;
    const k = new Uint32Array(8);
    for (let j = (i + 1) & mask; this.slots[j] !== 0; j = (j + 1) & mask) {
      const r = this.slots[j]! - 1;
      k.set(this.words.subarray(r * 8, r * 8 + 8));
      const home = this.slotOf(k);
      // Move r back into the hole at i unless its home lies cyclically in (i, j].
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        this.slots[i] = this.slots[j]!;
        i = j;
      }
    }
    this.slots[i] = 0;
  }

  private leaveFolder(row: number): void {
    const list = this.folders.get(this.words[row * 8]! >>> 16)!;
    const pos = this.folderPos[row]!;
    const last = list.items[--list.length]!;
    if (last !== row) {
      list.items[pos] = last;
      this.folderPos[last] = pos;
    }
  }

  /** Copies `bytes` into the row's storage: a slab when small, a buffer of its own otherwise. */
  private place(row: number, bytes: Uint8Array): void {
    const n = bytes.byteLength;
    this.length[row] = n;
    if (n === 0 || n > SLAB_MAX_VALUE) {
      const at = this.freeBig.length > 0 ? this.freeBig.pop()! : this.big.length;
      this.big[at] = new Uint8Array(bytes);
      this.slabOf[row] = OWN_BUFFER;
      this.offset[row] = at;
      return;
    }
    let s = this.current >= 0 ? this.slabs[this.current] : undefined;
    if (!s || s.used + n > SLAB_BYTES) {
      const full = this.current;
      this.current = this.freeSlabs.length > 0 ? this.freeSlabs.pop()! : this.slabs.length;
      this.slabs[this.current] = s = { bytes: new Uint8Array(SLAB_BYTES), used: 0, live: 0, rows: new U32List() };
      this.counts.slabs++;
      // A slab mostly dead when it fills is compacted now, into the new one (a quarter of it at most).
      if (full >= 0) this.maybeCompact(full);
      return this.place(row, bytes);
    }
    s.bytes.set(bytes, s.used);
    this.slabOf[row] = this.current;
    this.offset[row] = s.used;
    s.used += n;
    s.live += n;
    s.rows.push(row);
  }

  /** The row's bytes are no longer stored (deleted or about to be replaced). */
  private release(row: number): void {
    const n = this.length[row]!;
    this.bytes -= n;
    const s = this.slabOf[row]!;
    if (s === OWN_BUFFER) {
      const at = this.offset[row]!;
      this.big[at] = undefined;
      this.freeBig.push(at);
      return;
    }
    this.slabOf[row] = NOWHERE; // no longer in slab s, so the compaction below leaves it
    const slab = this.slabs[s]!;
    slab.live -= n;
    if (s !== this.current) this.maybeCompact(s);
  }

  /** Moves a mostly dead slab's live values into the current slab and gives the slab back (see slabs.ts). */
  private maybeCompact(s: number): void {
    const slab = this.slabs[s]!;
    if (slab.live * 4 >= slab.used) return;
    this.slabs[s] = undefined;
    this.counts.slabs--;
    this.counts.compactions++;
    for (let i = 0; i < slab.rows.length; i++) {
      const row = slab.rows.items[i]!;
      // A row listed here may since have been rewritten elsewhere or freed (and reused).
      if (this.slabOf[row] !== s) continue;
      const at = this.offset[row]!;
      const value = slab.bytes.subarray(at, at + this.length[row]!);
      this.place(row, value);
      this.counts.moved++;
    }
    this.freeSlabs.push(s);
  }
}
