/**
 * Bundle import: a bundle streamed in, every byte checked, and its objects
 * committed all or nothing.
 *
 * Reading (one pass over the source, as it arrives):
 * - the ZIP structure by {@link ZipStreamReader} (strict, central directory
 *   cross-checked, nothing after the end record);
 * - `manifest.json` first; then every entry name against the layout, sizes
 *   against the header and the manifest, CRC-32 computed here, DEFLATE
 *   inflated with early stops (real size beyond the declared one, ratios of
 *   zip bombs), every object re-hashed and checked to be canonical JSON, the
 *   bundle's `index.json` compared with the one the manifest implies, and at
 *   the end every listed object present exactly once.
 *
 * Staging: verified objects the archive lacks are held in memory up to
 * `stagingMemoryBytes`, and beyond that packed into 8 MiB segments under
 * staging keys on the archive's adapter (`bundle-staging/<id>/<n>.seg`),
 * which the archive never lists.
 *
 * Commit: only after the whole bundle has been verified, the staged objects
 * go in through `putManyBytes`, in batches of at most 8 MiB (so one call for
 * a small import); if a batch fails, or the signal aborts between batches,
 * every object this import added is deleted again and the staging keys are
 * removed, so the archive is left as it was.
 *
 * @module
 */
import { Inflate, inflateSync } from 'fflate';
import type { StorageAdapter } from '../adapter/contract.js';
import { deleteEach, writeBatch } from '../adapter/batch.js';
import { isCanonicalJsonBytes } from '../archive/hash-args.js';
import type { ContentArchive } from '../archive/types.js';
import { parseJson, type JsonValue } from '../json/canonical.js';
import { HostileBundleError, InvalidArgumentError, throwIfAborted } from '../errors.js';
import { createSha256, sha256Hex } from '../hash.js';
import type { BundleExtras, BundleProgress } from './export.js';
import {
  BACKUP_ENTRY,
  classifyEntryName,
  createdAtMillis,
  INDEX_ENTRY,
  indexPieces,
  MANIFEST_ENTRY,
  objectEntryName,
  parseManifest,
  RTFS_ENTRY,
  type BundleManifestInfo,
  type ObjectTable,
} from './format.js';
import { ByteReader, concatBytes, type BundleSource } from './source.js';
import { crc32 } from '../zip/crc32.js';
import { METHOD_DEFLATE, METHOD_STORE } from '../zip/format.js';
import { ZipStreamReader, type LocalEntry } from '../zip/reader.js';

/** Limits a bundle must stay within; anything beyond is refused as a whole. */
export interface BundleLimits {
  /** Most ZIP entries (objects + manifest + index + extras). Default 1,000,000. */
  maxEntries: number;
  /** Largest single object, bytes. Default 16 MiB. */
  maxObjectBytes: number;
  /** Largest sum of all uncompressed entries, bytes. Default 8 GiB. */
  maxTotalBytes: number;
  /** Largest `manifest.json` or `index.json`, bytes. Default 256 MiB (over a million objects). */
  maxManifestBytes: number;
  /** Largest extra (intent-graph backup or RTFS), bytes. Default 256 MiB. */
  maxExtraBytes: number;
  /**
   * Largest ratio of uncompressed to compressed size for an entry above 1 MiB
   * (smaller entries cannot blow up far). Default 200: JSON deflates 2-20x,
   * zip bombs 1000x. Checked on the header and again while inflating.
   */
  maxCompressionRatio: number;
}

/** The defaults of {@link BundleLimits}. */
export const DEFAULT_BUNDLE_LIMITS: Readonly<BundleLimits> = Object.freeze({
  maxEntries: 1_000_000,
  maxObjectBytes: 16 * 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024 * 1024,
  maxManifestBytes: 256 * 1024 * 1024,
  maxExtraBytes: 256 * 1024 * 1024,
  maxCompressionRatio: 200,
});

/** Options of {@link verifyBundle}. */
export interface VerifyBundleOptions {
  signal?: AbortSignal;
  onProgress?: (p: BundleProgress) => void;
  /** Overrides of {@link DEFAULT_BUNDLE_LIMITS}. */
  limits?: Partial<BundleLimits>;
}

/** Options of {@link importBundle}. */
export interface ImportBundleOptions extends VerifyBundleOptions {
  /**
   * Verified new objects kept in memory before further ones go to staging
   * keys on the adapter (default 32 MiB). Up to this size the commit is one
   * `putManyBytes` call.
   */
  stagingMemoryBytes?: number;
}

/** What {@link verifyBundle} found: the manifest and the extras. */
export interface BundleVerifyReport {
  manifest: BundleManifestInfo;
  /** The extras the bundle carried: the backup parsed (strict JSON), the RTFS text. */
  extras: BundleExtras & { backup?: JsonValue };
}

/** What {@link importBundle} did. */
export interface BundleImportReport extends BundleVerifyReport {
  /** Objects in the bundle. */
  objects: number;
  /** Objects stored by this import. */
  added: number;
  /** Objects the archive already held (left untouched). */
  present: number;
  /** Bytes of the bundle's objects. */
  bytes: number;
  /** Bytes stored by this import. */
  addedBytes: number;
}

/** Entries at most this large are inflated in one call into an exact-size buffer. */
const SMALL_ENTRY = 64 * 1024;
/** Ratios only matter for entries that could blow up: below this size an entry is harmless. */
const RATIO_FLOOR = 1024 * 1024;
/** Compressed bytes fed to the inflater at a time when streaming: bounds what one push can produce. */
const INFLATE_PIECE = 16 * 1024;
/** Bounds of one `putManyBytes` call when committing from staging (bytes also bounded by the memory budget, at least 64 KiB). */
const COMMIT_BATCH_BYTES = 8 * 1024 * 1024;
const COMMIT_BATCH_MIN_BYTES = 64 * 1024;
const COMMIT_BATCH_OBJECTS = 4096;
/** Prefix of the staging keys. */
export const BUNDLE_STAGING_PREFIX = 'bundle-staging/';
const PROGRESS_EVERY = 64;
/** Verified objects whose presence in the target is looked up together. */
const HAS_GROUP = 32;
/** Deletes issued together on rollback and clean-up. */
const DELETE_GROUP = 32;

function resolveLimits(partial: Partial<BundleLimits> | undefined): BundleLimits {
  const limits = { ...DEFAULT_BUNDLE_LIMITS };
  if (partial === undefined) return limits;
  if (partial === null || typeof partial !== 'object') throw new InvalidArgumentError('bundle limits must be an object');
  for (const key of Object.keys(DEFAULT_BUNDLE_LIMITS) as (keyof BundleLimits)[]) {
    const v = partial[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0) || (key !== 'maxCompressionRatio' && !Number.isSafeInteger(v))) {
      throw new InvalidArgumentError(`bundle limit ${key} must be a positive ${key === 'maxCompressionRatio' ? 'number' : 'integer'}, got ${String(v)}`);
    }
    limits[key] = v;
  }
  return limits;
}

function hostile(code: ConstructorParameters<typeof HostileBundleError>[0], message: string, entry?: string, cause?: unknown): HostileBundleError {
  return new HostileBundleError(code, message, entry, cause === undefined ? undefined : { cause });
}

/** The most a deflate stream of `size` bytes can take (stored blocks: 5 bytes per 16 KiB or more, plus slack). */
function maxDeflatedSize(size: number): number {
  return size + Math.ceil(size / 16384) * 5 + 64;
}

/**
 * Reads an entry's data, checks sizes, ratio and CRC, and hands the
 * uncompressed bytes to `sink` in pieces. Returns them whole when `keep`.
 */
async function readEntryData(
  bytes: ByteReader,
  entry: LocalEntry,
  limits: BundleLimits,
  keep: boolean,
  sink?: (piece: Uint8Array) => void,
): Promise<Uint8Array | undefined> {
  const { name, method, size, compressedSize } = entry;
  if (method === METHOD_STORE && compressedSize !== size) {
    throw hostile('BUNDLE_SIZE_MISMATCH', `entry ${name} is stored uncompressed but declares ${size} bytes and holds ${compressedSize}`, name);
  }
  if (method === METHOD_DEFLATE) {
    if (compressedSize > maxDeflatedSize(size)) {
      throw hostile('BUNDLE_SIZE_MISMATCH', `entry ${name} declares ${size} bytes but holds ${compressedSize} compressed bytes, more than deflate ever needs`, name);
    }
    if (size > RATIO_FLOOR && size / Math.max(1, compressedSize) > limits.maxCompressionRatio) {
      throw hostile(
        'BUNDLE_COMPRESSION_RATIO',
        `entry ${name} would inflate ${compressedSize} bytes to ${size} (ratio ${Math.round(size / Math.max(1, compressedSize))}, limit ${limits.maxCompressionRatio}): a zip bomb`,
        name,
      );
    }
  }

  const checkCrc = (crc: number) => {
    if (crc >>> 0 !== entry.crc >>> 0) {
      throw hostile('BUNDLE_CRC_MISMATCH', `entry ${name} has CRC-32 ${hex8(crc)} but its header says ${hex8(entry.crc)}: the bundle is damaged or was tampered with`, name);
    }
  };
  const wrongSize = (actual: number | 'more') =>
    hostile('BUNDLE_SIZE_MISMATCH', `entry ${name} inflates to ${actual === 'more' ? `more than ${size}` : actual} bytes but declares ${size}`, name);

  // Small entries: one read, one inflate into an exact buffer (plus one byte to notice overflow).
  if (size <= SMALL_ENTRY && compressedSize <= maxDeflatedSize(SMALL_ENTRY)) {
    const raw = await bytes.read(compressedSize, `entry ${name}`);
    let data: Uint8Array;
    if (method === METHOD_STORE) data = raw.slice();
    else {
      try {
        data = inflateSync(raw, { out: new Uint8Array(size + 1) });
      } catch (e) {
        throw hostile('BUNDLE_MALFORMED', `entry ${name} is not valid deflate data (${(e as Error).message})`, name, e);
      }
      if (data.length !== size) throw wrongSize(data.length > size ? 'more' : data.length);
    }
    checkCrc(crc32(data));
    sink?.(data);
    return keep ? data : undefined;
  }

  // Large entries: stream, with the size and ratio checked after every piece.
  const parts: Uint8Array[] = [];
  let produced = 0;
  let consumed = 0;
  let crc = 0;
  const take = (piece: Uint8Array) => {
    produced += piece.length;
    if (produced > size) throw wrongSize('more');
    if (produced > RATIO_FLOOR && produced / Math.max(1, consumed) > limits.maxCompressionRatio) {
      throw hostile('BUNDLE_COMPRESSION_RATIO', `entry ${name} inflates past ratio ${limits.maxCompressionRatio} (${consumed} bytes gave ${produced}): a zip bomb`, name);
    }
    crc = crc32(piece, crc);
    sink?.(piece);
    if (keep) parts.push(method === METHOD_STORE ? piece.slice() : piece);
  };
  const inflater = method === METHOD_DEFLATE ? new Inflate((d) => take(d)) : undefined;
  let left = compressedSize;
  for await (const piece of bytes.stream(compressedSize, INFLATE_PIECE, `entry ${name}`)) {
    consumed += piece.length;
    left -= piece.length;
    if (!inflater) take(piece);
    else {
      try {
        inflater.push(piece, left === 0);
      } catch (e) {
        if (e instanceof HostileBundleError) throw e;
        throw hostile('BUNDLE_MALFORMED', `entry ${name} is not valid deflate data (${(e as Error).message})`, name, e);
      }
    }
  }
  if (compressedSize === 0 && inflater) throw hostile('BUNDLE_MALFORMED', `entry ${name} is deflated but empty`, name);
  if (produced !== size) throw wrongSize(produced);
  checkCrc(crc);
  return keep ? concatBytes(parts, size) : undefined;
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/** SHA-256 and length of the `index.json` the manifest implies (generated piece by piece, never whole). */
function expectedIndex(table: ObjectTable, createdAt: string): { sha256: string; size: number } {
  const h = createSha256();
  const enc = new TextEncoder();
  let size = 0;
  for (const piece of indexPieces(table, createdAtMillis(createdAt))) {
    const b = enc.encode(piece);
    size += b.length;
    h.update(b);
  }
  return { sha256: h.digest(), size };
}

/** Called with each verified object; may be async (staging). */
type ObjectSink = (hash: string, bytes: Uint8Array) => Promise<void> | void;

/**
 * The verification pass shared by {@link verifyBundle} and {@link importBundle}:
 * reads the whole source, throws `HostileBundleError` (or
 * `UnsupportedVersionError`) at the first problem, and calls `onObject` for
 * every verified object in bundle order.
 */
async function readBundle(source: BundleSource, options: VerifyBundleOptions, onObject: ObjectSink): Promise<BundleVerifyReport> {
  const { signal, onProgress } = options;
  const limits = resolveLimits(options.limits);
  throwIfAborted(signal);
  const bytes = new ByteReader(source, signal);
  try {
    const zip = new ZipStreamReader(bytes, limits.maxEntries);
    let totalBytes = 0;
    const account = (entry: LocalEntry) => {
      totalBytes += entry.size;
      if (totalBytes > limits.maxTotalBytes) {
        throw hostile('BUNDLE_TOO_LARGE', `the bundle holds more than ${limits.maxTotalBytes} bytes uncompressed (the configured limit)`, entry.name);
      }
    };

    const first = await zip.next();
    if (!first) throw hostile('BUNDLE_MALFORMED', 'the bundle has no entries; its first entry must be manifest.json');
    const firstRef = classifyEntryName(first.name);
    if (firstRef.kind !== 'manifest') throw hostile('BUNDLE_MALFORMED', `the first entry is ${first.name}; a bundle starts with manifest.json`, first.name);
    if (first.size > limits.maxManifestBytes) {
      throw hostile('BUNDLE_TOO_LARGE', `manifest.json is ${first.size} bytes, more than the limit of ${limits.maxManifestBytes}`, MANIFEST_ENTRY);
    }
    account(first);
    const manifestBytes = (await readEntryData(bytes, first, limits, true))!;
    const { info, table } = parseManifest(manifestBytes, limits);
    const n = table.length;
    const seen = new Uint8Array(n);
    let seenCount = 0;
    let seenIndex = false;
    const extras = new Map<string, Uint8Array>();
    onProgress?.({ phase: 'verify', done: 0, total: n, bytes: bytes.position });

    for (let entry = await zip.next(); entry; entry = await zip.next()) {
      throwIfAborted(signal);
      const name = entry.name;
      const ref = classifyEntryName(name);
      account(entry);
      switch (ref.kind) {
        case 'manifest':
          throw hostile('BUNDLE_DUPLICATE_ENTRY', 'the bundle holds manifest.json twice', name);
        case 'index': {
          if (seenIndex) throw hostile('BUNDLE_DUPLICATE_ENTRY', 'the bundle holds index.json twice', name);
          seenIndex = true;
          if (entry.size > limits.maxManifestBytes) throw hostile('BUNDLE_TOO_LARGE', `index.json is ${entry.size} bytes, more than the limit of ${limits.maxManifestBytes}`, name);
          const want = expectedIndex(table, info.createdAt);
          if (entry.size !== want.size) throw hostile('BUNDLE_MANIFEST_MISMATCH', `index.json is ${entry.size} bytes but the manifest implies ${want.size}: they list different objects`, name);
          const h = createSha256();
          await readEntryData(bytes, entry, limits, false, (p) => h.update(p));
          if (h.digest() !== want.sha256) throw hostile('BUNDLE_MANIFEST_MISMATCH', 'index.json disagrees with manifest.json about the objects', name);
          break;
        }
        case 'extra': {
          if (extras.has(name)) throw hostile('BUNDLE_DUPLICATE_ENTRY', `the bundle holds ${name} twice`, name);
          const rec = info.extras[name];
          if (!rec) throw hostile('BUNDLE_MANIFEST_MISMATCH', `the bundle holds ${name}, which manifest.json does not list`, name);
          if (entry.size !== rec.size) throw hostile('BUNDLE_MANIFEST_MISMATCH', `${name} is ${entry.size} bytes but manifest.json says ${rec.size}`, name);
          const data = (await readEntryData(bytes, entry, limits, true))!;
          if (sha256Hex(data) !== rec.sha256) throw hostile('BUNDLE_HASH_MISMATCH', `${name} does not hash to the SHA-256 manifest.json gives for it`, name);
          extras.set(name, data);
          break;
        }
        case 'object': {
          const { hash } = ref;
          const i = table.find(hash);
          if (i < 0) throw hostile('BUNDLE_MANIFEST_MISMATCH', `the bundle holds object ${hash}, which manifest.json does not list`, name);
          if (seen[i]) throw hostile('BUNDLE_DUPLICATE_ENTRY', `the bundle holds object ${hash} twice`, name);
          if (entry.size !== table.sizeAt(i)) {
            throw hostile('BUNDLE_MANIFEST_MISMATCH', `object ${hash} is ${entry.size} bytes but manifest.json says ${table.sizeAt(i)}`, name);
          }
          const data = (await readEntryData(bytes, entry, limits, true))!;
          const actual = sha256Hex(data);
          if (actual !== hash) throw hostile('BUNDLE_HASH_MISMATCH', `object ${hash} holds bytes whose SHA-256 is ${actual}`, name);
          if (!isCanonicalJsonBytes(data)) {
            throw hostile('BUNDLE_MALFORMED', `object ${hash} is not RFC 8785 canonical JSON, so it cannot be an archive object`, name);
          }
          seen[i] = 1;
          seenCount++;
          await onObject(hash, data);
          if (onProgress && (seenCount % PROGRESS_EVERY === 0 || seenCount === n)) onProgress({ phase: 'verify', done: seenCount, total: n, bytes: bytes.position });
          break;
        }
      }
    }
    await zip.finish();

    if (seenCount !== n) {
      let firstMissing = '';
      for (let i = 0; i < n; i++) {
        if (!seen[i]) {
          firstMissing = table.hashAt(i);
          break;
        }
      }
      throw hostile('BUNDLE_MANIFEST_MISMATCH', `manifest.json lists ${n - seenCount} object(s) the bundle does not hold (first: ${firstMissing})`, objectEntryName(firstMissing));
    }
    if (!seenIndex) throw hostile('BUNDLE_MANIFEST_MISMATCH', 'the bundle has no index.json', INDEX_ENTRY);
    for (const name of Object.keys(info.extras)) {
      if (!extras.has(name)) throw hostile('BUNDLE_MANIFEST_MISMATCH', `manifest.json lists ${name}, which the bundle does not hold`, name);
    }
    const outExtras: BundleVerifyReport['extras'] = {};
    const backup = extras.get(BACKUP_ENTRY);
    if (backup) {
      try {
        outExtras.backup = parseJson(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(backup));
      } catch (e) {
        throw hostile('BUNDLE_MALFORMED', `${BACKUP_ENTRY} is not strict JSON: ${(e as Error).message}`, BACKUP_ENTRY, e);
      }
    }
    const rtfs = extras.get(RTFS_ENTRY);
    if (rtfs) {
      try {
        outExtras.rtfs = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(rtfs);
      } catch (e) {
        throw hostile('BUNDLE_MALFORMED', `${RTFS_ENTRY} is not UTF-8 text`, RTFS_ENTRY, e);
      }
    }
    onProgress?.({ phase: 'verify', done: n, total: n, bytes: bytes.position });
    return { manifest: info, extras: outExtras };
  } catch (e) {
    await bytes.cancel();
    throw e;
  }
}

/**
 * Reads and checks a whole bundle without storing anything: resolves with
 * its manifest and extras, or throws `HostileBundleError` (one `code` per
 * kind of problem), `UnsupportedVersionError`, or `AbortError`.
 */
export function verifyBundle(source: BundleSource, options: VerifyBundleOptions = {}): Promise<BundleVerifyReport> {
  return readBundle(source, options, () => {});
}

function randomId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  const bytes = new Uint8Array(8);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Bytes of one staging segment (a key holding many staged objects). */
const SEGMENT_BYTES = 8 * 1024 * 1024;

interface StagedObject {
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
class Staging {
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
    this.prefix = `${BUNDLE_STAGING_PREFIX}${Date.now().toString(36)}-${randomId()}/`;
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
   * a time; each batch at most 8 MiB (or the budget, at least 64 KiB) and 4096
   * objects, so an import of up to that size is one `putManyBytes` call.
   */
  async *batches(): AsyncGenerator<StagedObject[]> {
    const limit = Math.min(COMMIT_BATCH_BYTES, Math.max(COMMIT_BATCH_MIN_BYTES, this.budget));
    let batch: StagedObject[] = [];
    let batchBytes = 0;
    const full = () => batchBytes >= limit || batch.length >= COMMIT_BATCH_OBJECTS;
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
        batch = [];
        batchBytes = 0;
      }
    }
    for (const key of this.segments) {
      const bytes = await this.adapter.read(key);
      // Staged bytes are re-checked: the adapter is storage this import does not control.
      for (const it of decodeSegment(key, bytes)) {
        batch.push(it);
        batchBytes += it.bytes.length;
        if (full()) {
          yield batch;
          batch = [];
          batchBytes = 0;
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** Removes every staging key of this import (best effort, never aborted). */
  async clear(): Promise<void> {
    if (!this.touched) return;
    const keys: string[] = [];
    for await (const key of this.adapter.list(this.prefix)) keys.push(key);
    for (let i = 0; i < keys.length; i += DELETE_GROUP) {
      await Promise.all(keys.slice(i, i + DELETE_GROUP).map((key) => this.adapter.delete(key).catch(() => {})));
    }
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

/** Unpacks a segment, checking every object against its recorded hash. */
function decodeSegment(key: string, seg: Uint8Array | undefined): StagedObject[] {
  const changed = () => new HostileBundleError('BUNDLE_HASH_MISMATCH', `staging segment ${key} changed on the adapter during the import`);
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
    if (sha256Hex(bytes) !== hash) throw changed();
    out.push({ hash, bytes });
    at += 36 + length;
  }
  return out;
}

/**
 * Imports a bundle into `archive`, all or nothing.
 *
 * The whole bundle is read and verified first (see the module notes); only
 * then are the objects the archive lacks stored. Objects it already holds are
 * left as they are. On any failure — a hostile bundle, a backend error, an
 * abort — the archive is left exactly as it was: nothing stored, or what was
 * stored deleted again, and no staging keys left.
 *
 * Not isolated from concurrent writers: an object another writer stores
 * while this import is committing, and that this import also added, is
 * deleted again if this import then fails.
 *
 * @returns counts of what was added and what was already there, the manifest and the extras.
 */
export async function importBundle(archive: ContentArchive, source: BundleSource, options: ImportBundleOptions = {}): Promise<BundleImportReport> {
  const { signal, onProgress } = options;
  const budget = options.stagingMemoryBytes ?? 32 * 1024 * 1024;
  if (typeof budget !== 'number' || !(budget >= 0)) throw new InvalidArgumentError(`importBundle stagingMemoryBytes must be a non-negative number, got ${String(budget)}`);
  const staging = new Staging(archive.adapter, budget, signal);
  let present = 0;
  let addedBytes = 0;
  const added: string[] = [];
  // Verified objects wait in small groups so that the "does the archive have it?" lookups run concurrently.
  let waiting: { hash: string; bytes: Uint8Array }[] = [];
  const settle = async () => {
    const group = waiting;
    waiting = [];
    const held = await Promise.all(group.map((it) => archive.has(it.hash, { signal })));
    for (let i = 0; i < group.length; i++) {
      if (held[i]) present++;
      else {
        await staging.add(group[i]!.hash, group[i]!.bytes);
        addedBytes += group[i]!.bytes.length;
      }
    }
  };
  try {
    const report = await readBundle(source, options, async (hash, bytes) => {
      waiting.push({ hash, bytes });
      if (waiting.length >= HAS_GROUP) await settle();
    });
    await settle();

    // Commit. The signal is checked between batches, not passed down: a batch the
    // archive has begun commits whole, so rollback knows exactly what was stored.
    const total = staging.count;
    onProgress?.({ phase: 'commit', done: 0, total });
    for await (const batch of staging.batches()) {
      throwIfAborted(signal);
      added.push(...batch.map((it) => it.hash));
      await archive.putManyBytes(batch.map((it) => it.bytes));
      onProgress?.({ phase: 'commit', done: added.length, total });
    }
    await staging.clear();
    return {
      ...report,
      objects: report.manifest.count,
      added: added.length,
      present,
      bytes: report.manifest.bytes,
      addedBytes,
    };
  } catch (e) {
    // Roll back: delete what this import stored (it was absent before), then the staging keys.
    // Concurrent deletes share the archive's commits (group commit).
    for (let i = 0; i < added.length; i += DELETE_GROUP) {
      await Promise.all(added.slice(i, i + DELETE_GROUP).map((hash) => archive.delete(hash).catch(() => {})));
    }
    await staging.clear().catch(() => {});
    throw e;
  }
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
 * (a crash, a closed tab). Resolves the number of keys removed.
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
      const started = stagingStartTime(key);
      if (started === undefined || now - started >= olderThanMs) keys.push(key);
    }
  }
  await deleteEach(adapter, keys, DELETE_GROUP);
  return keys.length;
}

/** The start time named by a staging key (`bundle-staging/<time base 36>-<id>/…`), if it names one. */
function stagingStartTime(key: string): number | undefined {
  const m = /^([0-9a-z]+)-[^/]*\//.exec(key.slice(BUNDLE_STAGING_PREFIX.length));
  if (!m) return undefined;
  const t = parseInt(m[1]!, 36);
  return Number.isSafeInteger(t) ? t : undefined;
}
