/**
 * Bundle verification: a bundle streamed in and every byte checked, in one
 * pass over the source as it arrives. Shared by {@link verifyBundle} (which
 * stores nothing) and `importBundle` (which stages what it is handed).
 *
 * - the ZIP structure by the strict `ZipStreamReader` (central directory
 *   cross-checked, nothing after the end record), its errors reported as
 *   `HostileBundleError` codes;
 * - `manifest.json` first; then every entry name against the layout, sizes
 *   against the header and the manifest, CRC-32, DEFLATE inflated with early
 *   stops (real size beyond the declared one, ratios of zip bombs), every
 *   object re-hashed and checked to be canonical JSON, the bundle's
 *   `index.json` compared with the one the manifest implies, every reference
 *   document (version 2) hashed, decoded and its hashes found in the bundle
 *   (or, on import, in the target), and at the end every listed object and
 *   reference present exactly once.
 *
 * Sources in memory (a `Blob`, a `Uint8Array`) never wait for I/O, so the
 * pass gives the event loop a turn every few milliseconds of work
 * (`TimeSlicer`): between entries, while generating the expected
 * `index.json`, between central directory records. A page stays responsive
 * and an abort is noticed at the next turn.
 *
 * @module
 */
import { isCanonicalJsonBytes } from '../archive/hash-args.js';
import { parseJson, type JsonValue } from '../json/canonical.js';
import { CorruptIndexError, HostileBundleError, throwIfAborted } from '../errors.js';
import { decodeReferenceDocument, hashesOf, type ReferenceDocument } from '../refs/document.js';
import { createSha256, sha256Hex } from '../hash.js';
import { TimeSlicer } from '../internal/yield.js';
import { ByteReader } from '../zip/byte-reader.js';
import { ZipFormatError } from '../zip/errors.js';
import { ZipStreamReader, type LocalEntry } from '../zip/reader.js';
import type { BundleExtras, BundleProgress } from './export.js';
import {
  BACKUP_ENTRY,
  BUNDLE_VERSION,
  classifyEntryName,
  createdAtMillis,
  INDEX_ENTRY,
  indexPieces,
  MANIFEST_ENTRY,
  objectEntryName,
  parseManifest,
  referenceEntryName,
  RTFS_ENTRY,
  type BundleManifestInfo,
  type ObjectTable,
} from './format.js';
import { resolveLimits, type BundleLimits } from './limits.js';
import { bundleChunks, type BundleSource } from './source.js';
import { hostileFromZip } from './zip-errors.js';

/** Options of {@link verifyBundle}. */
export interface VerifyBundleOptions {
  signal?: AbortSignal;
  onProgress?: (p: BundleProgress) => void;
  /** Overrides of `DEFAULT_BUNDLE_LIMITS`. */
  limits?: Partial<BundleLimits>;
}

/** What {@link verifyBundle} found: the manifest and the extras. */
export interface BundleVerifyReport {
  manifest: BundleManifestInfo;
  /** The extras the bundle carried: the backup parsed (strict JSON), the RTFS text. */
  extras: BundleExtras & { backup?: JsonValue };
}

const PROGRESS_EVERY = 64;

function hostile(code: ConstructorParameters<typeof HostileBundleError>[0], message: string, entry?: string, cause?: unknown): HostileBundleError {
  return new HostileBundleError(code, message, entry, cause === undefined ? undefined : { cause });
}

/** SHA-256 and length of the `index.json` the manifest implies (generated piece by piece, never whole; in time slices). */
async function expectedIndex(table: ObjectTable, createdAt: string, slice: TimeSlicer): Promise<{ sha256: string; size: number }> {
  const h = createSha256();
  const enc = new TextEncoder();
  let size = 0;
  for (const piece of indexPieces(table, createdAtMillis(createdAt))) {
    const b = enc.encode(piece);
    size += b.length;
    h.update(b);
    if (slice.due()) await slice.yield();
  }
  return { sha256: h.digest(), size };
}

/** Called with each verified object; may be async (staging). */
export type ObjectSink = (hash: string, bytes: Uint8Array) => Promise<void> | void;

/** What the pass does with reference documents (version 2 bundles). */
export interface ReferenceSink {
  /** Whether a hash a document names but the bundle lacks is acceptable (import: the target holds it). */
  outside(hash: string): Promise<boolean>;
  /** Called with each verified document. */
  onReference(doc: ReferenceDocument, bytes: Uint8Array): void;
}

/** What {@link verifyBundle} does with references: checks them, and requires every hash they name in the bundle. */
const CHECK_ONLY: ReferenceSink = { outside: async () => false, onReference: () => {} };

/**
 * The verification pass shared by {@link verifyBundle} and `importBundle`:
 * reads the whole source, throws `HostileBundleError` (or
 * `UnsupportedVersionError`) at the first problem, and calls `onObject` for
 * every verified object in bundle order.
 */
export async function readBundle(source: BundleSource, options: VerifyBundleOptions, onObject: ObjectSink, references: ReferenceSink = CHECK_ONLY): Promise<BundleVerifyReport> {
  const { signal } = options;
  const limits = resolveLimits(options.limits);
  throwIfAborted(signal);
  const bytes = new ByteReader(bundleChunks(source), signal);
  const slice = new TimeSlicer(signal);
  try {
    const zip = new ZipStreamReader(bytes, {
      maxEntries: limits.maxEntries,
      maxCompressionRatio: limits.maxCompressionRatio,
      digest: createSha256,
      pause: slice.pause,
    });
    return await readEntries(zip, bytes, limits, options, onObject, references, slice);
  } catch (e) {
    await bytes.cancel();
    throw e instanceof ZipFormatError ? hostileFromZip(e) : e;
  }
}

/** The entries of an open bundle, checked one by one, then the end of the zip and the completeness of the whole. */
async function readEntries(
  zip: ZipStreamReader,
  bytes: ByteReader,
  limits: BundleLimits,
  options: VerifyBundleOptions,
  onObject: ObjectSink,
  references: ReferenceSink,
  slice: TimeSlicer,
): Promise<BundleVerifyReport> {
  const { signal, onProgress } = options;
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
  const manifestBytes = (await zip.readData(first, { keep: true }))!;
  const { info, table } = parseManifest(manifestBytes, limits);
  const n = table.length;
  const seen = new Uint8Array(n);
  let seenCount = 0;
  let seenIndex = false;
  const extras = new Map<string, Uint8Array>();
  const refIndex = new Map(info.refs.map((r, i) => [r.name, i]));
  const refSeen = new Uint8Array(info.refs.length);
  onProgress?.({ phase: 'verify', done: 0, total: n, bytes: bytes.position });

  for (let entry = await zip.next(); entry; entry = await zip.next()) {
    throwIfAborted(signal);
    if (slice.due()) await slice.yield();
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
        const want = await expectedIndex(table, info.createdAt, slice);
        if (entry.size !== want.size) throw hostile('BUNDLE_MANIFEST_MISMATCH', `index.json is ${entry.size} bytes but the manifest implies ${want.size}: they list different objects`, name);
        const h = createSha256();
        await zip.readData(entry, { onData: (p) => h.update(p) });
        if (h.digest() !== want.sha256) throw hostile('BUNDLE_MANIFEST_MISMATCH', 'index.json disagrees with manifest.json about the objects', name);
        break;
      }
      case 'extra': {
        if (extras.has(name)) throw hostile('BUNDLE_DUPLICATE_ENTRY', `the bundle holds ${name} twice`, name);
        const rec = info.extras[name];
        if (!rec) throw hostile('BUNDLE_MANIFEST_MISMATCH', `the bundle holds ${name}, which manifest.json does not list`, name);
        if (entry.size !== rec.size) throw hostile('BUNDLE_MANIFEST_MISMATCH', `${name} is ${entry.size} bytes but manifest.json says ${rec.size}`, name);
        const data = (await zip.readData(entry, { keep: true }))!;
        if (sha256Hex(data) !== rec.sha256) throw hostile('BUNDLE_HASH_MISMATCH', `${name} does not hash to the SHA-256 manifest.json gives for it`, name);
        extras.set(name, data);
        break;
      }
      case 'reference': {
        if (info.version === BUNDLE_VERSION) throw hostile('BUNDLE_UNSAFE_PATH', `entry ${name} is a reference document, which a version 1 bundle never carries`, name);
        const i = refIndex.get(ref.name);
        if (i === undefined) throw hostile('BUNDLE_MANIFEST_MISMATCH', `the bundle holds the reference document ${name}, which manifest.json does not list`, name);
        if (refSeen[i]) throw hostile('BUNDLE_DUPLICATE_ENTRY', `the bundle holds ${name} twice`, name);
        const rec = info.refs[i]!;
        if (entry.size !== rec.size) throw hostile('BUNDLE_MANIFEST_MISMATCH', `${name} is ${entry.size} bytes but manifest.json says ${rec.size}`, name);
        const data = (await zip.readData(entry, { keep: true }))!;
        if (sha256Hex(data) !== rec.sha256) throw hostile('BUNDLE_HASH_MISMATCH', `${name} does not hash to the SHA-256 manifest.json gives for it`, name);
        let doc: ReferenceDocument;
        try {
          doc = decodeReferenceDocument(data, name, ref.name);
        } catch (e) {
          // An unknown document version stays UNSUPPORTED_VERSION; a damaged one is a damaged bundle.
          if (e instanceof CorruptIndexError) throw hostile('BUNDLE_MALFORMED', `${name} is not a valid reference document: ${e.message.replace(/; it was left as it is$/, '')}`, name, e);
          throw e;
        }
        for (const hash of new Set(hashesOf(doc))) {
          if (table.find(hash) < 0 && !(await references.outside(hash))) {
            throw hostile(
              'BUNDLE_MANIFEST_MISMATCH',
              `reference ${JSON.stringify(ref.name)} names object ${hash}, which the bundle does not hold${references === CHECK_ONLY ? '' : ' and the archive does not have'}`,
              name,
            );
          }
        }
        refSeen[i] = 1;
        references.onReference(doc, data);
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
        const data = (await zip.readData(entry, { keep: true }))!;
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
  const unseen = refSeen.indexOf(0);
  if (unseen >= 0) {
    const entry = referenceEntryName(info.refs[unseen]!.name);
    throw hostile('BUNDLE_MANIFEST_MISMATCH', `manifest.json lists ${entry}, which the bundle does not hold`, entry);
  }
  for (const name of Object.keys(info.extras)) {
    if (!extras.has(name)) throw hostile('BUNDLE_MANIFEST_MISMATCH', `manifest.json lists ${name}, which the bundle does not hold`, name);
  }
  const report: BundleVerifyReport = { manifest: info, extras: decodeExtras(extras) };
  onProgress?.({ phase: 'verify', done: n, total: n, bytes: bytes.position });
  return report;
}

/** The extras as the report gives them: the backup parsed as strict JSON, the RTFS text decoded. */
function decodeExtras(extras: ReadonlyMap<string, Uint8Array>): BundleVerifyReport['extras'] {
  const out: BundleVerifyReport['extras'] = {};
  const backup = extras.get(BACKUP_ENTRY);
  if (backup) {
    try {
      out.backup = parseJson(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(backup));
    } catch (e) {
      throw hostile('BUNDLE_MALFORMED', `${BACKUP_ENTRY} is not strict JSON: ${(e as Error).message}`, BACKUP_ENTRY, e);
    }
  }
  const rtfs = extras.get(RTFS_ENTRY);
  if (rtfs) {
    try {
      out.rtfs = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(rtfs);
    } catch (e) {
      throw hostile('BUNDLE_MALFORMED', `${RTFS_ENTRY} is not UTF-8 text`, RTFS_ENTRY, e);
    }
  }
  return out;
}

/**
 * Reads and checks a whole bundle without storing anything: resolves with
 * its manifest and extras, or throws `HostileBundleError` (one `code` per
 * kind of problem), `UnsupportedVersionError`, or `AbortError`.
 */
export function verifyBundle(source: BundleSource, options: VerifyBundleOptions = {}): Promise<BundleVerifyReport> {
  return readBundle(source, options, () => {});
}
