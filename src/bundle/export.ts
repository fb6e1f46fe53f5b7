/**
 * Bundle export: an archive streamed into a portable ZIP, piece by piece.
 *
 * Two passes over the archive: the first reads the index (hash and size of
 * every object, 40 bytes each in a compact table, sorted by hash), so that
 * `manifest.json` — which the importer needs first — can be written before
 * any object; the second reads the objects one by one in hash order and
 * writes them. Memory is the table plus a few objects in flight, whatever the
 * archive's size. The central directory is generated from small per-entry
 * arrays at the end.
 *
 * Byte-identical output: entry order (manifest, index, extras, objects by
 * hash), timestamps (every entry 1980-01-01 00:00), attributes and compression
 * (fflate, one level) are fixed, and nothing else varies except the inputs:
 * the objects, `createdAt`, `producer` and the extras. Pin `createdAt` to get
 * the same bytes from the same archive on any backend.
 *
 * @module
 */
import { Deflate, deflateSync } from 'fflate';
import { canonicalBytes } from '../json/canonical.js';
import { ConflictError, CorruptObjectError, InvalidArgumentError, NotFoundError, throwIfAborted } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { downloadBlob } from '../internal/download.js';
import { blobConstructor, readableStreamConstructor } from '../platform.js';
import type { ContentArchive, Progress } from '../archive/types.js';
import type { StorageAdapter } from '../adapter/contract.js';
import { nameOfReferenceKey, referenceKey, REFS_PREFIX } from '../archive/layout.js';
import { mapLimit } from '../internal/pool.js';
import { decodeReferenceDocument, hashesOf } from '../refs/document.js';
import { isReferenceName } from '../refs/name.js';
import {
  BACKUP_ENTRY,
  createdAtMillis,
  INDEX_ENTRY,
  indexPieces,
  MANIFEST_ENTRY,
  manifestPieces,
  ObjectTable,
  objectEntryName,
  referenceEntryName,
  RTFS_ENTRY,
  type BundleReferenceRecord,
  type ExtraRecord,
} from './format.js';
import { concatBytes } from '../zip/byte-reader.js';
import { crc32 } from '../zip/crc32.js';
import { encodeCentralHeader, encodeEnd, encodeLocalHeader, METHOD_DEFLATE, METHOD_STORE, type ZipEntryInfo } from '../zip/format.js';

/** Progress of a bundle export or import; `phase` says which pass is running. */
export interface BundleProgress extends Progress {
  /**
   * `scan`: reading the archive's index (export); `write`: writing objects
   * (export, `bytes` = bundle bytes so far); `verify`: reading and checking the
   * bundle (import, `bytes` = bundle bytes read); `commit`: storing the new
   * objects (import).
   */
  phase: 'scan' | 'write' | 'verify' | 'commit';
}

/** The optional intent-graph documents a bundle can carry next to the objects. */
export interface BundleExtras {
  /** A StorageBackupData document (any JSON value); stored as canonical JSON in `intent-graph/backup.json`. */
  backup?: unknown;
  /** Its RTFS rendering; stored as UTF-8 in `intent-graph/backup.rtfs`. */
  rtfs?: string;
}

/** Options of {@link exportBundle}. */
export interface ExportBundleOptions {
  signal?: AbortSignal;
  /** Called as the export goes (every 64 objects and at the end of each phase). */
  onProgress?: (p: BundleProgress) => void;
  /**
   * The creation time the manifest records (Date, unix ms, or ISO string).
   * Default: now. The only input besides the archive's content that changes
   * the bytes: pin it to get byte-identical bundles of the same archive.
   */
  createdAt?: Date | number | string;
  /** Who made the bundle, recorded in the manifest (default `"archive-storage"`). */
  producer?: string;
  /** `deflate` (default; fflate level 6, about 0.57 of the size for JSON objects) or `store` (no compression, fastest). */
  compression?: 'deflate' | 'store';
  /** Intent-graph backup and RTFS snapshot to carry along. */
  extras?: BundleExtras;
}

/** The DEFLATE level every deflated bundle entry uses (fixed: it is part of what makes output byte-identical). */
export const BUNDLE_DEFLATE_LEVEL = 6;
/** Size of the chunks the export yields. */
const OUTPUT_CHUNK = 64 * 1024;
/** Objects read ahead of the one being written. */
const READ_AHEAD = 16;
const PROGRESS_EVERY = 64;

const encoder = /* @__PURE__ */ new TextEncoder();

function normalizeCreatedAt(value: ExportBundleOptions['createdAt']): string {
  const ms = value === undefined ? Date.now() : value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > 253402300799999) {
    throw new InvalidArgumentError(`exportBundle createdAt must be a Date, unix milliseconds or an ISO time between 1970 and 9999, got ${String(value)}`);
  }
  return new Date(Math.floor(ms)).toISOString();
}

interface PreparedExtra {
  name: string;
  bytes: Uint8Array;
}

function prepareExtras(extras: BundleExtras | undefined): PreparedExtra[] {
  if (extras === undefined) return [];
  if (extras === null || typeof extras !== 'object') throw new InvalidArgumentError('exportBundle extras must be an object { backup?, rtfs? }');
  const out: PreparedExtra[] = [];
  if (extras.backup !== undefined) out.push({ name: BACKUP_ENTRY, bytes: canonicalBytes(extras.backup) });
  if (extras.rtfs !== undefined) {
    if (typeof extras.rtfs !== 'string') throw new InvalidArgumentError('exportBundle extras.rtfs must be a string');
    out.push({ name: RTFS_ENTRY, bytes: encoder.encode(extras.rtfs) });
  }
  return out;
}

/** Per-entry facts the central directory repeats: a plain list for the few named entries, typed arrays for objects. */
interface NamedEntry {
  info: ZipEntryInfo;
  offset: number;
}

/** Compresses one whole entry the way every bundle does: deflate unless that does not make it smaller. */
function packWhole(bytes: Uint8Array, deflate: boolean): { method: number; data: Uint8Array } {
  if (deflate && bytes.length > 0) {
    const packed = deflateSync(bytes, { level: BUNDLE_DEFLATE_LEVEL });
    if (packed.length < bytes.length) return { method: METHOD_DEFLATE, data: packed };
  }
  return { method: METHOD_STORE, data: bytes };
}

/**
 * Streams `archive` as a bundle: an async iterable of ZIP chunks (about 64 KiB
 * each). Nothing is buffered beyond a chunk and a few objects; the consumer's
 * pace drives the reads. Abort through `signal` (the iteration then throws
 * `AbortError`) or by stopping the iteration.
 *
 * Throws `CorruptObjectError` when an object no longer matches its hash or
 * its indexed size (run `archive.verify({ repair: true })`), `NotFoundError`
 * when an indexed object vanished meanwhile, `InvalidJsonError` for extras
 * that are not JSON data, `InvalidArgumentError` for bad options.
 *
 * @example
 * ```ts
 * for await (const chunk of exportBundle(archive, { createdAt: Date.now() })) out.write(chunk);
 * ```
 */
export async function* exportBundle(archive: ContentArchive, options: ExportBundleOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal, onProgress } = options;
  const createdAt = normalizeCreatedAt(options.createdAt);
  const producer = options.producer ?? 'archive-storage';
  if (typeof producer !== 'string' || producer.length > 1000) throw new InvalidArgumentError('exportBundle producer must be a string of at most 1000 characters');
  const compression = options.compression ?? 'deflate';
  if (compression !== 'deflate' && compression !== 'store') throw new InvalidArgumentError(`exportBundle compression must be 'deflate' or 'store', got ${String(compression)}`);
  const deflate = compression === 'deflate';
  const extras = prepareExtras(options.extras);
  throwIfAborted(signal);

  // Pass 1: the reference documents (before the objects: an object a reference names was stored before it), then
  // what objects are there, sorted by hash.
  const refs = await scanReferences(archive.adapter, signal);
  const table = new ObjectTable();
  for await (const e of archive.entries({ signal })) {
    table.add(e.hash, e.size);
    if (onProgress && table.length % 1024 === 0) onProgress({ phase: 'scan', done: table.length });
  }
  throwIfAborted(signal);
  table.sortUnique();
  const n = table.length;
  onProgress?.({ phase: 'scan', done: n, total: n });
  // A bundle whose reference names an object it lacks could not be imported into an empty archive: refuse it now.
  for (const r of refs) {
    for (const hash of r.hashes) {
      if (table.find(hash) < 0) {
        throw new NotFoundError(
          `reference ${JSON.stringify(r.name)} names object ${hash}, which the archive does not hold; a bundle must carry every object its references name ` +
            '(references.check() lists such names; set or delete them, then export again)',
        );
      }
    }
  }

  const extraRecords: Record<string, ExtraRecord> = {};
  for (const x of extras) extraRecords[x.name] = { sha256: sha256Hex(x.bytes), size: x.bytes.length };
  const info = { createdAt, producer, count: n, bytes: table.totalBytes, extras: extraRecords, refs: refs.map(({ name, sha256, size }) => ({ name, sha256, size })) };

  // Output: small pieces gathered into chunks of about OUTPUT_CHUNK bytes.
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let position = 0;
  const push = (b: Uint8Array) => {
    if (b.length === 0) return;
    pending.push(b);
    pendingBytes += b.length;
    position += b.length;
  };
  const take = (): Uint8Array => {
    const out = pending.length === 1 ? pending[0]! : concatBytes(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return out;
  };

  const named: NamedEntry[] = [];

  // Generated entries (manifest, index): deterministic text produced twice, once to
  // learn CRC and sizes for the header, once to write, so it is never whole in memory.
  async function* writeGenerated(name: string, pieces: () => Iterable<string>): AsyncGenerator<Uint8Array> {
    let crc = 0;
    let size = 0;
    let compressedSize = 0;
    const counter = deflate ? new Deflate({ level: BUNDLE_DEFLATE_LEVEL }, (d) => (compressedSize += d.length)) : undefined;
    for (const piece of pieces()) {
      const b = encoder.encode(piece);
      crc = crc32(b, crc);
      size += b.length;
      counter?.push(b, false);
    }
    counter?.push(new Uint8Array(0), true);
    const method = counter && compressedSize < size ? METHOD_DEFLATE : METHOD_STORE;
    const entry: ZipEntryInfo = { name, method, crc, size, compressedSize: method === METHOD_DEFLATE ? compressedSize : size };
    named.push({ info: entry, offset: position });
    push(encodeLocalHeader(entry));
    const writer = method === METHOD_DEFLATE ? new Deflate({ level: BUNDLE_DEFLATE_LEVEL }, (d) => push(d)) : undefined;
    for (const piece of pieces()) {
      const b = encoder.encode(piece);
      if (writer) writer.push(b, false);
      else push(b);
      if (pendingBytes >= OUTPUT_CHUNK) yield take();
    }
    writer?.push(new Uint8Array(0), true);
  }

  yield* writeGenerated(MANIFEST_ENTRY, () => manifestPieces(info, table));
  yield* writeGenerated(INDEX_ENTRY, () => indexPieces(table, createdAtMillis(createdAt)));
  for (const x of extras) {
    const { method, data } = packWhole(x.bytes, deflate);
    const entry: ZipEntryInfo = { name: x.name, method, crc: crc32(x.bytes), size: x.bytes.length, compressedSize: data.length };
    named.push({ info: entry, offset: position });
    push(encodeLocalHeader(entry));
    push(data);
    if (pendingBytes >= OUTPUT_CHUNK) yield take();
  }
  // The reference documents, read again: each must still be the document the manifest lists.
  for (const r of refs) {
    throwIfAborted(signal);
    const key = referenceKey(r.name);
    const bytes = await archive.adapter.read(key, { signal });
    if (!bytes || bytes.length !== r.size || sha256Hex(bytes) !== r.sha256) {
      throw new ConflictError(key, `reference ${JSON.stringify(r.name)} changed while the archive was being exported; export again`);
    }
    const { method, data } = packWhole(bytes, deflate);
    const entry: ZipEntryInfo = { name: referenceEntryName(r.name), method, crc: crc32(bytes), size: bytes.length, compressedSize: data.length };
    named.push({ info: entry, offset: position });
    push(encodeLocalHeader(entry));
    push(data);
    if (pendingBytes >= OUTPUT_CHUNK) yield take();
  }

  // Pass 2: the objects, in hash order, a few reads in flight.
  const crcs = new Uint32Array(n);
  const compressed = new Float64Array(n);
  const offsets = new Float64Array(n);
  const methods = new Uint8Array(n);
  const inFlight: { hash: string; bytes: Promise<Uint8Array> }[] = [];
  const fetch = (i: number) => {
    const hash = table.hashAt(i);
    const bytes = archive.getBytes(hash, { signal });
    bytes.catch(() => {}); // awaited below in order; this only keeps an early failure from being reported as unhandled
    inFlight.push({ hash, bytes });
  };
  for (let i = 0; i < Math.min(READ_AHEAD, n); i++) fetch(i);
  for (let i = 0; i < n; i++) {
    throwIfAborted(signal);
    const next = inFlight.shift()!;
    const hash = next.hash;
    const bytes = await next.bytes;
    if (i + READ_AHEAD < n) fetch(i + READ_AHEAD);
    if (bytes.length !== table.sizeAt(i)) {
      throw new CorruptObjectError(hash, hash, `object ${hash} is ${bytes.length} bytes but the index says ${table.sizeAt(i)}; run archive.rebuildIndex() and export again`);
    }
    const { method, data } = packWhole(bytes, deflate);
    const crc = crc32(bytes);
    crcs[i] = crc;
    compressed[i] = data.length;
    offsets[i] = position;
    methods[i] = method;
    push(encodeLocalHeader({ name: objectEntryName(hash), method, crc, size: bytes.length, compressedSize: data.length }));
    push(data);
    if (onProgress && ((i + 1) % PROGRESS_EVERY === 0 || i + 1 === n)) onProgress({ phase: 'write', done: i + 1, total: n, bytes: position });
    if (pendingBytes >= OUTPUT_CHUNK) yield take();
  }
  if (n === 0) onProgress?.({ phase: 'write', done: 0, total: 0, bytes: position });

  // Central directory and end records.
  const cdOffset = position;
  for (const e of named) {
    push(encodeCentralHeader(e.info, e.offset));
    if (pendingBytes >= OUTPUT_CHUNK) yield take();
  }
  for (let i = 0; i < n; i++) {
    const entry = { name: objectEntryName(table.hashAt(i)), method: methods[i]!, crc: crcs[i]!, size: table.sizeAt(i), compressedSize: compressed[i]! };
    push(encodeCentralHeader(entry, offsets[i]!));
    if (pendingBytes >= OUTPUT_CHUNK) yield take();
  }
  push(encodeEnd(named.length + n, cdOffset, position - cdOffset));
  yield take();
}

/** Reference documents read at once while scanning. */
const REFERENCE_READS = 16;

/**
 * Every reference document under `refs/` of a valid name, by name, each
 * decoded (a damaged or unknown one refuses the export: CORRUPT_INDEX,
 * UNSUPPORTED_VERSION) and recorded as the manifest lists it, with the
 * hashes it keeps alive. Keys that are not documents of valid names are not
 * this SDK's and are passed over, as the references themselves do.
 */
async function scanReferences(adapter: StorageAdapter, signal: AbortSignal | undefined): Promise<(BundleReferenceRecord & { hashes: string[] })[]> {
  const names: string[] = [];
  for await (const key of adapter.list(REFS_PREFIX, { signal })) {
    const name = nameOfReferenceKey(key);
    if (name !== undefined && isReferenceName(name)) names.push(name);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const read = await mapLimit(
    names,
    REFERENCE_READS,
    async (name) => {
      const key = referenceKey(name);
      const bytes = await adapter.read(key, { signal });
      if (!bytes) return undefined; // deleted meanwhile: not part of this bundle
      const doc = decodeReferenceDocument(bytes, key, name);
      return { name, sha256: sha256Hex(bytes), size: bytes.length, hashes: hashesOf(doc) };
    },
    signal,
  );
  return read.filter((r): r is NonNullable<typeof r> => r !== undefined);
}

/** {@link exportBundle} as a `ReadableStream` (pull-driven: backpressure from the consumer; cancel stops the export). */
export function exportBundleStream(archive: ContentArchive, options: ExportBundleOptions = {}): ReadableStream<Uint8Array> {
  const Stream = readableStreamConstructor();
  if (!Stream) throw new InvalidArgumentError('exportBundleStream needs ReadableStream, which this runtime lacks: iterate exportBundle() instead');
  const it = exportBundle(archive, options);
  return new Stream<Uint8Array>(
    {
      async pull(controller) {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      async cancel() {
        await it.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

/** Bytes handed to the `Blob` constructor at a time: lets the browser move them out of the JS heap (Chromium spills large blobs to disk). */
const BLOB_BATCH = 16 * 1024 * 1024;

/** {@link exportBundle} into a `Blob` of type `application/zip` (e.g. for a download or an upload). */
export async function exportBundleToBlob(archive: ContentArchive, options: ExportBundleOptions = {}): Promise<Blob> {
  const BlobCtor = blobConstructor();
  if (!BlobCtor) throw new InvalidArgumentError('exportBundleToBlob needs Blob, which this runtime lacks: iterate exportBundle() instead');
  let blob = new BlobCtor([], { type: 'application/zip' });
  let parts: Uint8Array[] = [];
  let partBytes = 0;
  for await (const chunk of exportBundle(archive, options)) {
    parts.push(chunk);
    partBytes += chunk.length;
    if (partBytes >= BLOB_BATCH) {
      blob = new BlobCtor([blob, ...(parts as Uint8Array<ArrayBuffer>[])], { type: 'application/zip' });
      parts = [];
      partBytes = 0;
    }
  }
  return new BlobCtor([blob, ...(parts as Uint8Array<ArrayBuffer>[])], { type: 'application/zip' });
}

/** What {@link exportBundleToFileHandle} needs of a file handle (a `FileSystemFileHandle` from `showSaveFilePicker` or OPFS). */
export interface WritableFileHandle {
  createWritable(): Promise<{
    write(data: Uint8Array<ArrayBuffer>): Promise<void>;
    close(): Promise<void>;
    abort(reason?: unknown): Promise<void>;
  }>;
}

/**
 * Streams the bundle into a browser file handle (from `showSaveFilePicker()` or
 * the origin-private file system). The browser writes to a swap file and
 * replaces the file only on `close()`; on failure or abort the swap file is
 * discarded, so the file never holds a partial bundle.
 */
export async function exportBundleToFileHandle(archive: ContentArchive, handle: WritableFileHandle, options: ExportBundleOptions = {}): Promise<void> {
  const writable = await handle.createWritable();
  try {
    for await (const chunk of exportBundle(archive, options)) await writable.write(chunk as Uint8Array<ArrayBuffer>);
  } catch (e) {
    await writable.abort(e).catch(() => {});
    throw e;
  }
  await writable.close();
}

/**
 * Exports the archive and hands the bundle to the user as a download named
 * `filename` (browser only: `INVALID_ARGUMENT` without a document).
 */
export async function downloadBundle(archive: ContentArchive, filename: string, options: ExportBundleOptions = {}): Promise<void> {
  const blob = await exportBundleToBlob(archive, options);
  downloadBlob(blob, filename);
}
