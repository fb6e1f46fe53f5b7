/**
 * Bundles as files, in Node: export written atomically, import and verify
 * streamed from disk. Import from `archive-storage/node/bundle-file`.
 *
 * The export streams into a temp file next to the target with node-fs's
 * `writeFileAtomic` (same directory, fsync, rename, directory fsync). A failed
 * or aborted export removes the temp file: the target name never holds a
 * partial bundle, and a file that was there before is left untouched.
 *
 * @module
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../adapters/node-fs/index.js';
import type { ContentArchive } from '../src/archive/types.js';
import { exportBundle, type ExportBundleOptions } from '../src/bundle/export.js';
import { importBundle, verifyBundle, type BundleImportReport, type BundleVerifyReport, type ImportBundleOptions, type VerifyBundleOptions } from '../src/bundle/import.js';
import { ArchiveStorageError, BackendError, InvalidArgumentError } from '../src/errors.js';

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
 * Exports `archive` as a bundle into the file at `path`, atomically (through
 * node-fs's `writeFileAtomic`, streaming). Resolves the number of bytes
 * written. The file's directory must exist.
 */
export async function exportBundleToFile(archive: ContentArchive, path: string, options: ExportBundleFileOptions = {}): Promise<number> {
  const target = checkPath(path, 'exportBundleToFile');
  let bytes = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of exportBundle(archive, options)) {
      bytes += chunk.length;
      yield chunk;
    }
  }
  try {
    await writeFileAtomic(target, counted(), { durable: options.durable ?? true, createDir: false });
  } catch (e) {
    throw wrap(e, `write ${target}`);
  }
  return bytes;
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
