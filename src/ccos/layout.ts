/**
 * The on-disk layout of CCOS's content-addressed archives, in one place.
 *
 * ```
 * <base>/index.json                 pretty JSON map: hash -> "<aa>/<bb>/<hash>.json"
 * <base>/<aa>/<bb>/<hash>.json      one entity, pretty serde JSON, named by the
 *                                   SHA-256 of its compact serde JSON
 * <base>/.archive_lock              CCOS's writer lock file (transient)
 * <base>/**\/<uuid>.tmp              CCOS's atomic-write temp files (left by a crash)
 * <base>/plan_index.json, intent_index.json   sidecar indices of plan archives
 * ```
 *
 * A `FileArchive` is one such `<base>`; a `FileArchiveStorage` (the intent
 * graph) is a directory holding an `intents/` and an `edges/` FileArchive.
 *
 * @module
 */

/** The index file of a FileArchive. */
export const CCOS_INDEX_FILE = 'index.json';

/** The two FileArchives of a FileArchiveStorage, and what each holds. */
export const CCOS_STORAGE_SECTIONS = Object.freeze([
  { base: 'intents/', kind: 'intent' },
  { base: 'edges/', kind: 'edge' },
] as const);

/** The relative path CCOS gives the object with `hash`: `<aa>/<bb>/<hash>.json`. */
export function ccosObjectPath(hash: string): string {
  return `${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}.json`;
}

/** An object file inside a FileArchive; groups: the two shard segments and the hash. */
const OBJECT_PATH = /^([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})\.json$/;

/** The hash named by a relative object path, or undefined when the path is not `<aa>/<bb>/<hash>.json` with matching shards. */
export function hashOfCcosObjectPath(rel: string): string | undefined {
  const m = OBJECT_PATH.exec(rel);
  if (!m) return undefined;
  return m[3]!.startsWith(m[1]! + m[2]!) ? m[3] : undefined;
}

/** A lowercase SHA-256 hex string. */
export const CCOS_HASH = /^[0-9a-f]{64}$/;

/** Files CCOS itself leaves in a FileArchive that carry no entity: ignored on import. */
export function isCcosHousekeeping(rel: string): boolean {
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  if (name === '.archive_lock') return rel === name;
  if (name === 'plan_index.json' || name === 'intent_index.json') return rel === name;
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/.test(name);
}

/**
 * Why a path named by an index cannot be followed, or undefined when it is a
 * plain relative path. Only what could reach outside the archive is named
 * here; a safe path that is not the shard path of its hash is refused too,
 * by the caller, as outside the layout.
 */
export function unsafePathReason(rel: string): string | undefined {
  if (rel === '') return 'the path is empty';
  if (rel.startsWith('/') || /^[A-Za-z]:/.test(rel)) return 'the path is absolute';
  if (rel.includes('\\')) return 'the path has a backslash';
  if (/[\u0000-\u001f]/.test(rel)) return 'the path has a control character';
  if (rel.split('/').some((s) => s === '..')) return "the path has a '..' segment, which leaves the archive directory";
  if (rel.split('/').some((s) => s === '' || s === '.')) return "the path has an empty or '.' segment";
  return undefined;
}
