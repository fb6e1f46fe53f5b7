/**
 * Small values of a memory store copied into shared slabs (1 MiB
 * ArrayBuffers), each value a view of its slab: one heap object per value
 * instead of a Uint8Array, an ArrayBuffer and its off-heap backing store.
 * At millions of values the garbage collector marks and sweeps each of those
 * on every major collection: a bare Map of 5M values of 200 bytes took 13-34 s
 * per full `gc()` with a copy per value (median 21 s), 5-17 s with views
 * (median 7.4 s), and 4.5 GB of memory against 3.3 GB (load ~12).
 *
 * The views are what the store Map holds, so `memoryAdapter({ store })`
 * and tests that read or damage a store directly see plain Uint8Arrays as
 * before. Nobody else gets them: the adapter copies bytes in on every write
 * and hands out copies on every read (the contract: a caller may mutate what
 * it wrote and what it read).
 *
 * Space of values deleted or replaced is given back by compaction: when a
 * full slab's live bytes fall under a quarter of it, its live values are
 * copied into the current slab and the store is pointed at the copies, so
 * the old slab is left to the collector. Moving at most a quarter of a slab
 * for every three quarters freed keeps a delete O(1) amortised; a slab
 * that stays above a quarter live is kept, so dead space is at most three
 * quarters of the slabs' bytes. Values put in the Map by hand, or removed
 * round the adapter's methods, may be counted wrong: that can only keep a
 * slab alive longer or compact it sooner, never lose a value (a move checks
 * that the key still holds a view of the slab it empties).
 *
 * @module
 */

/** Bytes of one slab. */
export const SLAB_BYTES = 1 << 20;
/** Values up to this size go into slabs; bigger ones get a buffer of their own (few, and not worth sharing). */
export const SLAB_MAX_VALUE = 16 << 10;

/** One slab: its bytes, how far they are used, how many of them still hold a stored value, and whose. */
class Slab {
  readonly bytes = new Uint8Array(SLAB_BYTES);
  /** Bytes handed out (from the start). */
  used = 0;
  /** Bytes of values still stored (as far as the store's own methods told us). */
  live = 0;
  /** Keys written into this slab, in order (a key may come twice; a later write may have moved it away). */
  readonly keys: string[] = [];
}

/** What the slabs need of the store: its raw get and set (no key is added or removed by a move). */
export interface SlabHost {
  get(key: string): Uint8Array | undefined;
  /** Replaces the value of an existing key with `moved`, a copy of `old` in another slab. */
  move(key: string, old: Uint8Array, moved: Uint8Array): void;
}

/** The slabs of one store; see the module doc. */
export class Slabs {
  private current: Slab | undefined;
  /** Slabs not yet compacted away, by their buffer (so a value's slab is one lookup of `value.buffer`). */
  private readonly byBuffer = new WeakMap<ArrayBufferLike, Slab>();
  /** Slabs held (current included), and moves made: for tests and figures. */
  readonly counts = { slabs: 0, compactions: 0, moved: 0 };

  constructor(private readonly host: SlabHost) {}

  /** A private copy of `bytes` for `key`: a view of a slab when small, else a Uint8Array of its own. */
  copy(key: string, bytes: Uint8Array): Uint8Array {
    const n = bytes.byteLength;
    if (n > SLAB_MAX_VALUE || n === 0) return new Uint8Array(bytes);
    let s = this.current;
    if (!s || s.used + n > SLAB_BYTES) {
      const full = s;
      this.current = new Slab();
      this.byBuffer.set(this.current.bytes.buffer, this.current);
      this.counts.slabs++;
      // A slab mostly dead when it fills is compacted now; its moves go to the new slab (a quarter of
      // it at most), so the copy below then finds room there.
      if (full) this.maybeCompact(full);
      return this.copy(key, bytes);
    }
    const at = s.used;
    s.bytes.set(bytes, at);
    s.used = at + n;
    s.live += n;
    s.keys.push(key);
    return s.bytes.subarray(at, at + n);
  }

  /** `old` is no longer stored (deleted or replaced): its slab counts it dead, and is compacted when mostly dead. */
  release(old: unknown): void {
    // Anything may have been put in the Map by hand; only our views have a slab.
    if (!(old instanceof Uint8Array)) return;
    const s = this.byBuffer.get(old.buffer);
    if (!s) return;
    s.live -= old.byteLength;
    if (s !== this.current) this.maybeCompact(s);
  }

  private maybeCompact(s: Slab): void {
    if (s.live * 4 >= s.used) return;
    // Forget the slab first: the moves below release its values, which must not compact it again.
    this.byBuffer.delete(s.bytes.buffer);
    this.counts.slabs--;
    this.counts.compactions++;
    for (const key of s.keys) {
      const v = this.host.get(key);
      if (!v || v.buffer !== s.bytes.buffer) continue;
      this.host.move(key, v, this.copy(key, v));
      this.counts.moved++;
    }
  }
}
