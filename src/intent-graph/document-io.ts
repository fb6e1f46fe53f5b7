/**
 * Moving StorageBackupData documents in and out: to an adapter key (atomic),
 * from an adapter key, and in the browser as a downloadable `Blob` or an
 * uploaded `File`.
 *
 * In Node, to write a backup to a file path, use the node-fs adapter
 * (`writeBackup(nodeFsAdapter({ dir }), 'backup.json', data)`) or its
 * `writeFileAtomic(path, backupToBytes(data))`: both write a temporary file,
 * fsync it and rename it over the final name.
 *
 * @module
 */
import type { CallOptions, StorageAdapter } from '../adapter/contract.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { downloadBlob } from '../internal/download.js';
import { blobConstructor } from '../platform.js';
import type { ReadBackupOptions, StorageBackupData, ValidatedBackup } from './backup-types.js';
import { backupToBytes, parseBackup } from './document.js';

/** MIME type of a backup document. */
export const BACKUP_MIME_TYPE = 'application/json';

/**
 * Writes `data` under `key` with the adapter's atomic `write`: a reader (or a
 * crash) sees the previous bytes or the whole new backup, never half of it.
 * The document is validated first (`INVALID_BACKUP` if it would not restore).
 */
export async function writeBackup(adapter: StorageAdapter, key: string, data: StorageBackupData, options?: CallOptions): Promise<void> {
  await adapter.write(key, backupToBytes(data), options);
}

/** Reads and validates the backup under `key`; `NotFoundError` when absent. */
export async function readBackup(adapter: StorageAdapter, key: string, options?: CallOptions & ReadBackupOptions): Promise<ValidatedBackup> {
  const bytes = await adapter.read(key, options);
  if (bytes === undefined) throw new NotFoundError(`no backup under ${JSON.stringify(key)} on ${adapter.name}`);
  return parseBackup(bytes, options);
}

/** The backup as a JSON `Blob` (validated first). */
export function backupToBlob(data: StorageBackupData): Blob {
  const BlobCtor = blobConstructor();
  if (!BlobCtor) throw new InvalidArgumentError('backupToBlob needs Blob, which this runtime lacks: use backupToBytes instead');
  return new BlobCtor([backupToBytes(data) as Uint8Array<ArrayBuffer>], { type: BACKUP_MIME_TYPE });
}

/** A file name for a backup: `intent-graph-<ISO time of its timestamp>.json`, safe on every platform. */
export function backupFileName(data: Pick<StorageBackupData, 'timestamp'>): string {
  const iso = new Date(data.timestamp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
  return `intent-graph-${iso}.json`;
}

/**
 * Offers the backup to the user as a file download (browser only; throws
 * `INVALID_ARGUMENT` without a DOM). The download is one Blob handed over
 * whole, so the user never gets half a backup.
 */
export function downloadBackup(data: StorageBackupData, filename = backupFileName(data)): void {
  downloadBlob(backupToBlob(data), filename);
}

/**
 * Reads a backup from a `Blob` or `File` (an upload). The bytes are decoded
 * strictly as UTF-8 (`Blob.text()` would silently replace bad bytes).
 */
export async function readBackupBlob(blob: Blob, options?: ReadBackupOptions): Promise<ValidatedBackup> {
  return parseBackup(new Uint8Array(await blob.arrayBuffer()), options);
}
