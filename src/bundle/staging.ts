/**
 * Where an import keeps verified objects until the commit: memory up to a
 * budget, then segments under `bundle-staging/<start>-<id>/` on the archive's
 * adapter (keys the archive never lists), and the clean-up of staging left
 * by imports that were killed midway.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { deleteEach, writeBatch } from '../adapter/batch.js';
import { BUNDLE_STAGING_PREFIX, stagingStartOf } from '../archive/layout.js';
import { HostileBundleError, InvalidArgumentError } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { mapLimit } from '../internal/pool.js';
import { randomHex } from '../internal/random-id.js';
import { SLICE_MS, type TimeSlicer } from '../internal/yield.js';
import { encodeRecord, isRecordKey, recordKey, rollForwardRecords, type PlannedWrite } from './reference-commit.js';

/** Bytes of one staging segment (a key holding many staged objects). */
const SEGMENT_BYTES = 8 * 1024 * 1024;
/** Bounds of one `putManyBytes` call when committing from staging (bytes also bounded by the memory budget, at least 64 KiB). */
const COMMIT_BATCH_BYTES = 8 * 1024 * 1024;
const COMMIT_BATCH_MIN_BYTES = 64 * 1024;
const COMMIT_BATCH_OBJECTS = 4096;
/**
 * Objects in the first commit batch; later batches are sized by
 * {@link nextCommitObjects} (128 to 4096 objects) so that one `putManyBytes`
 * call, which hashes and checks its objects in one go, takes about one time
 * slice.
 */
export const COMMIT_FIRST_OBJECTS = 256;
const COMMIT_MIN_OBJECTS = 128;
/** Deletes in flight on rollback and clean-up. */
export const DELETE_GROUP = 32;

/** One verified object waiting for the commit. */
export interface StagedObject {
  hash: string;
  bytes: Uint8Array;
}

/**
 * Verified objects waiting for the commit: a memory buffer that spills to
 * the adapter beyond the budget. Spilled objects are packed into segments of
 * up to 8 MiB under `bundle-staging/<id>/<n>.seg` (each object as 32 bytes of
 * hash, 4 of length, then its bytes): one key per segment, not per object,
 * so staging costs a few large writes on any backend.
 */
export class Staging {
  readonly prefix: string;
  private memory: StagedObject[] = [];
  private memoryBytes = 0;
  private readonly segments: string[] = [];
  private total = 0;
  /** Set before the first staging write starts: a write that fails midway may still have left keys. */
  private touched = false;

  constructor(
    private readonly adapter: StorageAdapter,
    private readonly budget: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    // The start time leads the folder name so that clearBundleStaging({ olderThanMs }) can tell old from running.
    this.prefix = `${BUNDLE_STAGING_PREFIX}${Date.now().toString(36)}-${randomHex(8)}/`;
  }

  /** Objects staged so far. */
  get count(): number {
    return this.total;
  }

  async add(hash: string, bytes: Uint8Array): Promise<void> {
    this.memory.push({ hash, bytes });
    this.memoryBytes += bytes.length;
    this.total++;
    if (this.memoryBytes > this.budget) await this.spill();
  }

  private async spill(): Promise<void> {
    this.touched = true;
    const entries: { key: string; bytes: Uint8Array }[] = [];
    let group: StagedObject[] = [];
    let groupBytes = 0;
    const close = () => {
      const key = `${this.prefix}${this.segments.length + entries.length}.seg`;
      entries.push({ key, bytes: encodeSegment(group, groupBytes) });
      group = [];
      groupBytes = 0;
    };
    for (const it of this.memory) {
      if (group.length > 0 && groupBytes + 36 + it.bytes.length > SEGMENT_BYTES) close();
      group.push(it);
      groupBytes += 36 + it.bytes.length;
    }
    if (group.length > 0) close();
    await writeBatch(this.adapter, entries, { signal: this.signal });
    for (const e of entries) this.segments.push(e.key);
    this.memory = [];
    this.memoryBytes = 0;
  }

  /**
   * Batches to commit: the memory buffer, then the segments read back one at
   * a time; each batch at most 8 MiB (or the budget, at least 64 KiB) and
   * `maxObjects()` objects (read anew for each batch, capped at 4096), so the
   * caller can size batches by the time the last one took. Objects read back
   * from segments are re-hashed in time slices of `slice`.
   */
  async *batches(maxObjects: () => number = () => COMMIT_BATCH_OBJECTS, slice?: TimeSlicer): AsyncGenerator<StagedObject[]> {
    const limit = Math.min(COMMIT_BATCH_BYTES, Math.max(COMMIT_BATCH_MIN_BYTES, this.budget));
    let batch: StagedObject[] = [];
    let batchBytes = 0;
    let objects = Math.min(COMMIT_BATCH_OBJECTS, maxObjects());
    const full = () => batchBytes >= limit || batch.length >= objects;
    /** After a batch was consumed: the next one starts empty, at the size the caller asks for now. */
    const next = () => {
      batch = [];
      batchBytes = 0;
      objects = Math.min(COMMIT_BATCH_OBJECTS, maxObjects());
    };
    // The memory buffer first, so its bytes are released before segments are read back.
    const memory = this.memory;
    this.memory = [];
    this.memoryBytes = 0;
    for (let i = 0; i < memory.length; i++) {
      batch.push(memory[i]!);
      batchBytes += memory[i]!.bytes.length;
      memory[i] = undefined as never;
      if (full()) {
        yield batch;
        next();
      }
    }
    for (const key of this.segments) {
      const bytes = await this.adapter.read(key);
      for (const it of decodeSegment(key, bytes)) {
        // Staged bytes are re-checked: the adapter is storage this import does not control.
        if (sha256Hex(it.bytes) !== it.hash) throw segmentChanged(key);
        if (slice?.due()) await slice.yield();
        batch.push(it);
        batchBytes += it.bytes.length;
        if (full()) {
          yield batch;
          next();
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  /**
   * Writes this import's reference record (one atomic write): from here on,
   * the planned reference writes are rolled forward by whoever finds the
   * record if this import dies.
   */
  async writeReferenceRecord(writes: readonly PlannedWrite[]): Promise<void> {
    this.touched = true;
    await this.adapter.write(recordKey(this.prefix), encodeRecord(writes), { signal: this.signal });
  }

  /** Removes every staging key of this import (best effort, never aborted). */
  async clear(): Promise<void> {
    if (!this.touched) return;
    const keys: string[] = [];
    for await (const key of this.adapter.list(this.prefix)) keys.push(key);
    await mapLimit(keys, DELETE_GROUP, (key) => this.adapter.delete(key).catch(() => {}));
  }
}

/** Packs staged objects: for each, 32 bytes of hash, a 4-byte little-endian length, the bytes. */
function encodeSegment(items: readonly StagedObject[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const { hash, bytes } of items) {
    for (let k = 0; k < 32; k++) out[at + k] = parseInt(hash.slice(2 * k, 2 * k + 2), 16);
    view.setUint32(at + 32, bytes.length, true);
    out.set(bytes, at + 36);
    at += 36 + bytes.length;
  }
  return out;
}

/**
 * The size of the next commit batch: as many objects as fit one time slice
 * at the rate the last batch (`count` objects in `tookMs`) went, at most twice
 * as many as `current`, never fewer than 128.
 */
export function nextCommitObjects(current: number, count: number, tookMs: number): number {
  const fit = tookMs > 0 ? Math.floor((count * SLICE_MS) / tookMs) : Number.POSITIVE_INFINITY;
  return Math.max(COMMIT_MIN_OBJECTS, Math.min(COMMIT_BATCH_OBJECTS, 2 * current, fit));
}

const segmentChanged = (key: string) => new HostileBundleError('BUNDLE_HASH_MISMATCH', `staging segment ${key} changed on the adapter during the import`);

/** Unpacks a segment; the caller checks each object against its recorded hash. */
function decodeSegment(key: string, seg: Uint8Array | undefined): StagedObject[] {
  const changed = () => segmentChanged(key);
  if (!seg) throw changed();
  const view = new DataView(seg.buffer, seg.byteOffset, seg.byteLength);
  const out: StagedObject[] = [];
  for (let at = 0; at < seg.length; ) {
    if (at + 36 > seg.length) throw changed();
    let hash = '';
    for (let k = 0; k < 32; k++) hash += seg[at + k]!.toString(16).padStart(2, '0');
    const length = view.getUint32(at + 32, true);
    if (at + 36 + length > seg.length) throw changed();
    const bytes = seg.subarray(at + 36, at + 36 + length);
    out.push({ hash, bytes });
    at += 36 + length;
  }
  return out;
}

/** Options of {@link clearBundleStaging}. */
export interface ClearStagingOptions {
  /**
   * Only remove the staging of imports started at least this long ago (each
   * import's staging folder is named by its start time), so imports running
   * now are left alone. Folders whose name carries no start time are removed.
   * Without it every staging key goes: call it then only when no import runs.
   */
  olderThanMs?: number;
  /** Clock (unix ms) the age is measured against; injectable for tests. */
  now?: number;
}

/**
 * Deletes staging keys left on `adapter` by imports that were killed midway
 * (a crash, a closed tab). Resolves the number of keys removed. A killed
 * import's reference record is rolled forward first (its reference writes
 * completed: docs/format.md, "Bundle v2"); a record this release cannot
 * read is left in place.
 */
export async function clearBundleStaging(adapter: StorageAdapter, options: ClearStagingOptions = {}): Promise<number> {
  const { olderThanMs } = options;
  if (olderThanMs !== undefined && !(typeof olderThanMs === 'number' && olderThanMs >= 0)) {
    throw new InvalidArgumentError(`clearBundleStaging: olderThanMs must be a number of milliseconds >= 0, got ${String(olderThanMs)}`);
  }
  const now = options.now ?? Date.now();
  const keys: string[] = [];
  for await (const key of adapter.list(BUNDLE_STAGING_PREFIX)) {
    if (olderThanMs === undefined) keys.push(key);
    else {
      const started = stagingStartOf(key);
      if (started === undefined || now - started >= olderThanMs) keys.push(key);
    }
  }
  const records = keys.filter(isRecordKey);
  const rolled = new Set(records.length ? await rollForwardRecords(adapter, records) : []);
  const doomed = keys.filter((k) => !isRecordKey(k) || rolled.has(k));
  await deleteEach(adapter, doomed, DELETE_GROUP);
  return doomed.length;
}
