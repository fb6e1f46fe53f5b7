/**
 * The archive's layout, in one place: every key, prefix and key pattern the
 * SDK writes through an adapter, and the version of every format stored under
 * them. Nothing else spells a key; everything imports it from here (as
 * cacache keeps its path layout in one tiny file). The formats themselves are
 * specified in docs/format.md and docs/archive.md.
 *
 * ```
 * objects/<aa>/<bb>/<hash>.json   the canonical bytes of one value
 * index.json                      the index: v2 root (INDEX_V2_VERSION), or v1's single document
 * index/<run>/directory.json      index v2: a run's directory; bloom.bin its Bloom filter;
 * index/<run>/<page>.json         and its pages (6 digits from 000000)
 * journal/<time>-<writer>-<seq>.log  write-ahead segments, folded into index.json
 * changes/<newest>-<oldest>-<writer>-<seq>.pack  the change log: one pack of folded segments per fold
 * changes/<time>-<writer>-<seq>.log  the change log: reference change segments (and v1's folded copies)
 * quarantine/…                    corrupt objects moved aside by verify({ repair })
 * bundle-staging/<start>-<id>/…   a bundle import in progress
 * intent-graph/index.json         the previous release's intent-graph index (migrated to refs/intent-graph/… on open)
 * intent-graph.json               the single-document intent store
 * refs/<name>.json                one reference: current hash and retained history (REFERENCE_VERSION)
 * gc-trash/<aa>/<bb>/<hash>.json  an object gc is deleting, until it is sure no reference appeared
 * ```
 *
 * @module
 */

/** Prefix under which objects live. */
export const OBJECTS_PREFIX = 'objects/';

/** The key of the object with `hash`: `objects/<aa>/<bb>/<hash>.json`. */
export function objectKey(hash: string): string {
  return `objects/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}.json`;
}

/** A well-formed object key; groups: the two shard segments and the hash. */
export const OBJECT_KEY_PATTERN = /^objects\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})\.json$/;

/** The hash named by an object key, or undefined when the key is not a well-formed object key (shards must match the hash). */
export function hashOfObjectKey(key: string): string | undefined {
  const m = OBJECT_KEY_PATTERN.exec(key);
  if (!m) return undefined;
  const hash = m[3]!;
  return hash.startsWith(m[1]! + m[2]!) ? hash : undefined;
}

/** The compacted index key. */
export const INDEX_KEY = 'index.json';

/** Version of the single-document `index.json` format (v1, written by 0.1; bundles still carry it). */
export const INDEX_VERSION = 1;

/** Version of the `index.json` root of index v2 (docs/format.md, "Index v2"). */
export const INDEX_V2_VERSION = 2;

/** Every `index.json` version this release can read; any other is refused (UNSUPPORTED_VERSION), never rebuilt over. */
export const KNOWN_INDEX_VERSIONS: readonly number[] = [INDEX_VERSION, INDEX_V2_VERSION];

/** The `format` of an index v2 root: a root with another is not this SDK's index. */
export const INDEX_FORMAT = 'archive-storage/index';

/** Prefix of index v2's run pieces. */
export const INDEX_RUNS_PREFIX = 'index/';

/**
 * A run id: `<15-digit unix ms>-<20 hex digits>`. The digits are derived from
 * what the run holds (or, for a merge, from what it merges), so the same
 * history gives the same keys and bytes on every backend.
 */
export const RUN_ID_PATTERN = /^(\d{15})-([0-9a-f]{20})$/;

/** The id of a run written at `time` whose content digest (hex) is `digest`. */
export function runId(time: number, digest: string): string {
  return `${String(Math.max(0, Math.floor(time))).padStart(15, '0')}-${digest.slice(0, 20)}`;
}

/** The key of a run's directory. */
export function runDirectoryKey(id: string): string {
  return `${INDEX_RUNS_PREFIX}${id}/directory.json`;
}

/** The key of a run's Bloom filter. */
export function runBloomKey(id: string): string {
  return `${INDEX_RUNS_PREFIX}${id}/bloom.bin`;
}

/** The key of page `n` of a run. */
export function runPageKey(id: string, n: number): string {
  return `${INDEX_RUNS_PREFIX}${id}/${String(n).padStart(6, '0')}.json`;
}

/** The run a key under `index/` belongs to, and the time in its id; undefined for other keys. */
export function runOfKey(key: string): { id: string; time: number } | undefined {
  if (!key.startsWith(INDEX_RUNS_PREFIX)) return undefined;
  const id = key.slice(INDEX_RUNS_PREFIX.length).split('/', 1)[0]!;
  const m = RUN_ID_PATTERN.exec(id);
  return m ? { id, time: Number(m[1]) } : undefined;
}

/** Name of the adapter lock that guards `index.json` and journal clean-up. */
export const INDEX_LOCK = 'archive-index';

/** Prefix of the journal segments. */
export const JOURNAL_PREFIX = 'journal/';

/** A journal segment key; groups: time (ms, 15 digits), writer id, sequence number. */
export const SEGMENT_KEY_PATTERN = /^journal\/(\d{15})-([0-9a-z]{1,32})-(\d{1,12})\.log$/;

/** The key of a new journal segment. Lexicographic order of keys is time order. */
export function segmentKey(time: number, writer: string, seq: number): string {
  const t = String(Math.max(0, Math.floor(time))).padStart(15, '0');
  return `${JOURNAL_PREFIX}${t}-${writer}-${String(seq).padStart(8, '0')}.log`;
}

/**
 * Prefix of the change log (format.md, "Change log v2"): one pack per fold of
 * the journal segments it folded, and reference change segments, so that a
 * listener that was away can catch up.
 */
export const CHANGES_PREFIX = 'changes/';

/**
 * A change log segment key (a reference change segment, or a folded journal
 * segment copied by change log v1); groups: time (ms, 15 digits), writer id,
 * sequence number.
 */
export const CHANGE_KEY_PATTERN = /^changes\/(\d{15})-([0-9a-z]{1,32})-(\d{1,12})\.log$/;

/** A pack of folded journal segments; groups: newest and oldest part time (ms, 15 digits), writer id, sequence number. */
export const CHANGE_PACK_KEY_PATTERN = /^changes\/(\d{15})-(\d{15})-([0-9a-z]{1,32})-(\d{1,12})\.pack$/;

/** The change log key that keeps the journal segment `segmentKey` as its own file (reference change segments; v1's folded copies). */
export function changeKeyOfSegment(segmentKey: string): string {
  return CHANGES_PREFIX + segmentKey.slice(JOURNAL_PREFIX.length);
}

/** The key of a pack whose parts are named from `oldest` to `newest` (ms), the `seq`th pack of `writer`. */
export function changePackKey(newest: number, oldest: number, writer: string, seq: number): string {
  const t = (ms: number) => String(Math.max(0, Math.floor(ms))).padStart(15, '0');
  return `${CHANGES_PREFIX}${t(newest)}-${t(oldest)}-${writer}-${String(seq).padStart(8, '0')}.pack`;
}

/**
 * The times a change log key names: for a segment its time twice, for a pack
 * its newest and oldest part. Undefined for keys that are neither (ignored).
 * Retention goes by `newest`, so a pack stays while any part is young.
 */
export function changeKeyTimes(key: string): { newest: number; oldest: number } | undefined {
  const log = CHANGE_KEY_PATTERN.exec(key);
  if (log) return { newest: Number(log[1]), oldest: Number(log[1]) };
  const pack = CHANGE_PACK_KEY_PATTERN.exec(key);
  return pack ? { newest: Number(pack[1]), oldest: Number(pack[2]) } : undefined;
}

/** Prefix under which verify({ repair }) moves corrupt objects. */
export const QUARANTINE_PREFIX = 'quarantine/';

/** Prefix of bundle imports in progress: `bundle-staging/<start time, base 36>-<random>/…`. */
export const BUNDLE_STAGING_PREFIX = 'bundle-staging/';

/** The start time (ms) of the bundle import whose staging holds `key`, or undefined for other keys. */
export function stagingStartOf(key: string): number | undefined {
  if (!key.startsWith(BUNDLE_STAGING_PREFIX)) return undefined;
  const m = /^([0-9a-z]+)-[^/]*\//.exec(key.slice(BUNDLE_STAGING_PREFIX.length));
  if (!m) return undefined;
  const t = parseInt(m[1]!, 36);
  return Number.isSafeInteger(t) ? t : undefined;
}

/** Where the previous release's archive-backed intent store kept its id → hash index (read once, migrated, deleted). */
export const DEFAULT_INTENT_INDEX_KEY = 'intent-graph/index.json';

/** Where the single-document intent store keeps its graph. */
export const DEFAULT_INTENT_GRAPH_KEY = 'intent-graph.json';

/** Prefix of the reference documents (docs/format.md, "References v1"). */
export const REFS_PREFIX = 'refs/';

/** Suffix of a reference document's key. */
export const REFERENCE_SUFFIX = '.json';

/** The `format` of a reference document. */
export const REFERENCE_FORMAT = 'archive-storage/reference';

/** Version of the reference document format; any other is refused (UNSUPPORTED_VERSION) and left untouched. */
export const REFERENCE_VERSION = 1;

/** The key of the document of reference `name` (a valid name: see `src/refs/name.ts`). */
export function referenceKey(name: string): string {
  return `${REFS_PREFIX}${name}${REFERENCE_SUFFIX}`;
}

/** The reference name a key under `refs/` stores, or undefined for other keys. */
export function nameOfReferenceKey(key: string): string | undefined {
  if (!key.startsWith(REFS_PREFIX) || !key.endsWith(REFERENCE_SUFFIX)) return undefined;
  const name = key.slice(REFS_PREFIX.length, -REFERENCE_SUFFIX.length);
  return name === '' ? undefined : name;
}

/** Prefix under which gc keeps the objects it is deleting until it has checked the references again. */
export const GC_TRASH_PREFIX = 'gc-trash/';

/** The trash key of the object with `hash`. */
export function gcTrashKey(hash: string): string {
  return GC_TRASH_PREFIX + objectKey(hash).slice(OBJECTS_PREFIX.length);
}

/** The hash a trash key holds, or undefined when the key is not a well-formed trash key. */
export function hashOfGcTrashKey(key: string): string | undefined {
  return key.startsWith(GC_TRASH_PREFIX) ? hashOfObjectKey(OBJECTS_PREFIX + key.slice(GC_TRASH_PREFIX.length)) : undefined;
}
