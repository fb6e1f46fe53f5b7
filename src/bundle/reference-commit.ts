/**
 * The reference half of a bundle import's commit (docs/format.md, "Bundle
 * v2", Writing): the record `bundle-staging/<start>-<id>/references.json`
 * written after the objects and before the first reference document, and
 * its roll-forward, so that an import killed while writing its references
 * ends with all of them once someone rolls the record forward (the next
 * import, `clearBundleStaging`).
 *
 * @module
 */
import type { CompareAndSwap } from '../adapter/cas.js';
import { compareAndSwapOf } from '../adapter/cas.js';
import type { StorageAdapter } from '../adapter/contract.js';
import { BUNDLE_STAGING_PREFIX, referenceKey, stagingStartOf } from '../archive/layout.js';
import { canonicalBytes, parseJson, type JsonValue } from '../json/canonical.js';
import { decodeUtf8 } from '../archive/hash-args.js';
import { bytesEqual } from '../internal/bytes.js';
import { isReferenceName } from '../refs/name.js';

/** The `format` of a reference-import record. */
export const REFERENCE_IMPORT_FORMAT = 'archive-storage/reference-import';
/** The record version this release writes and rolls forward. */
export const REFERENCE_IMPORT_VERSION = 1;
/** The record's name inside an import's staging folder. */
export const REFERENCE_RECORD = 'references.json';
/** Records of imports started longer ago than this are removed by the next import once rolled forward (younger ones may be running). */
export const STALE_RECORD_MS = 60 * 60 * 1000;

/** One planned document write: `bytes` under `refs/<name>.json`, if the document is still at `expected` (`null`: absent). */
export interface PlannedWrite {
  name: string;
  bytes: Uint8Array;
  expected: string | null;
}

const utf8 = /* @__PURE__ */ new TextEncoder();

/** The record's canonical bytes. */
export function encodeRecord(writes: readonly PlannedWrite[]): Uint8Array {
  return canonicalBytes({
    format: REFERENCE_IMPORT_FORMAT,
    version: REFERENCE_IMPORT_VERSION,
    writes: writes.map((w) => ({ document: decodeUtf8(w.bytes), expected: w.expected, name: w.name })),
  });
}

/** The writes of a record, or undefined for one this release does not know or cannot read (left untouched). */
export function decodeRecord(bytes: Uint8Array): PlannedWrite[] | undefined {
  let doc: JsonValue;
  try {
    doc = parseJson(decodeUtf8(bytes));
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  if (doc.format !== REFERENCE_IMPORT_FORMAT || doc.version !== REFERENCE_IMPORT_VERSION || !Array.isArray(doc.writes)) return undefined;
  const out: PlannedWrite[] = [];
  for (const w of doc.writes) {
    if (w === null || typeof w !== 'object' || Array.isArray(w)) return undefined;
    const { document, expected, name } = w as Record<string, JsonValue>;
    if (typeof document !== 'string' || !isReferenceName(name) || !(expected === null || typeof expected === 'string')) return undefined;
    out.push({ name, bytes: utf8.encode(document), expected });
  }
  return out;
}

/** The key of an import's record, given its staging folder (`bundle-staging/<start>-<id>/`). */
export const recordKey = (stagingPrefix: string) => `${stagingPrefix}${REFERENCE_RECORD}`;

/** True when `key` is a reference-import record. */
export const isRecordKey = (key: string) => key.startsWith(BUNDLE_STAGING_PREFIX) && key.endsWith(`/${REFERENCE_RECORD}`) && key.split('/').length === 3;

/** What rolling a record forward did. */
export interface RollForward {
  /** Documents written now. */
  written: number;
  /** Documents already as the record says. */
  done: number;
  /** Documents another writer changed since: left as they are. */
  left: number;
}

/**
 * Rolls the planned writes forward: a document still at `expected` is
 * swapped to the planned bytes; one already equal to them is done; any other
 * was changed by another writer since, and is left.
 */
export async function rollForward(cas: CompareAndSwap, writes: readonly PlannedWrite[], signal?: AbortSignal): Promise<RollForward> {
  const result: RollForward = { written: 0, done: 0, left: 0 };
  for (const w of writes) {
    const key = referenceKey(w.name);
    const current = await cas.read(key, { signal });
    if (current && bytesEqual(current.bytes, w.bytes)) result.done++;
    else if ((current?.version ?? null) !== w.expected) result.left++;
    else if ((await cas.swap(key, w.bytes, w.expected, { signal })) !== null) result.written++;
    else {
      const again = await cas.read(key, { signal });
      if (again && bytesEqual(again.bytes, w.bytes)) result.done++;
      else result.left++;
    }
  }
  return result;
}

/**
 * Rolls forward the reference-import records among `keys` (other keys, and
 * records this release cannot read, are passed over). Resolves the keys of
 * the records rolled forward: only those may be removed.
 */
export async function rollForwardRecords(
  adapter: StorageAdapter,
  keys: readonly string[],
  options: { signal?: AbortSignal; lockTimeoutMs?: number } = {},
): Promise<string[]> {
  const rolled: string[] = [];
  let cas: CompareAndSwap | undefined;
  for (const key of keys) {
    if (!isRecordKey(key)) continue;
    const bytes = await adapter.read(key, { signal: options.signal });
    const writes = bytes && decodeRecord(bytes);
    if (!writes) continue;
    cas ??= compareAndSwapOf(adapter, { lockTimeoutMs: options.lockTimeoutMs });
    await rollForward(cas, writes, options.signal);
    rolled.push(key);
  }
  return rolled;
}

/**
 * What an import does first: rolls forward every record left on `adapter`
 * (imports killed while writing references, or running now: rolling forward
 * is safe beside the owner), and removes those of imports started more than
 * {@link STALE_RECORD_MS} ago.
 */
export async function recoverReferenceImports(adapter: StorageAdapter, signal?: AbortSignal): Promise<void> {
  const records: string[] = [];
  for await (const key of adapter.list(BUNDLE_STAGING_PREFIX, { signal })) if (isRecordKey(key)) records.push(key);
  if (records.length === 0) return;
  const rolled = await rollForwardRecords(adapter, records, { signal });
  const now = Date.now();
  for (const key of rolled) {
    const started = stagingStartOf(key);
    if (started !== undefined && now - started >= STALE_RECORD_MS) await adapter.delete(key, { signal });
  }
}
