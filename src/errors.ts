/**
 * One error class per failure, each with a stable string `code`.
 *
 * Callers branch on `error.code` (stable across releases) or on `instanceof`;
 * messages are for people and may change. The original failure, when there is
 * one, is kept as `cause`.
 *
 * @module
 */

/** Every stable error code this package throws. */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'CORRUPT_OBJECT'
  | 'CORRUPT_INDEX'
  | 'INVALID_JSON'
  | 'INVALID_KEY'
  | 'INVALID_ARGUMENT'
  | 'INVALID_BACKUP'
  | 'UNSUPPORTED_VERSION'
  | 'FOREIGN_LAYOUT'
  | 'RTFS_SYNTAX'
  | HostileBundleCode
  | 'ZIP_FORMAT'
  | 'QUOTA_EXCEEDED'
  | 'LOCK_TIMEOUT'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'BACKEND_FAILURE'
  | 'AUTH_REFUSED'
  | 'CONFLICT'
  | 'CONDITIONAL_WRITES_UNSUPPORTED'
  | 'STORAGE_CLEARED'
  | 'DEPENDENCY_MISSING'
  | 'CLOSED'
  | 'CHANGES_TRIMMED';

/** Codes of {@link HostileBundleError}: one per way a bundle can be hostile or broken. */
export type HostileBundleCode =
  | 'BUNDLE_MALFORMED'
  | 'BUNDLE_UNSAFE_PATH'
  | 'BUNDLE_PROTOTYPE_KEY'
  | 'BUNDLE_DUPLICATE_ENTRY'
  | 'BUNDLE_SIZE_MISMATCH'
  | 'BUNDLE_CRC_MISMATCH'
  | 'BUNDLE_HASH_MISMATCH'
  | 'BUNDLE_MANIFEST_MISMATCH'
  | 'BUNDLE_TOO_MANY_ENTRIES'
  | 'BUNDLE_TOO_LARGE'
  | 'BUNDLE_COMPRESSION_RATIO'
  | 'BUNDLE_UNSUPPORTED';

/** Options accepted by every error constructor. */
export interface ErrorOptions {
  /** The underlying failure, kept for debugging. */
  cause?: unknown;
}

/** Base class of every error thrown by archive-storage. */
export class ArchiveStorageError extends Error {
  /** Stable, machine-readable identifier of the failure. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** A key, hash, id or record that was asked for does not exist. */
export class NotFoundError extends ArchiveStorageError {
  constructor(message: string, options?: ErrorOptions) {
    super('NOT_FOUND', message, options);
  }
}

/** Stored bytes no longer hash to their address: the object is damaged. */
export class CorruptObjectError extends ArchiveStorageError {
  /** The address that was asked for. */
  readonly hash: string;
  /** The hash the stored bytes actually have (when it was computed). */
  readonly actual: string | undefined;

  constructor(hash: string, actual: string | undefined, message?: string, options?: ErrorOptions) {
    super(
      'CORRUPT_OBJECT',
      message ??
        `object ${hash} is corrupt: its bytes hash to ${actual ?? 'something else'}; run verify({ repair: true }) to quarantine it`,
      options,
    );
    this.hash = hash;
    this.actual = actual;
  }
}

/** A value is not JSON data, or text is not strict JSON. `path` names the offending part. */
export class InvalidJsonError extends ArchiveStorageError {
  /** JSONPath-like location of the offending part, e.g. `$.edges[3].weight`. */
  readonly path: string;
  /** What is wrong there, without the path (the message is `${path}: ${reason}`). */
  readonly reason: string;

  constructor(path: string, reason: string, options?: ErrorOptions) {
    super('INVALID_JSON', `${path}: ${reason}`, options);
    this.path = path;
    this.reason = reason;
  }
}

/** A storage key is not of the allowed form (see `assertValidKey`). */
export class InvalidKeyError extends ArchiveStorageError {
  readonly key: string;

  constructor(key: string, message: string, options?: ErrorOptions) {
    super('INVALID_KEY', `invalid key ${JSON.stringify(key)}: ${message}`, options);
    this.key = key;
  }
}

/** An argument to an API call is out of its allowed range or shape. */
export class InvalidArgumentError extends ArchiveStorageError {
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/**
 * A piece of the archive's index (its root, a run's directory, Bloom filter or
 * page) is missing, torn, or does not hold what it claims (its bytes do not
 * hash to the digest that names them, its entries are unsorted or outside
 * their range). The index is derivable from the objects: with
 * `autoRepairIndex` the archive rebuilds it; otherwise `rebuildIndex()` does.
 * `key` names the piece.
 */
export class CorruptIndexError extends ArchiveStorageError {
  /** The adapter key of the damaged piece. */
  readonly key: string;

  constructor(key: string, message: string, options?: ErrorOptions) {
    super('CORRUPT_INDEX', message, options);
    this.key = key;
  }
}

/** A backup document is structurally invalid. `path` names the offending part. */
export class InvalidBackupError extends ArchiveStorageError {
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super('INVALID_BACKUP', `${path}: ${message}`, options);
    this.path = path;
  }
}

/** A backup or bundle declares a format version this release cannot read. */
export class UnsupportedVersionError extends ArchiveStorageError {
  readonly version: string;

  constructor(version: string, message: string, options?: ErrorOptions) {
    super('UNSUPPORTED_VERSION', message, options);
    this.version = version;
  }
}

/**
 * What {@link ForeignLayoutError} found: a CCOS FileArchive (`index.json` a
 * map hash → `<aa>/<bb>/<hash>.json`, or such files at the root), a CCOS
 * FileArchiveStorage (`intents/` and `edges/` FileArchives), or an
 * `index.json` of a format other than this SDK's.
 */
export type ForeignLayoutKind = 'ccos-file-archive' | 'ccos-file-archive-storage' | 'unknown-index';

/**
 * A store holds data this SDK did not write (e.g. a CCOS archive directory).
 * It is refused and left byte for byte as it was: nothing is rebuilt or
 * written over it. `layout` says what was found, `found` the keys that show
 * it; the message says what to do (for CCOS: import it into a store).
 */
export class ForeignLayoutError extends ArchiveStorageError {
  readonly layout: ForeignLayoutKind;
  /** Adapter keys that show the layout, e.g. `['intents/index.json', 'edges/index.json']`. */
  readonly found: readonly string[];

  constructor(layout: ForeignLayoutKind, found: readonly string[], message: string, options?: ErrorOptions) {
    super('FOREIGN_LAYOUT', message, options);
    this.layout = layout;
    this.found = Object.freeze([...found]);
  }
}

/**
 * RTFS text could not be read, or does not have the shape of an intent-graph
 * snapshot. `line` and `column` (1-based, column in characters) locate the problem.
 */
export class RtfsSyntaxError extends ArchiveStorageError {
  readonly line: number;
  readonly column: number;

  constructor(line: number, column: number, message: string, options?: ErrorOptions) {
    super('RTFS_SYNTAX', `line ${line} column ${column}: ${message}`, options);
    this.line = line;
    this.column = column;
  }
}

/** A bundle was refused as a whole; `code` says why (one code per kind of hostility). */
export class HostileBundleError extends ArchiveStorageError {
  /** The entry name concerned, when there is one. */
  readonly entry: string | undefined;

  constructor(code: HostileBundleCode, message: string, entry?: string, options?: ErrorOptions) {
    super(code, message, options);
    this.entry = entry;
  }
}

/** The backend has no room left (disk full, browser quota). Nothing half-written stays behind. */
export class QuotaExceededError extends ArchiveStorageError {
  constructor(message: string, options?: ErrorOptions) {
    super('QUOTA_EXCEEDED', message, options);
  }
}

/** A lock could not be taken in time. */
export class LockTimeoutError extends ArchiveStorageError {
  constructor(message: string, options?: ErrorOptions) {
    super('LOCK_TIMEOUT', message, options);
  }
}

/** A backend call (e.g. an HTTP request to S3) did not finish in the allowed time, retries included. */
export class TimeoutError extends ArchiveStorageError {
  constructor(message: string, options?: ErrorOptions) {
    super('TIMEOUT', message, options);
  }
}

/** The operation was aborted through its `AbortSignal`. */
export class AbortError extends ArchiveStorageError {
  constructor(message = 'the operation was aborted', options?: ErrorOptions) {
    super('ABORTED', message, options);
  }
}

/** The backend (file system, IndexedDB, SQLite, HTTP) failed; the original error is `cause`. */
export class BackendError extends ArchiveStorageError {
  constructor(message: string, options?: ErrorOptions) {
    super('BACKEND_FAILURE', message, options);
  }
}

/**
 * The backend refused the credentials or the permission (S3: a bad signature,
 * an unknown access key, a policy that does not grant the call). Never
 * retried: trying again with the same credentials cannot help.
 */
export class AuthRefusedError extends ArchiveStorageError {
  constructor(message: string, options?: ErrorOptions) {
    super('AUTH_REFUSED', message, options);
  }
}

/**
 * A compare-and-swap lost: the stored value is not the one the caller based
 * its change on (another writer changed it first). `key` names what was
 * swapped; the caller re-reads and decides again.
 */
export class ConflictError extends ArchiveStorageError {
  readonly key: string;

  constructor(key: string, message: string, options?: ErrorOptions) {
    super('CONFLICT', message, options);
    this.key = key;
  }
}

/**
 * The backend does not enforce conditional writes (a PUT with
 * `If-None-Match: *` over an existing object was accepted), so several
 * writers cannot be kept from losing each other's changes. Refused rather
 * than silently unsafe; `observed` says what the server did.
 */
export class ConditionalWritesUnsupportedError extends ArchiveStorageError {
  readonly observed: string;

  constructor(observed: string, message: string, options?: ErrorOptions) {
    super('CONDITIONAL_WRITES_UNSUPPORTED', message, options);
    this.observed = observed;
  }
}

/** The storage was wiped underneath us (e.g. the browser cleared site data). */
export class StorageClearedError extends ArchiveStorageError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORAGE_CLEARED', message, options);
  }
}

/** An optional dependency needed by the selected backend is not installed. */
export class DependencyMissingError extends ArchiveStorageError {
  constructor(message: string, options?: ErrorOptions) {
    super('DEPENDENCY_MISSING', message, options);
  }
}

/** The archive, store or adapter was used after `close()`. */
export class ClosedError extends ArchiveStorageError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLOSED', message, options);
  }
}

/**
 * A change-events position (`archive.changes({ since })`) is older than the
 * change log keeps: changes after it may have been trimmed. Re-read what you
 * need (`list`, `refs.list`) and resume from `'now'`. `position` is the one
 * refused; `retainedMs` the retention it was judged by.
 */
export class ChangesTrimmedError extends ArchiveStorageError {
  readonly position: string;
  readonly retainedMs: number;

  constructor(position: string, retainedMs: number, message: string, options?: ErrorOptions) {
    super('CHANGES_TRIMMED', message, options);
    this.position = position;
    this.retainedMs = retainedMs;
  }
}

/** True when `error` is an archive-storage error, optionally of the given code. */
export function isArchiveStorageError(error: unknown, code?: ErrorCode): error is ArchiveStorageError {
  return error instanceof ArchiveStorageError && (code === undefined || error.code === code);
}

/** Throws {@link AbortError} when `signal` is aborted (keeping the abort reason as cause). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}
