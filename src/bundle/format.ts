/**
 * The portable bundle format: entry names, `manifest.json`, the bundle's
 * `index.json`, and the compact sorted table of objects both sides work from.
 *
 * A bundle is a ZIP whose entries are, in this order:
 *
 * 1. `manifest.json` — canonical JSON (RFC 8785):
 *    `{"bytes":<total object bytes>,"count":<objects>,"createdAt":"<ISO 8601 UTC>",
 *      "extras":{"<name>":{"sha256":"<hex>","size":<n>}},"format":"archive-storage-bundle",
 *      "objects":[["<hash>",<size>],...],"producer":"<text>","version":1}`
 *    with `objects` sorted by hash and `extras` present only when there are any.
 * 2. `index.json` — the archive's own index document for exactly these objects
 *    (`{"objects":{"<hash>":{"path":...,"size":...,"storedAt":<createdAt ms>}},"version":1}`),
 *    so an unzipped bundle is an archive directory as it stands.
 * 3. Extras, when given: `intent-graph/backup.json` (a StorageBackupData
 *    document, canonical JSON) and `intent-graph/backup.rtfs` (its RTFS text).
 * 4. Version 2 only: `refs/<name>.json` — every reference document of the
 *    archive, as stored, by name; the manifest lists them in `refs`
 *    (`[name, sha256, size]`). A bundle without references is version 1,
 *    unchanged (docs/format.md, "Bundle v2").
 * 5. `objects/<aa>/<bb>/<hash>.json` — the canonical bytes of every object, by hash.
 *
 * @module
 */
import { canonicalize, parseJson, type JsonValue } from '../json/canonical.js';
import { HostileBundleError, InvalidJsonError, UnsupportedVersionError } from '../errors.js';
import { isSha256Hex } from '../hash.js';
import { indexTextPieces } from '../archive/index-file.js';
import { hashOfObjectKey, INDEX_VERSION, nameOfReferenceKey, OBJECT_KEY_PATTERN, objectKey, referenceKey, REFS_PREFIX } from '../archive/layout.js';
import { isReferenceName } from '../refs/name.js';

/** The `format` field of every bundle manifest. */
export const BUNDLE_FORMAT = 'archive-storage-bundle';
/** The manifest version of a bundle without references: what every release writes and reads. */
export const BUNDLE_VERSION = 1;
/** The manifest version of a bundle that carries reference documents (this release writes and reads it). */
export const BUNDLE_REFERENCES_VERSION = 2;
/** Manifest versions this release reads. */
export const BUNDLE_VERSIONS: readonly number[] = [BUNDLE_VERSION, BUNDLE_REFERENCES_VERSION];
/** Largest reference document a bundle may carry, bytes (1,001 versions with 1 KiB of meta each stay below it). */
export const MAX_BUNDLE_REFERENCE_BYTES = 2 * 1024 * 1024;
/** Name of the manifest entry; always the first entry. */
export const MANIFEST_ENTRY = 'manifest.json';
/** Name of the index entry. */
export const INDEX_ENTRY = 'index.json';
/** Names of the optional extra entries. */
export const BACKUP_ENTRY = 'intent-graph/backup.json';
export const RTFS_ENTRY = 'intent-graph/backup.rtfs';
/** Extras in the order they are written. */
export const EXTRA_ENTRIES: readonly string[] = [BACKUP_ENTRY, RTFS_ENTRY];
/** Version of the `index.json` document written into bundles: the archive's index format. */
export const BUNDLE_INDEX_VERSION = INDEX_VERSION;

/** Names that reach into `Object.prototype` when used as keys: refused in entry names and manifest keys. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = /* @__PURE__ */ new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  'prototype',
]);

/** Two hex digits of every byte value. */
const HEX2: readonly string[] = /* @__PURE__ */ Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** What an entry name refers to. */
export type BundleEntryRef =
  | { kind: 'manifest' }
  | { kind: 'index' }
  | { kind: 'extra'; name: string }
  | { kind: 'reference'; name: string }
  | { kind: 'object'; hash: string };

/** The entry name of the object with `hash`: its key in the archive's layout. */
export const objectEntryName: (hash: string) => string = objectKey;
/** The entry name of the reference document of `name`: its key in the archive's layout. */
export const referenceEntryName: (name: string) => string = referenceKey;

const shown = (name: string) => JSON.stringify(name.length > 120 ? name.slice(0, 120) + '…' : name);

/**
 * Says what an entry name refers to, or throws `HostileBundleError`:
 * `BUNDLE_PROTOTYPE_KEY` when a path segment is a prototype key (`__proto__`,
 * `constructor`, ...), `BUNDLE_UNSAFE_PATH` for traversal (`..`), absolute
 * paths, backslashes, drive letters, control characters, and any name outside
 * the bundle layout.
 */
export function classifyEntryName(name: string): BundleEntryRef {
  if (name === MANIFEST_ENTRY) return { kind: 'manifest' };
  if (name === INDEX_ENTRY) return { kind: 'index' };
  if (EXTRA_ENTRIES.includes(name)) return { kind: 'extra', name };
  const hash = hashOfObjectKey(name);
  if (hash !== undefined) return { kind: 'object', hash };
  const reference = nameOfReferenceKey(name);
  if (reference !== undefined && isReferenceName(reference)) return { kind: 'reference', name: reference };

  for (const segment of name.split(/[/\\]/)) {
    const bare = segment.replace(/\.[^.]*$/, '');
    if (PROTOTYPE_KEYS.has(segment) || PROTOTYPE_KEYS.has(bare)) {
      const key = PROTOTYPE_KEYS.has(segment) ? segment : bare;
      throw new HostileBundleError('BUNDLE_PROTOTYPE_KEY', `entry ${shown(name)} uses the prototype key ${JSON.stringify(key)} as a path segment`, name);
    }
  }
  let why = name.startsWith(REFS_PREFIX)
    ? 'is under refs/ but is not refs/<reference name>.json for a valid reference name'
    : 'is outside the bundle layout (manifest.json, index.json, intent-graph/backup.*, refs/<name>.json, objects/<aa>/<bb>/<hash>.json)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) why = 'contains control characters';
  else if (name.includes('\\')) why = 'contains a backslash';
  else if (name.startsWith('/')) why = 'is an absolute path';
  else if (/^[A-Za-z]:/.test(name)) why = 'starts with a drive letter';
  else if (name.split('/').some((s) => s === '..' || s === '.')) why = "has a '.' or '..' segment";
  else if (name === '' || name.split('/').includes('')) why = 'has an empty segment';
  else if (OBJECT_KEY_PATTERN.test(name)) why = 'is filed under the wrong objects/<aa>/<bb>/ directory for its hash';
  throw new HostileBundleError('BUNDLE_UNSAFE_PATH', `entry ${shown(name)} ${why}`, name);
}

/**
 * The objects of a bundle as a compact table: 32 bytes of hash and 8 bytes of
 * size per object (about 40 bytes each, so 100k objects take 4 MB), sortable
 * by hash and searchable by binary search. Both export (to write in hash
 * order) and import (to check entries against the manifest) use it.
 */
export class ObjectTable {
  private hashes: Uint8Array;
  private sizes: Float64Array;
  private n = 0;
  private bytes = 0;

  constructor(capacity = 1024) {
    this.hashes = new Uint8Array(32 * Math.max(1, capacity));
    this.sizes = new Float64Array(Math.max(1, capacity));
  }

  /** Number of objects. */
  get length(): number {
    return this.n;
  }

  /** Sum of the sizes. */
  get totalBytes(): number {
    return this.bytes;
  }

  /** Appends an object (a lowercase hex hash, checked by the caller). */
  add(hash: string, size: number): void {
    if (this.n === this.sizes.length) {
      const grown = new Uint8Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
      const sizes = new Float64Array(this.sizes.length * 2);
      sizes.set(this.sizes);
      this.sizes = sizes;
    }
    writeHex(hash, this.hashes, this.n * 32);
    this.sizes[this.n] = size;
    this.bytes += size;
    this.n++;
  }

  /** The hash at `i`, lowercase hex. */
  hashAt(i: number): string {
    const h = this.hashes;
    const b = i * 32;
    let s = '';
    for (let k = b; k < b + 32; k += 4) s += HEX2[h[k]!]! + HEX2[h[k + 1]!]! + HEX2[h[k + 2]!]! + HEX2[h[k + 3]!]!;
    return s;
  }

  /** The size at `i`. */
  sizeAt(i: number): number {
    return this.sizes[i]!;
  }

  /** Sorts by hash and drops repeated hashes. */
  sortUnique(): void {
    const n = this.n;
    const h = this.hashes;
    // First 4 bytes as one big-endian number decide almost every comparison.
    const keys = new Uint32Array(n);
    for (let i = 0; i < n; i++) keys[i] = ((h[i * 32]! << 24) | (h[i * 32 + 1]! << 16) | (h[i * 32 + 2]! << 8) | h[i * 32 + 3]!) >>> 0;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => keys[a]! - keys[b]! || compareAt(h, a, h, b));
    const hashes = new Uint8Array(Math.max(32, n * 32));
    const sizes = new Float64Array(Math.max(1, n));
    let out = 0;
    let bytes = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      if (out > 0 && compareAt(hashes, out - 1, h, i) === 0) continue;
      hashes.set(h.subarray(i * 32, i * 32 + 32), out * 32);
      sizes[out] = this.sizes[i]!;
      bytes += this.sizes[i]!;
      out++;
    }
    this.hashes = hashes;
    this.sizes = sizes;
    this.n = out;
    this.bytes = bytes;
  }

  /** Index of `hash` in the sorted table, or -1. */
  find(hash: string): number {
    const probe = new Uint8Array(32);
    writeHex(hash, probe, 0);
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareAt(this.hashes, mid, probe, 0);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** True when hash `i` sorts strictly after hash `i - 1` (for checking a manifest's order). */
  isAfterPrevious(i: number): boolean {
    return i === 0 || compareAt(this.hashes, i - 1, this.hashes, i) < 0;
  }
}

function writeHex(hex: string, into: Uint8Array, at: number): void {
  for (let k = 0; k < 32; k++) {
    into[at + k] = (nibble(hex.charCodeAt(2 * k)) << 4) | nibble(hex.charCodeAt(2 * k + 1));
  }
}

function nibble(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}

/** Compares hash `i` of `a` with hash `j` of `b` (32-byte records). */
function compareAt(a: Uint8Array, i: number, b: Uint8Array, j: number): number {
  const ai = i * 32;
  const bj = j * 32;
  for (let k = 0; k < 32; k++) {
    const d = a[ai + k]! - b[bj + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** An extra entry as the manifest records it. */
export interface ExtraRecord {
  sha256: string;
  size: number;
}

/** A reference document as the manifest records it (version 2). */
export interface BundleReferenceRecord {
  /** The reference's name; its entry is `refs/<name>.json`. */
  name: string;
  /** SHA-256 of the document's bytes. */
  sha256: string;
  size: number;
}

/** What a manifest says, apart from the object list. */
export interface BundleManifestInfo {
  format: typeof BUNDLE_FORMAT;
  /** 1, or 2 when the bundle carries references. */
  version: number;
  /** ISO 8601 UTC time the bundle was made (as its producer stated it). */
  createdAt: string;
  producer: string;
  /** Number of objects. */
  count: number;
  /** Total bytes of the objects. */
  bytes: number;
  /** Extra entries by name, with their SHA-256 and size. */
  extras: Record<string, ExtraRecord>;
  /** The reference documents, by name (empty in a version 1 bundle). */
  refs: readonly BundleReferenceRecord[];
}

/** Objects per generated text piece: keeps each piece around 100 KB. */
const PIECE_OBJECTS = 1024;

/**
 * The text of `manifest.json` in pieces (canonical JSON: sorted keys, no
 * whitespace), generated from the sorted table so the whole text never has to
 * be in memory. The same inputs always give the same text.
 */
export function* manifestPieces(info: Omit<BundleManifestInfo, 'format' | 'version'>, table: ObjectTable): Generator<string> {
  const head: Record<string, JsonValue> = { bytes: info.bytes, count: info.count, createdAt: info.createdAt, format: BUNDLE_FORMAT };
  if (Object.keys(info.extras).length > 0) head['extras'] = info.extras as unknown as JsonValue;
  // Every key of `head` sorts before "objects" and every key of `tail` after it, so splicing
  // the object list between the two canonical texts gives the canonical text of the whole.
  // "refs" sorts between "producer" and "version"; a bundle without references stays version 1, byte for byte.
  const tail: Record<string, JsonValue> = info.refs.length
    ? { producer: info.producer, refs: info.refs.map((r) => [r.name, r.sha256, r.size]), version: BUNDLE_REFERENCES_VERSION }
    : { producer: info.producer, version: BUNDLE_VERSION };
  yield canonicalize(head).slice(0, -1) + ',"objects":[';
  for (let start = 0; start < table.length; start += PIECE_OBJECTS) {
    let s = start === 0 ? '' : ',';
    const end = Math.min(table.length, start + PIECE_OBJECTS);
    for (let i = start; i < end; i++) s += (i === start ? '' : ',') + `["${table.hashAt(i)}",${table.sizeAt(i)}]`;
    yield s;
  }
  yield '],' + canonicalize(tail).slice(1);
}

/**
 * The text of the bundle's `index.json` in pieces: the archive's index
 * document (written by the archive's own codec) for exactly the bundle's
 * objects, every `storedAt` set to the bundle's creation time so the bytes
 * depend on nothing but the inputs.
 */
export function indexPieces(table: ObjectTable, storedAt: number): Generator<string> {
  return indexTextPieces({ length: table.length, hashAt: (i) => table.hashAt(i), sizeAt: (i) => table.sizeAt(i), storedAtAt: () => storedAt }, PIECE_OBJECTS);
}

/** The manifest's creation time as unix milliseconds (what the bundle's index.json uses as storedAt). */
export function createdAtMillis(createdAt: string): number {
  return Date.parse(createdAt);
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function malformed(message: string, cause?: unknown): HostileBundleError {
  return new HostileBundleError('BUNDLE_MALFORMED', message, MANIFEST_ENTRY, cause === undefined ? undefined : { cause });
}

function mismatch(message: string, entry = MANIFEST_ENTRY): HostileBundleError {
  return new HostileBundleError('BUNDLE_MANIFEST_MISMATCH', message, entry);
}

/** Throws BUNDLE_PROTOTYPE_KEY when any object key anywhere in `value` is a prototype key. */
function refusePrototypeKeys(value: JsonValue, path: string): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    // The object list is long and holds only [string, number] pairs: skip the walk for it.
    for (const v of value) if (v !== null && typeof v === 'object' && !Array.isArray(v)) refusePrototypeKeys(v, path + '[]');
    return;
  }
  for (const key of Object.keys(value)) {
    if (PROTOTYPE_KEYS.has(key)) {
      throw new HostileBundleError('BUNDLE_PROTOTYPE_KEY', `manifest.json has the prototype key ${JSON.stringify(key)} at ${path}`, MANIFEST_ENTRY);
    }
    refusePrototypeKeys(value[key]!, `${path}.${key}`);
  }
}

/** Limits the manifest is checked against. */
export interface ManifestLimits {
  maxEntries: number;
  maxObjectBytes: number;
  maxTotalBytes: number;
  maxExtraBytes: number;
  /** Also the bound of all reference documents together (they are held in memory until the commit). */
  maxManifestBytes: number;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * Parses and checks `manifest.json`: strict JSON, no prototype keys, the
 * known format, a readable version, a consistent object list (sorted, unique,
 * count and total agreeing) within `limits`. Throws `HostileBundleError` or
 * `UnsupportedVersionError`.
 */
export function parseManifest(bytes: Uint8Array, limits: ManifestLimits): { info: BundleManifestInfo; table: ObjectTable } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (e) {
    throw malformed('manifest.json is not UTF-8 text', e);
  }
  let doc: JsonValue;
  try {
    doc = parseJson(text, { maxDepth: 16 });
  } catch (e) {
    throw malformed(`manifest.json is not strict JSON: ${(e as InvalidJsonError).message}`, e);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw malformed('manifest.json is not a JSON object');
  refusePrototypeKeys(doc, '$');
  const m = doc as Record<string, JsonValue>;
  if (m['format'] !== BUNDLE_FORMAT) {
    throw malformed(`manifest.json has format ${JSON.stringify(m['format'] ?? null)}, expected ${JSON.stringify(BUNDLE_FORMAT)}: this is not an archive-storage bundle`);
  }
  const version = m['version'];
  if (typeof version !== 'number' || !Number.isInteger(version)) throw malformed('manifest.json has no integer "version"');
  if (!BUNDLE_VERSIONS.includes(version)) {
    throw new UnsupportedVersionError(
      String(version),
      `bundle format version ${version} cannot be read by this release (it reads versions ${BUNDLE_VERSIONS.join(' and ')}); upgrade archive-storage to import it`,
    );
  }
  const { createdAt, producer, count, bytes: total, objects, extras } = m;
  const refs = parseReferenceList(m['refs'], version, limits);
  if (isCount(count) && count + refs.length > limits.maxEntries) {
    throw new HostileBundleError('BUNDLE_TOO_MANY_ENTRIES', `manifest.json lists ${count} objects and ${refs.length} references, more than the limit of ${limits.maxEntries} entries`, MANIFEST_ENTRY);
  }
  if (typeof createdAt !== 'string' || !ISO_UTC.test(createdAt) || Number.isNaN(Date.parse(createdAt))) {
    throw malformed('manifest.json "createdAt" is not an ISO 8601 UTC time like 2025-01-31T12:00:00.000Z');
  }
  if (typeof producer !== 'string') throw malformed('manifest.json "producer" is not a string');
  if (!isCount(count) || !isCount(total)) throw malformed('manifest.json "count" and "bytes" must be non-negative integers');
  if (count > limits.maxEntries) {
    throw new HostileBundleError('BUNDLE_TOO_MANY_ENTRIES', `manifest.json lists ${count} objects, more than the limit of ${limits.maxEntries} entries`, MANIFEST_ENTRY);
  }
  if (total > limits.maxTotalBytes) {
    throw new HostileBundleError('BUNDLE_TOO_LARGE', `manifest.json declares ${total} bytes of objects, more than the limit of ${limits.maxTotalBytes}`, MANIFEST_ENTRY);
  }
  if (!Array.isArray(objects)) throw malformed('manifest.json "objects" is not an array');
  if (objects.length > limits.maxEntries) {
    throw new HostileBundleError('BUNDLE_TOO_MANY_ENTRIES', `manifest.json lists ${objects.length} objects, more than the limit of ${limits.maxEntries} entries`, MANIFEST_ENTRY);
  }

  const table = new ObjectTable(objects.length);
  for (let i = 0; i < objects.length; i++) {
    const pair = objects[i];
    if (!Array.isArray(pair) || pair.length !== 2 || !isSha256Hex(pair[0]) || !isCount(pair[1])) {
      throw malformed(`manifest.json objects[${i}] is not a ["<lowercase sha-256 hex>", <size>] pair`);
    }
    if (pair[1] > limits.maxObjectBytes) {
      throw new HostileBundleError('BUNDLE_TOO_LARGE', `object ${pair[0]} is ${pair[1]} bytes, more than the limit of ${limits.maxObjectBytes}`, objectEntryName(pair[0]));
    }
    table.add(pair[0], pair[1]);
    if (!table.isAfterPrevious(i)) {
      if (table.hashAt(i) === table.hashAt(i - 1)) {
        throw new HostileBundleError('BUNDLE_DUPLICATE_ENTRY', `manifest.json lists object ${pair[0]} twice`, MANIFEST_ENTRY);
      }
      throw malformed(`manifest.json objects are not sorted by hash (at objects[${i}])`);
    }
  }
  if (table.length !== count) throw mismatch(`manifest.json says "count": ${count} but lists ${table.length} objects`);
  if (table.totalBytes !== total) throw mismatch(`manifest.json says "bytes": ${total} but its objects add up to ${table.totalBytes}`);

  const extraRecords: Record<string, ExtraRecord> = {};
  if (extras !== undefined) {
    if (extras === null || typeof extras !== 'object' || Array.isArray(extras)) throw malformed('manifest.json "extras" is not an object');
    for (const [name, rec] of Object.entries(extras)) {
      if (!EXTRA_ENTRIES.includes(name)) throw malformed(`manifest.json names the unknown extra ${JSON.stringify(name)} (known: ${EXTRA_ENTRIES.join(', ')})`);
      const r = rec as Record<string, JsonValue> | null;
      if (r === null || typeof r !== 'object' || Array.isArray(r) || !isSha256Hex(r['sha256']) || !isCount(r['size'])) {
        throw malformed(`manifest.json extra ${JSON.stringify(name)} is not {"sha256": <hex>, "size": <n>}`);
      }
      if (r['size'] > limits.maxExtraBytes) {
        throw new HostileBundleError('BUNDLE_TOO_LARGE', `extra ${name} is ${r['size']} bytes, more than the limit of ${limits.maxExtraBytes}`, name);
      }
      extraRecords[name] = { sha256: r['sha256'], size: r['size'] };
    }
  }
  return {
    info: { format: BUNDLE_FORMAT, version, createdAt, producer, count, bytes: total, extras: extraRecords, refs },
    table,
  };
}

/** The manifest's `refs` (version 2: required, non-empty, by name, each once; version 1: absent). */
function parseReferenceList(value: JsonValue | undefined, version: number, limits: ManifestLimits): BundleReferenceRecord[] {
  if (version === BUNDLE_VERSION) {
    if (value !== undefined) throw malformed('manifest.json has "refs", which only a version 2 bundle carries');
    return [];
  }
  if (!Array.isArray(value) || value.length === 0) throw malformed('manifest.json of a version 2 bundle must list its reference documents in a non-empty "refs" array');
  const out: BundleReferenceRecord[] = [];
  let total = 0;
  for (const [i, rec] of value.entries()) {
    if (!Array.isArray(rec) || rec.length !== 3 || typeof rec[0] !== 'string' || !isSha256Hex(rec[1]) || !isCount(rec[2])) {
      throw malformed(`manifest.json refs[${i}] is not a ["<reference name>", "<sha-256 hex>", <size>] triple`);
    }
    const [name, sha256, size] = rec as [string, string, number];
    if (!isReferenceName(name)) throw new HostileBundleError('BUNDLE_UNSAFE_PATH', `manifest.json refs[${i}] names ${shown(name)}, which is not a valid reference name`, MANIFEST_ENTRY);
    const previous = out[out.length - 1]?.name;
    if (previous !== undefined && name <= previous) {
      if (name === previous) throw new HostileBundleError('BUNDLE_DUPLICATE_ENTRY', `manifest.json lists reference ${shown(name)} twice`, MANIFEST_ENTRY);
      throw malformed(`manifest.json refs are not sorted by name (at refs[${i}])`);
    }
    if (size > MAX_BUNDLE_REFERENCE_BYTES) {
      throw new HostileBundleError('BUNDLE_TOO_LARGE', `reference document ${shown(name)} is ${size} bytes, more than the limit of ${MAX_BUNDLE_REFERENCE_BYTES}`, referenceEntryName(name));
    }
    total += size;
    if (total > limits.maxManifestBytes) {
      throw new HostileBundleError('BUNDLE_TOO_LARGE', `the reference documents add up to more than ${limits.maxManifestBytes} bytes (maxManifestBytes)`, MANIFEST_ENTRY);
    }
    out.push({ name, sha256, size });
  }
  return out;
}
