/**
 * The reference document `refs/<name>.json` (docs/format.md, "References
 * v1"): its types, its canonical encoding and a strict decoder that refuses
 * an unknown version (UNSUPPORTED_VERSION) and anything damaged
 * (CORRUPT_INDEX naming the key), so that nothing is ever written over what
 * this release cannot read.
 *
 * @module
 */
import { CorruptIndexError, InvalidArgumentError, InvalidJsonError, UnsupportedVersionError } from '../errors.js';
import { isSha256Hex } from '../hash.js';
import { canonicalBytes, canonicalize, parseJson, type JsonValue } from '../json/canonical.js';
import { decodeUtf8 } from '../archive/hash-args.js';
import { REFERENCE_FORMAT, REFERENCE_VERSION } from '../archive/layout.js';

const utf8 = /* @__PURE__ */ new TextEncoder();

/** Largest `meta` of one version, in canonical UTF-8 bytes. */
export const MAX_REFERENCE_META_BYTES = 1024;

/** Default number of earlier versions a writer retains beside the current one. */
export const DEFAULT_KEEP_VERSIONS = 32;

/** Largest `keepVersions` accepted. */
export const MAX_KEEP_VERSIONS = 1000;

/** One version of a reference: what it pointed at, from when. */
export interface ReferenceVersion {
  /** The object's hash, or `null` for a deletion. */
  readonly hash: string | null;
  /** The metadata set with it, when there was any. */
  readonly meta?: JsonValue;
  /** 1 for the first value ever stored under the name, one more for each later change. */
  readonly seq: number;
  /** Unix milliseconds, by the writer's clock. */
  readonly time: number;
}

/** The current value of a reference that is present. */
export interface Reference {
  readonly name: string;
  readonly hash: string;
  readonly meta?: JsonValue;
  readonly seq: number;
  readonly time: number;
}

/** A decoded document: the name and its versions, newest first (never empty). */
export interface ReferenceDocument {
  readonly name: string;
  readonly versions: readonly ReferenceVersion[];
}

/** The current value of a document, or undefined when the reference is deleted (or there is no document). */
export function currentOf(doc: ReferenceDocument | undefined): Reference | undefined {
  const top = doc?.versions[0];
  if (!top || top.hash === null) return undefined;
  return top.meta === undefined
    ? { name: doc.name, hash: top.hash, seq: top.seq, time: top.time }
    : { name: doc.name, hash: top.hash, meta: top.meta, seq: top.seq, time: top.time };
}

/** The canonical bytes of `doc`. */
export function encodeReferenceDocument(doc: ReferenceDocument): Uint8Array {
  return canonicalBytes({
    format: REFERENCE_FORMAT,
    name: doc.name,
    version: REFERENCE_VERSION,
    versions: doc.versions.map((v) => (v.meta === undefined ? { hash: v.hash, seq: v.seq, time: v.time } : { hash: v.hash, meta: v.meta, seq: v.seq, time: v.time })),
  });
}

/**
 * `meta` as stored: checked (JSON, at most {@link MAX_REFERENCE_META_BYTES}
 * canonical bytes) and normalised to its canonical form. `undefined` stays
 * undefined (no metadata). Throws INVALID_JSON or INVALID_ARGUMENT.
 */
export function normaliseMeta(meta: unknown): JsonValue | undefined {
  if (meta === undefined) return undefined;
  let text: string;
  try {
    text = canonicalize(meta);
  } catch (e) {
    if (e instanceof InvalidJsonError) throw new InvalidJsonError(`$.meta${e.path.slice(1)}`, e.reason, { cause: e });
    throw e;
  }
  const size = utf8.encode(text).byteLength;
  if (size > MAX_REFERENCE_META_BYTES) {
    throw new InvalidArgumentError(`reference metadata is ${size} bytes as canonical JSON; at most ${MAX_REFERENCE_META_BYTES} are allowed (store bigger data as an object and put its hash in meta)`);
  }
  return JSON.parse(text) as JsonValue;
}

/** True when two metas (normalised, or undefined) are the same value. */
export function sameMeta(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return canonicalize(a) === canonicalize(b);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Decodes the document stored under `key` for reference `name`. Refuses an
 * unknown `version` with UNSUPPORTED_VERSION and anything else it cannot
 * trust with CORRUPT_INDEX (naming `key`): bytes that are not canonical
 * JSON, another `format`, another `name`, a version entry out of shape or
 * out of order.
 */
export function decodeReferenceDocument(bytes: Uint8Array, key: string, name: string): ReferenceDocument {
  const corrupt = (why: string, cause?: unknown): never => {
    throw new CorruptIndexError(key, `reference document ${key} is damaged: ${why}; it was left as it is`, { cause });
  };
  let value: JsonValue;
  try {
    value = parseJson(decodeUtf8(bytes));
  } catch (e) {
    return corrupt('not JSON', e);
  }
  if (!isObject(value)) return corrupt('not a JSON object');
  if (value.format !== REFERENCE_FORMAT) return corrupt(`its format is ${JSON.stringify(value.format)}, not ${JSON.stringify(REFERENCE_FORMAT)}`);
  if (value.version !== REFERENCE_VERSION) {
    throw new UnsupportedVersionError(
      String(value.version),
      `reference document ${key} has version ${JSON.stringify(value.version)}; this release reads version ${REFERENCE_VERSION} only and leaves it untouched`,
    );
  }
  if (value.name !== name) return corrupt(`it names ${JSON.stringify(value.name)}, not ${JSON.stringify(name)}`);
  const extra = Object.keys(value).filter((k) => !['format', 'name', 'version', 'versions'].includes(k));
  if (extra.length) return corrupt(`unknown field ${JSON.stringify(extra[0])}`);
  const list = value.versions;
  if (!Array.isArray(list) || list.length === 0) return corrupt('versions must be a non-empty array');
  if (list.length > 1 + MAX_KEEP_VERSIONS) return corrupt(`more than ${1 + MAX_KEEP_VERSIONS} versions`);
  const versions: ReferenceVersion[] = [];
  for (const [i, v] of list.entries()) {
    if (!isObject(v)) return corrupt(`versions[${i}] is not an object`);
    const odd = Object.keys(v).filter((k) => !['hash', 'meta', 'seq', 'time'].includes(k));
    if (odd.length) return corrupt(`versions[${i}] has an unknown field ${JSON.stringify(odd[0])}`);
    if (v.hash !== null && !isSha256Hex(v.hash)) return corrupt(`versions[${i}].hash is neither a hash nor null`);
    if (!isCount(v.seq) || v.seq < 1) return corrupt(`versions[${i}].seq is not a positive integer`);
    if (!isCount(v.time)) return corrupt(`versions[${i}].time is not a unix time in milliseconds`);
    if (i > 0 && v.seq >= versions[i - 1]!.seq) return corrupt(`versions[${i}].seq does not decrease`);
    if (v.meta !== undefined && utf8.encode(canonicalize(v.meta)).byteLength > MAX_REFERENCE_META_BYTES) {
      return corrupt(`versions[${i}].meta is over ${MAX_REFERENCE_META_BYTES} bytes`);
    }
    versions.push(v.meta === undefined ? { hash: v.hash as string | null, seq: v.seq, time: v.time } : { hash: v.hash as string | null, meta: v.meta as JsonValue, seq: v.seq, time: v.time });
  }
  const doc = { name, versions };
  // Canonical bytes only: a hand-edited document is damaged, not silently rewritten into another.
  const again = encodeReferenceDocument(doc);
  if (again.byteLength !== bytes.byteLength || again.some((b, i) => b !== bytes[i])) return corrupt('not in canonical form');
  return doc;
}

/** Every hash a document keeps alive (current and retained history). */
export function hashesOf(doc: ReferenceDocument): string[] {
  const out: string[] = [];
  for (const v of doc.versions) if (v.hash !== null) out.push(v.hash);
  return out;
}
