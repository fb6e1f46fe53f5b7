/**
 * Options and reports of the CCOS import and export.
 *
 * @module
 */
import type { CallOptions } from '../adapter/contract.js';
import type { GraphWarning, GraphWarningCode, ValidationLimits } from '../intent-graph/validate.js';

/** The two CCOS directory formats: one content-addressed archive, or the intent graph's pair of them. */
export type CcosLayout = 'FileArchive' | 'FileArchiveStorage';

/** What a CCOS object holds: an intent, an edge, or (in a plain FileArchive) any other entity, e.g. a plan. */
export type CcosObjectKind = 'intent' | 'edge' | 'object';

/** Why a file of a CCOS directory is refused. */
export type CcosProblemCode =
  /** An index path that could leave the directory: `..`, absolute, backslash, control character. */
  | 'UNSAFE_PATH'
  /** A file or index entry that is not `<aa>/<bb>/<hash>.json` (shards matching the hash), or a file CCOS does not write. */
  | 'OUTSIDE_LAYOUT'
  /** An index entry whose file is not a regular file inside the directory (a symbolic link, a device), or a file that vanished. */
  | 'NOT_A_FILE'
  /** An object larger (declared or read) than `limits.maxObjectBytes`. */
  | 'TOO_LARGE'
  /** Not UTF-8 JSON (strict: no duplicate keys, no lone surrogates, numbers a double holds). */
  | 'NOT_JSON'
  /** The file without its whitespace does not hash to its name. */
  | 'HASH_MISMATCH'
  /** JSON, but not a valid `StorableIntent` / `Edge`. */
  | 'INVALID_ENTITY'
  /** Two different objects for one intent id with the same `updated_at`: which is current cannot be known. */
  | 'DUPLICATE_INTENT';

/** One refused file. */
export interface CcosProblem {
  code: CcosProblemCode;
  /** Path inside the CCOS directory, e.g. `intents/ab/cd/<hash>.json` or `edges/index.json`. */
  path: string;
  /** For people: the path, what is wrong, what was done. */
  message: string;
  /** The CCOS hash concerned, when known. */
  hash?: string;
  /** For `HASH_MISMATCH`: what the bytes hash to. */
  actual?: string;
}

/** Something CCOS itself leaves behind, imported as CCOS reads it, and reported. */
export type CcosWarningCode =
  /** An index entry whose file is absent (CCOS's delete leaves the entry); skipped, as CCOS skips it. */
  | 'MISSING_OBJECT'
  /** An object file the index does not name (a crash between the two writes); imported. */
  | 'UNINDEXED_OBJECT'
  /** A FileArchive without `index.json`; its objects were taken from the listing. */
  | 'NO_INDEX'
  /** CCOS's lock, temp or sidecar files; ignored. */
  | 'IGNORED_FILE'
  /** An older version of an intent (same id, smaller `updated_at`): kept in the archive, not in the graph. */
  | 'SUPERSEDED_VERSION'
  /** A refused file left out because `skipInvalid` was set. */
  | 'SKIPPED_INVALID'
  | GraphWarningCode;

/** A non-fatal finding. */
export interface CcosWarning extends Omit<GraphWarning, 'code'> {
  code: CcosWarningCode;
}

/** Limits of one import; beyond them it is refused, never truncated. */
export interface CcosLimits {
  /** Largest object file (default 16 MiB). */
  maxObjectBytes?: number;
  /** Largest `index.json` (default 64 MiB). */
  maxIndexBytes?: number;
  /** All object files together (default 512 MiB): everything is verified in memory before anything is committed. */
  maxTotalBytes?: number;
  /** Files in the directory (default 1 000 000). */
  maxFiles?: number;
}

/** Progress of an import or export. */
export interface CcosProgress {
  phase: 'list' | 'verify' | 'commit' | 'write';
  done: number;
  total?: number;
}

/** Options of `importCcosArchive`. */
export interface CcosImportOptions extends ValidationLimits, CallOptions {
  /** Where the CCOS directory is on the source adapter: `''` (default) for its root, else a prefix ending in `/`. */
  prefix?: string;
  /** The format to expect; default: detected (`intents/` and `edges/` → FileArchiveStorage, else FileArchive). */
  layout?: CcosLayout;
  /**
   * Leave out refused files instead of refusing the whole import; each is
   * then listed in the report's `skipped`. Unreadable indices and the limits
   * still refuse the whole import. Default false: all or nothing.
   */
  skipInvalid?: boolean;
  /**
   * `merge` (default): the graph gets the imported intents (replacing those
   * with the same id) and the imported edges it does not already hold.
   * `replace`: the graph becomes the imported one.
   */
  mode?: 'merge' | 'replace';
  limits?: CcosLimits;
  /**
   * The size of a file before it is read, when the caller can tell (e.g.
   * `fs.stat` in Node); a file declared larger than the limit is refused
   * without reading it. Without it, sizes are checked on the bytes read.
   */
  sizeOf?: (key: string, options: CallOptions) => Promise<number | undefined>;
  /** Files read in parallel (default 8). */
  concurrency?: number;
  onProgress?: (progress: CcosProgress) => void;
}

/** How one CCOS object was imported. */
export interface CcosImportedObject {
  /** Path inside the CCOS directory. */
  path: string;
  kind: CcosObjectKind;
  /** CCOS's name: SHA-256 of the compact serde JSON. */
  ccosHash: string;
  /** The SDK's address: SHA-256 of the RFC 8785 canonical JSON of the same value. */
  canonicalHash: string;
  /** The intent id, for intents. */
  intentId?: string;
}

/** What `importCcosArchive` did. */
export interface CcosImportReport {
  layout: CcosLayout;
  /** Every imported object, in path order. */
  objects: CcosImportedObject[];
  /** CCOS hash → canonical hash, for every imported object. */
  hashes: Record<string, string>;
  /** Intents and edges put into the graph by this import. */
  intents: number;
  edges: number;
  /** Objects newly stored in the archive / already there. */
  added: number;
  present: number;
  /** Files refused and left out (only with `skipInvalid`). */
  skipped: CcosProblem[];
  warnings: CcosWarning[];
}

/** Options of `exportCcosArchive`. */
export interface CcosExportOptions extends ValidationLimits, CallOptions {
  /** Where to write on the target adapter: `''` (default) for its root, else a prefix ending in `/`. */
  prefix?: string;
  /**
   * Replace a FileArchiveStorage already there (default false: the target
   * must hold nothing under the prefix). Objects the new indices do not name
   * are deleted after the indices are written.
   */
  overwrite?: boolean;
  onProgress?: (progress: CcosProgress) => void;
}

/** What `exportCcosArchive` wrote. */
export interface CcosExportReport {
  /** Intent id → CCOS hash. */
  intents: Record<string, string>;
  /** CCOS hash of every edge, in graph order (equal edges share one file, as in CCOS). */
  edges: string[];
  /** Files written, the two indices included. */
  files: number;
  /** Bytes written. */
  bytes: number;
  /** Edges equal to an earlier one, stored once (CCOS's archive names an edge by its content). */
  duplicateEdges: number;
  /** Old object files deleted (with `overwrite`). */
  removed: number;
}
