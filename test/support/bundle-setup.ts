/**
 * Setup the bundle tests share: a temporary root for node-fs and SQLite
 * stores that goes when the test file's tests are done, and a bundle exported
 * to one byte array with a pinned creation time (so two exports compare byte
 * for byte).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { ContentArchive } from '../../src/archive/types.js';
import { exportBundle, type ExportBundleOptions } from '../../src/bundle/index.js';

/** A temporary directory and fresh paths under it. */
export interface TempRoot {
  /** The directory itself (for files such as a SQLite database or a bundle). */
  root: string;
  /** A new path under `root`, not yet created: `d0`, `d1`, … */
  freshDir(): string;
}

/**
 * A temporary root named after `label`, removed after all tests of the
 * calling file (call it at the top level of a test file: it registers an
 * `afterAll`).
 */
export function tempRootForFile(label: string): TempRoot {
  const root = mkdtempSync(join(tmpdir(), `${label}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let dirs = 0;
  return { root, freshDir: () => join(root, `d${dirs++}`) };
}

/** Every chunk of `chunks`, in one array. */
export async function concatChunks(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

/** `exportBundle` to bytes, with `createdAt` pinned unless `options` sets it. */
export function bundleExporter(createdAt: number): (archive: ContentArchive, options?: ExportBundleOptions) => Promise<Uint8Array> {
  return (archive, options = {}) => concatChunks(exportBundle(archive, { createdAt, ...options }));
}
