/**
 * StorageBackupData v1.1: the intent-graph backup format of the original CCOS
 * producer (Rust, serde), read and written field for field.
 *
 * ```json
 * {
 *   "intents": { "<id>": StorableIntent, ... },
 *   "edges": [Edge, ...],
 *   "version": "1.1",
 *   "timestamp": 1692796800,
 *   "manifest": { "created_by": "...", "source": null, "note": null },
 *   "rtfs": ";; Intent graph snapshot ..."
 * }
 * ```
 *
 * Restore rules (see docs/intent-graph.md for the reasoning):
 * - versions `1.0` and `1.1` are read; a newer `1.x` is read as 1.1 with a
 *   warning; any other major version is refused (`UNSUPPORTED_VERSION`);
 * - unknown fields are ignored (and reported); `manifest` and `rtfs` may be
 *   missing or `null`, as may every field that is an `Option` in CCOS;
 * - anything structurally wrong is refused with `INVALID_BACKUP` naming its
 *   path, before the store is touched, and stores apply a restore all or nothing;
 * - an intents-map key that differs from its `intent_id` is refused;
 * - edges naming unknown intents are kept, with a warning;
 * - the JSON is authoritative: an `rtfs` snapshot that disagrees with it (or
 *   cannot be read) only produces a warning.
 *
 * @module
 */
import { formatJsonPath, isWellFormedString, parseJson } from '../json/canonical.js';
import { InvalidBackupError, InvalidJsonError, UnsupportedVersionError } from '../errors.js';
import type { BackupInput, BackupManifest, CreateBackupOptions, ReadBackupOptions, RestoreOptions, RestoreReport, StorageBackupData, ValidatedBackup } from './backup-types.js';
import type { IntentStore } from './intent-store.js';
import { hasOwn } from './schema.js';
import { validateGraph, type GraphWarning } from './validate.js';
import { compareRtfsSnapshot, printRtfsSnapshot } from './rtfs/snapshot.js';
import { stringifyBackup } from './document-json.js';

export type {
  BackupInput,
  BackupManifest,
  CreateBackupOptions,
  ReadBackupOptions,
  RestoreOptions,
  RestoreReport,
  StorageBackupData,
  ValidatedBackup,
} from './backup-types.js';

/** The version this release writes. */
export const BACKUP_FORMAT_VERSION = '1.1';
/** Versions read without a warning. */
export const SUPPORTED_BACKUP_VERSIONS: readonly string[] = Object.freeze(['1.0', '1.1']);
/** `manifest.created_by` of backups written by this library. */
export const BACKUP_CREATED_BY = 'archive-storage';

/** Default longest backup text: 256 Mi characters (V8 strings stop near 512 Mi). */
export const DEFAULT_MAX_BACKUP_TEXT_LENGTH = 256 * 1024 * 1024;
/**
 * Nesting accepted in backup text. The format itself is 5 levels deep; the
 * margin leaves room for unknown fields of newer versions, and keeps a
 * hostile `[[[[...` from costing anything.
 */
const MAX_BACKUP_DEPTH = 64;
const MAX_LISTED_UNKNOWN = 10;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

function checkVersion(v: unknown, warnings: GraphWarning[]): string {
  if (typeof v !== 'string') throw new InvalidBackupError('$.version', `expected a version string like "1.1", got ${describe(v)}`);
  const m = /^(\d{1,9})\.(\d{1,9})$/.exec(v);
  if (!m) throw new InvalidBackupError('$.version', `expected a version like "1.1", got ${JSON.stringify(v.slice(0, 40))}`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major !== 1) {
    throw new UnsupportedVersionError(v, `backup format version ${v} is not supported: this release reads 1.x (1.0 and 1.1, newer 1.x with a warning)`);
  }
  if (minor > 1) {
    warnings.push({
      code: 'NEWER_MINOR_VERSION',
      path: '$.version',
      message: `backup format ${v} is newer than 1.1; it was read as 1.1 and fields this release does not know were ignored`,
    });
  }
  return v;
}

function checkNullableString(v: unknown, path: string, limit: number | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new InvalidBackupError(path, `expected a string or null, got ${describe(v)}`);
  if (limit !== undefined && v.length > limit) throw new InvalidBackupError(path, `string of ${v.length} characters is longer than the limit of ${limit}`);
  if (!isWellFormedString(v)) throw new InvalidBackupError(path, 'string has a lone UTF-16 surrogate');
  return v;
}

function checkManifest(v: unknown, unknown: string[], limit: number | undefined): BackupManifest | null {
  if (v === null || v === undefined) return null;
  if (!isPlainObject(v)) throw new InvalidBackupError('$.manifest', `expected an object or null, got ${describe(v)}`);
  if (!hasOwn(v, 'created_by')) throw new InvalidBackupError('$.manifest.created_by', 'required field is missing');
  const createdBy = checkNullableString(v.created_by, '$.manifest.created_by', limit);
  if (createdBy === null) throw new InvalidBackupError('$.manifest.created_by', 'expected a string, got null');
  for (const key of Object.keys(v)) {
    if (key !== 'created_by' && key !== 'source' && key !== 'note') unknown.push(formatJsonPath(['manifest', key]));
  }
  return {
    created_by: createdBy,
    source: checkNullableString(v.source, '$.manifest.source', limit),
    note: checkNullableString(v.note, '$.manifest.note', limit),
  };
}

const TOP_LEVEL = ['intents', 'edges', 'version', 'timestamp', 'manifest', 'rtfs'];

/**
 * Validates a parsed StorageBackupData document. Throws
 * `UnsupportedVersionError` for a major version other than 1, and
 * `InvalidBackupError` (with `path`) for anything structurally wrong.
 * The version is checked first, so a future format is reported as such.
 */
export function validateBackupData(value: unknown, options?: ReadBackupOptions): ValidatedBackup {
  if (!isPlainObject(value)) throw new InvalidBackupError('$', `expected a backup object, got ${describe(value)}`);
  const warnings: GraphWarning[] = [];
  if (!hasOwn(value, 'version')) throw new InvalidBackupError('$.version', 'required field is missing');
  const version = checkVersion(value.version, warnings);

  const t = value.timestamp;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > Number.MAX_SAFE_INTEGER) {
    throw new InvalidBackupError('$.timestamp', `expected a non-negative integer of unix seconds, got ${t === undefined ? 'nothing (required field is missing)' : describe(t)}`);
  }
  if (!hasOwn(value, 'intents')) throw new InvalidBackupError('$.intents', 'required field is missing');
  if (!hasOwn(value, 'edges')) throw new InvalidBackupError('$.edges', 'required field is missing');

  const unknown: string[] = [];
  const { graph, warnings: graphWarnings } = validateGraph({ intents: value.intents, edges: value.edges }, { ...options, unknownFields: unknown });
  const manifest = checkManifest(value.manifest, unknown, options?.maxStringLength);
  const rtfs = checkNullableString(value.rtfs, '$.rtfs', undefined);
  for (const key of Object.keys(value)) if (!TOP_LEVEL.includes(key)) unknown.push(formatJsonPath([key]));

  if (unknown.length > 0) {
    const listed = unknown.slice(0, MAX_LISTED_UNKNOWN).join(', ');
    warnings.push({
      code: 'UNKNOWN_FIELDS',
      path: '$',
      message: `${unknown.length} unknown field(s) ignored: ${listed}${unknown.length > MAX_LISTED_UNKNOWN ? ', ...' : ''}`,
    });
  }
  warnings.push(...graphWarnings);
  if (rtfs !== null && options?.checkRtfs !== false) warnings.push(...compareRtfsSnapshot(rtfs, graph, options));

  const data: StorageBackupData = { intents: graph.intents, edges: graph.edges, version, timestamp: t, manifest, rtfs };
  return { data, graph, warnings };
}

const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });

/**
 * Parses untrusted backup text (or UTF-8 bytes) strictly and validates it.
 * Everything wrong is an `InvalidBackupError` (bad UTF-8, bad JSON with its
 * line:column, duplicate keys, text over `maxTextLength`, nesting deeper than
 * 64) or an `UnsupportedVersionError`. A leading byte-order mark is skipped.
 */
export function parseBackup(input: string | Uint8Array, options?: ReadBackupOptions): ValidatedBackup {
  const maxTextLength = options?.maxTextLength ?? DEFAULT_MAX_BACKUP_TEXT_LENGTH;
  let text: string;
  if (typeof input === 'string') text = input;
  else if (input instanceof Uint8Array) {
    // A UTF-8 character is at most 4 bytes: refuse clearly oversized input before decoding it.
    if (input.byteLength > maxTextLength * 4) throw new InvalidBackupError('$', `backup of ${input.byteLength} bytes is larger than the limit of ${maxTextLength} characters`);
    try {
      text = decoder.decode(input);
    } catch (e) {
      throw new InvalidBackupError('$', 'backup bytes are not valid UTF-8', { cause: e });
    }
  } else throw new InvalidBackupError('$', `expected backup text or bytes, got ${describe(input)}`);
  if (text.length > maxTextLength) throw new InvalidBackupError('$', `backup text of ${text.length} characters is longer than the limit of ${maxTextLength} (raise maxTextLength to accept it)`);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = parseJson(text, { maxDepth: MAX_BACKUP_DEPTH });
  } catch (e) {
    if (!(e instanceof InvalidJsonError)) throw e;
    throw new InvalidBackupError(e.path, `not valid backup JSON: ${e.reason}`, { cause: e });
  }
  return validateBackupData(value, options);
}

/**
 * Serialises a backup as pretty-printed JSON (2-space indent, serde field
 * order, intents sorted by id): the layout the CCOS producer writes, readable
 * and diffable, and parsed by any JSON reader. Not canonical JSON on purpose:
 * a backup is a document for people and tools, while hashing (where wanted)
 * is `canonicalize(data)`. The document is validated first, so what this
 * writes always restores.
 */
export function serializeBackup(data: StorageBackupData): string {
  return stringifyBackup(validateBackupData(data, { checkRtfs: false }).data);
}

/** {@link serializeBackup} as UTF-8 bytes. */
export function backupToBytes(data: StorageBackupData): Uint8Array {
  return new TextEncoder().encode(serializeBackup(data));
}

/**
 * Builds a StorageBackupData v1.1 of `store`: a consistent snapshot of the
 * graph, the manifest, the time in unix seconds, and (by default) the RTFS
 * snapshot.
 */
export async function createBackup(store: Pick<IntentStore, 'snapshot'>, options?: CreateBackupOptions): Promise<StorageBackupData> {
  const graph = await store.snapshot({ signal: options?.signal });
  let manifest: BackupManifest | null = { created_by: BACKUP_CREATED_BY, source: null, note: null };
  if (options?.manifest !== undefined) manifest = checkManifest(options.manifest, [], undefined);
  const now = options?.now ?? Date.now;
  return {
    intents: graph.intents,
    edges: graph.edges,
    version: BACKUP_FORMAT_VERSION,
    timestamp: Math.floor(now() / 1000),
    manifest,
    rtfs: options?.rtfs === false ? null : printRtfsSnapshot(graph),
  };
}

/**
 * Replaces the contents of `store` with a backup, all or nothing. `input` is
 * a parsed document, JSON text or UTF-8 bytes. Everything is validated before
 * the store is touched; a refused backup leaves the store unchanged.
 */
export async function restoreBackup(store: Pick<IntentStore, 'replaceAll'>, input: BackupInput, options?: RestoreOptions): Promise<RestoreReport> {
  const { data, graph, warnings } =
    typeof input === 'string' || input instanceof Uint8Array ? parseBackup(input, options) : validateBackupData(input, options);
  await store.replaceAll(graph, { signal: options?.signal });
  return {
    version: data.version,
    timestamp: data.timestamp,
    manifest: data.manifest ?? null,
    intents: Object.keys(graph.intents).length,
    edges: graph.edges.length,
    warnings,
  };
}
