/**
 * `index.json`: the compacted index of the layout.
 *
 * The document is RFC 8785 canonical JSON (sorted keys, no whitespace), so the
 * same archive always gives the same bytes:
 *
 * ```json
 * {"objects":{"<hash>":{"path":"objects/<aa>/<bb>/<hash>.json","size":123,"storedAt":1700000000000}},"version":1}
 * ```
 *
 * `path` is relative to the archive root, `size` is in bytes, `storedAt` is
 * unix milliseconds. The index is derivable from the objects; a document that
 * does not parse or does not have this shape is treated as torn and rebuilt.
 *
 * @module
 */
import { UnsupportedVersionError } from '../errors.js';
import { isSha256Hex } from '../hash.js';
import { INDEX_KEY, INDEX_VERSION, KNOWN_INDEX_VERSIONS, objectKey } from './layout.js';

export { INDEX_VERSION };

/** What the index keeps per object (the path is derived from the hash). */
export interface IndexRecord {
  size: number;
  storedAt: number;
}

const encoder = /* @__PURE__ */ new TextEncoder();
const decoder = /* @__PURE__ */ new TextDecoder();

/** Entries formatted into one string before it is encoded into the output. */
const ENTRIES_PER_PIECE = 256;
/** Most bytes an entry can take: 64-hex key, path, two numbers of at most 32 characters each. */
const MAX_ENTRY_BYTES = 180 + 2 * 32;

/** Reads the n-th entry (in hash order) of an index being written. */
export interface IndexEntrySource {
  readonly length: number;
  hashAt(n: number): string;
  sizeAt(n: number): number;
  storedAtAt(n: number): number;
}

/**
 * The text of an `index.json` document, a few hundred entries per piece, for
 * entries given in hash order. The one writer of the format: the archive
 * encodes its index with it and a bundle writes its `index.json` with it.
 * Built by hand rather than through `canonicalize`: keys are hex and values
 * are integers, so no escaping is ever needed, and sorted 64-character hex
 * strings are the RFC 8785 key order. The concatenated pieces are exactly
 * `canonicalize` of the document (tested).
 */
export function* indexTextPieces(entries: IndexEntrySource, entriesPerPiece = ENTRIES_PER_PIECE): Generator<string> {
  // The piece boundaries are part of what a bundle's compressed bytes depend on: keep them as they are.
  yield '{"objects":{';
  for (let start = 0; start < entries.length; start += entriesPerPiece) {
    let piece = '';
    const end = Math.min(entries.length, start + entriesPerPiece);
    for (let n = start; n < end; n++) {
      const h = entries.hashAt(n);
      piece += `${n ? ',' : ''}"${h}":{"path":"${objectKey(h)}","size":${entries.sizeAt(n)},"storedAt":${entries.storedAtAt(n)}}`;
    }
    yield piece;
  }
  yield `},"version":${INDEX_VERSION}}`;
}

/**
 * Encodes the index as canonical JSON ({@link indexTextPieces}). The text goes
 * into one preallocated buffer a few hundred entries at a time: one string of
 * the whole index plus its UTF-8 copy took about twice as long at 80k entries
 * (237-299 ms against 134-204 ms, sorting included), much of it in garbage
 * collection.
 */
export function encodeIndex(entries: ReadonlyMap<string, IndexRecord>): Uint8Array {
  const hashes = [...entries.keys()].sort();
  const out = new Uint8Array(32 + hashes.length * MAX_ENTRY_BYTES);
  let at = 0;
  const records = hashes.map((h) => entries.get(h)!);
  const source: IndexEntrySource = {
    length: hashes.length,
    hashAt: (n) => hashes[n]!,
    sizeAt: (n) => records[n]!.size,
    storedAtAt: (n) => records[n]!.storedAt,
  };
  for (const text of indexTextPieces(source)) {
    const { read, written } = encoder.encodeInto(text, out.subarray(at));
    if (read !== text.length) throw new Error('index.json: an entry is longer than its bound'); // cannot happen for numbers
    at += written;
  }
  return out.slice(0, at);
}

/** Why a stored `index.json` was not usable. */
export class TornIndex {
  constructor(readonly reason: string) {}
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * Throws `UNSUPPORTED_VERSION` when `doc` is an object whose `version` is a
 * number this release does not know: a newer release's index, which must be
 * left untouched (rebuilding over it would destroy what that release wrote).
 */
export function refuseUnknownVersion(doc: unknown): void {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return;
  const { version } = doc as { version?: unknown };
  if (typeof version === 'number' && !KNOWN_INDEX_VERSIONS.includes(version)) {
    throw new UnsupportedVersionError(
      String(version),
      `${INDEX_KEY} has version ${version}; this release reads versions ${KNOWN_INDEX_VERSIONS.join(' and ')}. Open it with the release that wrote it; it was left untouched`,
    );
  }
}

/**
 * Decodes a v1 `index.json`; a {@link TornIndex} when it is damaged or of
 * another shape. A document of a version this release does not know throws
 * `UNSUPPORTED_VERSION` (see {@link refuseUnknownVersion}).
 */
export function decodeIndex(bytes: Uint8Array): Map<string, IndexRecord> | TornIndex {
  const doc = parseIndexDocument(bytes);
  if (doc instanceof TornIndex) return doc;
  return decodeIndexDocument(doc);
}

/** Parses `index.json` as JSON: a {@link TornIndex} when it does not parse; throws on an unknown version. */
export function parseIndexDocument(bytes: Uint8Array): unknown {
  let doc: unknown;
  try {
    doc = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    return new TornIndex(`index.json does not parse: ${(e as Error).message}`);
  }
  refuseUnknownVersion(doc);
  return doc;
}

/** {@link decodeIndex} of an already parsed document. */
export function decodeIndexDocument(doc: unknown): Map<string, IndexRecord> | TornIndex {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return new TornIndex('index.json is not an object');
  refuseUnknownVersion(doc);
  const { version, objects } = doc as { version?: unknown; objects?: unknown };
  if (version !== INDEX_VERSION) return new TornIndex(`index.json has version ${JSON.stringify(version)}, expected ${INDEX_VERSION}`);
  if (typeof objects !== 'object' || objects === null || Array.isArray(objects)) return new TornIndex('index.json has no "objects" map');
  const out = new Map<string, IndexRecord>();
  for (const [hash, entry] of Object.entries(objects as Record<string, unknown>)) {
    if (!isSha256Hex(hash)) return new TornIndex(`index.json names ${JSON.stringify(String(hash).slice(0, 80))}, which is not an address`);
    const e = entry as { path?: unknown; size?: unknown; storedAt?: unknown } | null;
    if (typeof e !== 'object' || e === null || e.path !== objectKey(hash) || !isCount(e.size) || !isCount(e.storedAt)) {
      return new TornIndex(`index.json entry ${hash} is malformed`);
    }
    out.set(hash, { size: e.size, storedAt: e.storedAt });
  }
  return out;
}
