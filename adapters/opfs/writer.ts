/**
 * An OPFS engine as a writer: its id, its stamp clock, and the segment files
 * it appends its batches to. In `sync` mode (a worker) it keeps one active
 * segment open behind a sync access handle and rolls over to a new one at
 * `segmentBytes`; in `writable` mode (the main thread) every batch is a new,
 * whole segment file.
 *
 * @module
 */
import { fillRandom } from '../../src/platform.js';
import { randomId } from '../../src/internal/random-id.js';
import { segmentName, SEGMENT_HEADER_BYTES } from './format.js';
import { appendDurably, createSyncSegment, writeSegmentFile, type Segment, type SyncAccessHandle } from './segment.js';

/** The segment a `sync` writer appends to, through the handle it holds. */
export interface ActiveSegment {
  seg: Segment;
  handle: SyncAccessHandle;
  /** Bytes written so far (header included): the next batch goes here. */
  size: number;
}

/** This writer's side of the directory; see the module doc. */
export class SegmentWriter {
  /** The writer id in this writer's segment names and lifetime lock. */
  readonly id = randomId();
  /** Random tie-breaker of this writer's stamps. */
  readonly tag = (new Uint32Array(fillRandom(new Uint8Array(4)).buffer)[0]! | 1) >>> 0;
  /** The latest stamp seen (ours or read from any segment): ours are always later. */
  lastStamp = 0;
  active: ActiveSegment | undefined;
  private seq = 0;

  constructor(
    private readonly dir: FileSystemDirectoryHandle,
    private readonly mode: 'sync' | 'writable',
    private readonly segmentBytes: number,
    /** Makes a new segment of ours known to the engine. */
    private readonly register: (name: string, seq: number, handle: FileSystemFileHandle) => Segment,
  ) {}

  /** A stamp later than every one seen: about the time, in 1/1024 ms. */
  nextStamp(): number {
    const s = Math.max(Date.now() * 1024, this.lastStamp + 1);
    this.lastStamp = s;
    return s;
  }

  /** Appends one encoded batch durably; resolves the segment it went to and where it starts. */
  append(bytes: Uint8Array): Promise<{ seg: Segment; base: number }> {
    return this.mode === 'sync' ? this.appendSync(bytes) : this.appendWritable(bytes);
  }

  /** Closes the active segment's handle: nothing more is appended to it. */
  seal(): void {
    if (!this.active) return;
    try {
      this.active.handle.close();
    } catch {
      /* already closed */
    }
    this.active.seg.sealed = true;
    this.active.seg.file = undefined;
    this.active = undefined;
  }

  /** Appends to the active segment through its sync access handle, flushed before returning. */
  private async appendSync(bytes: Uint8Array): Promise<{ seg: Segment; base: number }> {
    if (this.active && this.active.size + bytes.byteLength > this.segmentBytes && this.active.size > SEGMENT_HEADER_BYTES) {
      this.seal();
    }
    if (!this.active) await this.startSegment();
    const active = this.active!;
    const base = active.size;
    // A failed append is taken back; if even that fails, never append to this segment again.
    appendDurably(active.handle, bytes, base, () => this.seal());
    active.size = base + bytes.byteLength;
    return { seg: active.seg, base };
  }

  private async startSegment(): Promise<void> {
    const seq = this.seq++;
    const name = segmentName(this.id, seq);
    const { handle, sync } = await createSyncSegment(this.dir, name);
    const seg = this.register(name, seq, handle);
    seg.scannedTo = SEGMENT_HEADER_BYTES;
    this.active = { seg, handle: sync, size: SEGMENT_HEADER_BYTES };
  }

  /** Writes the batch as a new, whole segment file (the browser swaps it in on close). */
  private async appendWritable(bytes: Uint8Array): Promise<{ seg: Segment; base: number }> {
    const seq = this.seq++;
    const name = segmentName(this.id, seq);
    const handle = await writeSegmentFile(this.dir, name, bytes);
    const seg = this.register(name, seq, handle);
    seg.sealed = true;
    return { seg, base: SEGMENT_HEADER_BYTES };
  }
}
