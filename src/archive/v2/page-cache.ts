/**
 * Decoded pages kept for lookups, bounded by the bytes they were read from
 * (least recently used first out). Pages are immutable under their key, so
 * a cached page never goes stale; it only stops being named once its run is
 * merged away.
 *
 * @module
 */
import type { Page } from './codec.js';

/** Default bound of the page cache: 8 MiB of page bytes. */
export const DEFAULT_PAGE_CACHE_BYTES = 8 * 1024 * 1024;

/** An LRU of decoded pages by key. */
export class PageCache {
  private readonly pages = new Map<string, { page: Page; bytes: number }>();
  private held = 0;

  constructor(readonly maxBytes = DEFAULT_PAGE_CACHE_BYTES) {}

  get(key: string): Page | undefined {
    const hit = this.pages.get(key);
    if (!hit) return undefined;
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    this.pages.delete(key);
    this.pages.set(key, hit);
    return hit.page;
  }

  set(key: string, page: Page, bytes: number): void {
    if (bytes > this.maxBytes) return;
    const old = this.pages.get(key);
    if (old) {
      this.held -= old.bytes;
      this.pages.delete(key);
    }
    this.pages.set(key, { page, bytes });
    this.held += bytes;
    for (const [k, v] of this.pages) {
      if (this.held <= this.maxBytes) break;
      this.pages.delete(k);
      this.held -= v.bytes;
    }
  }

  /** Bytes of the pages held. */
  get size(): number {
    return this.held;
  }

  clear(): void {
    this.pages.clear();
    this.held = 0;
  }
}
