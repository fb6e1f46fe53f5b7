/**
 * The OPFS engine's in-memory index: for each key, where its bytes lie in
 * which segments. Every writer's records are applied the same way — the last
 * put or delete by (stamp, tag) is the base, appends after it follow in stamp
 * order — so every tab resolves the same state whatever order it reads the
 * segments in. Records that stop being part of the state are counted as the
 * garbage of their segment (compaction's measure).
 *
 * @module
 */
import { RecordType, type ChangeType } from './format.js';
import type { Segment } from './segment.js';

/** Where one piece of a key's bytes lies. */
export interface Part {
  seg: Segment;
  offset: number;
  length: number;
  stamp: number;
  tag: number;
  /** Size of the whole record (garbage accounting). */
  size: number;
  append: boolean;
}

/** The current state of a key: its last put/delete (the base) and the appends after it. */
export interface KeyState {
  stamp: number;
  tag: number;
  /** The put part first (when the base is a put), then appends in stamp order. Empty: absent. */
  parts: Part[];
  /** The delete record that is the base, kept for garbage accounting. */
  tomb: { seg: Segment; size: number } | undefined;
}

const newer = (stamp: number, tag: number, than: { stamp: number; tag: number }) =>
  stamp > than.stamp || (stamp === than.stamp && tag > than.tag);

/** Key → {@link KeyState}, built by applying records; see the module doc. */
export class KeyIndex {
  private readonly keys = new Map<string, KeyState>();

  /** The state of `key`, if any record of it was applied. */
  get(key: string): KeyState | undefined {
    return this.keys.get(key);
  }

  /** True when `key` currently has bytes. */
  has(key: string): boolean {
    return (this.keys.get(key)?.parts.length ?? 0) > 0;
  }

  /** Up to `limit` present keys starting with `prefix` and sorting after `after`, in order. */
  page(prefix: string, after: string | undefined, limit: number): string[] {
    const out: string[] = [];
    for (const [key, state] of this.keys) {
      if (state.parts.length === 0 || !key.startsWith(prefix)) continue;
      if (after !== undefined && key <= after) continue;
      out.push(key);
    }
    out.sort();
    return out.length > limit ? out.slice(0, limit) : out;
  }

  /** Every key's state (a snapshot: safe to apply records meanwhile). */
  entries(): [string, KeyState][] {
    return [...this.keys];
  }

  /** Forgets every key. */
  clear(): void {
    this.keys.clear();
  }

  /** Applies one record: last stamp wins, appends after their base in stamp order. */
  apply(seg: Segment, type: ChangeType, key: string, stamp: number, tag: number, offset: number, length: number, size: number): void {
    seg.totalBytes += size;
    seg.liveBytes += size;
    const state = this.keys.get(key);
    if (state && !newer(stamp, tag, state)) {
      // Older than the key's last put or delete (or the same record seen twice, e.g. a compaction copy).
      seg.liveBytes -= size;
      return;
    }
    if (type === RecordType.Append) {
      const part: Part = { seg, offset, length, stamp, tag, size, append: true };
      if (!state) {
        this.keys.set(key, { stamp: -Infinity, tag: 0, parts: [part], tomb: undefined });
        return;
      }
      let i = state.parts.length;
      while (i > 0 && newer(state.parts[i - 1]!.stamp, state.parts[i - 1]!.tag, part) && state.parts[i - 1]!.append) i--;
      state.parts.splice(i, 0, part);
      return;
    }
    // A put or delete newer than the base: it becomes the base; older pieces become garbage.
    const kept: Part[] = [];
    if (state) {
      for (const p of state.parts) {
        if (p.append && newer(p.stamp, p.tag, { stamp, tag })) kept.push(p);
        else p.seg.liveBytes -= p.size;
      }
      if (state.tomb) state.tomb.seg.liveBytes -= state.tomb.size;
    }
    if (type === RecordType.Put) {
      kept.unshift({ seg, offset, length, stamp, tag, size, append: false });
      this.keys.set(key, { stamp, tag, parts: kept, tomb: undefined });
    } else {
      this.keys.set(key, { stamp, tag, parts: kept, tomb: { seg, size } });
    }
  }
}
