/**
 * Bundles as files, in Node: export written atomically, import and verify
 * streamed from disk. Import from `archive-storage/node/bundle-file`.
 *
 * The export streams into a temp file next to the target (same directory, so
 * the rename stays on one file system), fsyncs it, renames it over the
 * target and fsyncs the directory. A failed or aborted export removes the
 * temp file: the target name never holds a partial bundle, and a file that
 * was there before is left untouched.
 *
 * @module
 */
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { ContentArchive } from '../src/archive/types.js';
import { exportBundle, type ExportBundleOptions } from '../src/bundle/export.js';
import { importBundle, verifyBundle, type BundleImportReport, type BundleVerifyReport, type ImportBundleOptions, type VerifyBundleOptions } from '../src/bundle/import.js';
import { ArchiveStorageError, BackendError, InvalidArgumentError } from '../src/errors.js';
import { randomHex } from '../src/internal/random-id.js';

/** Options of {@link exportBundleToFile}. */
export interface ExportBundleFileOptions extends ExportBundleOptions {
  /** fsync the file and its directory before resolving (default true). */
  durable?: boolean;
}

/** Bytes read from disk at a time when importing. */
const READ_CHUNK = 1024 * 1024;

function checkPath(path: unknown, fn: string): string {
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError(`${fn} needs a file path`);
  return resolve(path);
}

function wrap(e: unknown, what: string): unknown {
  if (e instanceof ArchiveStorageError) return e;
  return new BackendError(`bundle file: ${what} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/**
 * Exports `archive` as a bundle into the file at `path`, atomically. Resolves
 * the number of bytes written.
 */
export async function exportBundleToFile(archive: ContentArchive, path: string, options: ExportBundleFileOptions = {}): Promise<number> {
  const target = checkPath(path, 'exportBundleToFile');
  const durable = options.durable ?? true;
  const temp = join(dirname(target), `.${basename(target)}.${randomHex(6)}.partial`);
  let bytes = 0;
  let handle;
  try {
    handle = await open(temp, 'wx', 0o644);
  } catch (e) {
    throw wrap(e, `create ${temp}`);
  }
  try {
    for await (const chunk of exportBundle(archive, options)) {
      await handle.write(chunk);
      bytes += chunk.length;
    }
    if (durable) await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, target);
  } catch (e) {
    await handle?.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw wrap(e, `write ${target}`);
  }
  if (durable) await syncDirectory(dirname(target));
  return bytes;
}

/** fsync of a directory, so a rename in it is on disk (not possible on Windows, where it is skipped). */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Imports the bundle file at `path` into `archive` (streamed from disk; see `importBundle`). */
export async function importBundleFromFile(archive: ContentArchive, path: string, options: ImportBundleOptions = {}): Promise<BundleImportReport> {
  const file = checkPath(path, 'importBundleFromFile');
  return importBundle(archive, await openChunks(file), options);
}

/** Verifies the bundle file at `path` without importing it (see `verifyBundle`). */
export async function verifyBundleFile(path: string, options: VerifyBundleOptions = {}): Promise<BundleVerifyReport> {
  const file = checkPath(path, 'verifyBundleFile');
  return verifyBundle(await openChunks(file), options);
}

/** A read stream that has opened the file (so a missing file is a clear error, not a hostile bundle). */
async function openChunks(file: string): Promise<AsyncIterable<Uint8Array>> {
  const handle = await open(file, 'r').catch((e: unknown) => {
    throw wrap(e, `open ${file}`);
  });
  return handle.createReadStream({ highWaterMark: READ_CHUNK });
}
