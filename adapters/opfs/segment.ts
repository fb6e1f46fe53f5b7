/**
 * Segment files of the OPFS engine: what the engine knows of each, and the
 * file I/O on them — creating one behind a sync access handle, appending a
 * batch durably, writing a whole one with `createWritable`, and scanning the
 * committed batches of one that may still be growing.
 *
 * @module
 */
import { isSegmentHeader, parseRecords, segmentHeader, SEGMENT_HEADER_BYTES, type ParsedRecord } from './format.js';

/** Minimal shape of a sync access handle (not in TypeScript's DOM lib). */
export interface SyncAccessHandle {
  read(buffer: Uint8Array, options?: { at?: number }): number;
  write(buffer: Uint8Array, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

type FileHandleWithSync = FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncAccessHandle> };
/** A directory handle with its async `keys()` iterator (not in every DOM lib version). */
export type IterableDirectory = FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };

/** What the engine knows of one segment file. */
export interface Segment {
  readonly name: string;
  readonly writer: string;
  readonly seq: number;
  readonly own: boolean;
  handle: FileSystemFileHandle | undefined;
  /** Committed bytes known: the next scan starts here. */
  scannedTo: number;
  /** No more appends will come (rolled over, a later segment of its writer exists, or written whole). */
  sealed: boolean;
  /** Record bytes in this segment, and those still part of the current state. */
  totalBytes: number;
  liveBytes: number;
  /** Snapshot used for reads of segments we do not hold a handle on. */
  file: File | undefined;
  /** Header was wrong or a batch was damaged: nothing more is read from it. */
  broken: boolean;
}

/** A segment nothing has been read from yet. */
export function newSegment(name: string, writer: string, seq: number, own: boolean, handle: FileSystemFileHandle | undefined): Segment {
  return { name, writer, seq, own, handle, scannedTo: 0, sealed: false, totalBytes: 0, liveBytes: 0, file: undefined, broken: false };
}

/** Thrown when a segment the index points into is gone (compacted by another tab): the caller re-reads. */
export class SegmentGone extends Error {}

/** True for the errors a vanished file gives (deleted by a compaction elsewhere). */
export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === 'NotFoundError' || name === 'NotReadableError';
}

/** Bytes read per call when scanning a segment. */
const SCAN_CHUNK = 4 * 1024 * 1024;

/**
 * Reads the committed batches of `seg` in `file` past `seg.scannedTo`, hands
 * their records to `apply` and advances `seg.scannedTo`. A torn batch (a
 * crash mid-write) ends the scan; in a segment that will not grow again it
 * marks the segment broken.
 */
export async function scanTail(seg: Segment, file: File, apply: (records: readonly ParsedRecord[]) => void): Promise<void> {
  let from = seg.scannedTo;
  if (from === 0) {
    if (file.size < SEGMENT_HEADER_BYTES) return; // being created
    const head = new Uint8Array(await file.slice(0, SEGMENT_HEADER_BYTES).arrayBuffer());
    if (!isSegmentHeader(head)) {
      seg.broken = true;
      return;
    }
    from = SEGMENT_HEADER_BYTES;
    seg.scannedTo = from;
  }
  while (from < file.size) {
    // Whole batches only: read generously, parse, and continue from the last commit.
    const to = Math.min(file.size, from + SCAN_CHUNK);
    let bytes = new Uint8Array(await file.slice(from, to).arrayBuffer());
    let parsed = parseRecords(bytes, from);
    if (parsed.committedEnd === from && !parsed.damaged && to < file.size) {
      // A batch larger than the chunk: read it all.
      bytes = new Uint8Array(await file.slice(from, file.size).arrayBuffer());
      parsed = parseRecords(bytes, from);
    }
    apply(parsed.records);
    if (parsed.damaged) {
      // A batch torn by a crash: nothing after it is trusted (its writer never appends past a tear).
      seg.broken = seg.sealed || seg.own;
    }
    if (parsed.committedEnd === from) break;
    from = parsed.committedEnd;
    seg.scannedTo = from;
  }
}

/** Creates segment `name` with its header, behind a sync access handle (workers only). */
export async function createSyncSegment(dir: FileSystemDirectoryHandle, name: string): Promise<{ handle: FileSystemFileHandle; sync: SyncAccessHandle }> {
  const handle = (await dir.getFileHandle(name, { create: true })) as FileHandleWithSync;
  const sync = await handle.createSyncAccessHandle();
  try {
    sync.truncate(0);
    sync.write(segmentHeader(), { at: 0 });
    sync.flush();
  } catch (error) {
    sync.close();
    await dir.removeEntry(name).catch(() => {});
    throw error;
  }
  return { handle, sync };
}

/**
 * Appends `bytes` at `at` and flushes: durable on return. On failure the
 * partial batch is truncated away so the segment still ends at a commit (a
 * short write is reported as `QuotaExceededError`); when
 * even that fails, `unusable()` is called (nothing may be appended there
 * again) before the error is rethrown.
 */
export function appendDurably(sync: SyncAccessHandle, bytes: Uint8Array, at: number, unusable: () => void): void {
  try {
    const written = sync.write(bytes, { at });
    if (written !== bytes.byteLength) {
      // Firefox does not throw when the origin's quota runs out under a sync handle: write() returns how much
      // fit (0 or a part). No space is the only reason a sync write stops short, so it is the quota refusal.
      throw Object.assign(new Error(`short write: ${written} of ${bytes.byteLength} bytes (the storage quota ran out)`), { name: 'QuotaExceededError' });
    }
    sync.flush();
  } catch (error) {
    try {
      sync.truncate(at);
      sync.flush();
    } catch {
      unusable();
    }
    throw error;
  }
}

/** Pieces of a retried `createWritable` write: small enough to fit a data pipe's buffer at once. */
const PIPE_SAFE_CHUNK = 64 * 1024;

/**
 * Writes segment `name` whole: its header and `bytes`, swapped in atomically
 * by the browser on close. Removed again when the write fails.
 */
export async function writeSegmentFile(dir: FileSystemDirectoryHandle, name: string, bytes: Uint8Array): Promise<FileSystemFileHandle> {
  const handle = await dir.getFileHandle(name, { create: true });
  const header = segmentHeader();
  const whole = new Uint8Array(header.byteLength + bytes.byteLength);
  whole.set(header);
  whole.set(bytes, header.byteLength);
  try {
    try {
      await writeWholeFile(handle, whole, whole.byteLength);
    } catch (error) {
      if (!isDataPipeAbort(error)) throw error;
      // Chromium may close a large write's data pipe before its verdict (often
      // QuotaExceededError) reaches the page, which then sees only this AbortError.
      // Written again in pieces that fit the pipe, the browser's answer arrives:
      // the real error, or success when the abort was something passing.
      await writeWholeFile(handle, whole, PIPE_SAFE_CHUNK);
    }
  } catch (error) {
    await dir.removeEntry(name).catch(() => {});
    throw error;
  }
  return handle;
}

/** Writes `bytes` as the whole new content of `handle` (swapped in on close), `chunk` bytes per write call. */
async function writeWholeFile(handle: FileSystemFileHandle, bytes: Uint8Array<ArrayBuffer>, chunk: number): Promise<void> {
  let stream: FileSystemWritableFileStream | undefined;
  try {
    stream = await handle.createWritable();
    if (bytes.byteLength <= chunk) await stream.write(bytes);
    else for (let at = 0; at < bytes.byteLength; at += chunk) await stream.write(bytes.subarray(at, at + chunk));
    await stream.close();
  } catch (error) {
    await stream?.abort().catch(() => {});
    throw error;
  }
}

/** Chromium's `AbortError: Failed to write data to data pipe` (see writeSegmentFile). */
function isDataPipeAbort(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'AbortError' && /data pipe/i.test(String((error as Error).message));
}
