/**
 * `syncArchive`: copy what one archive has and another lacks, between any two
 * backends (IndexedDB → S3, node-fs → S3 → node-fs, SQLite → memory, ...).
 *
 * Only the {@link ContentArchive} interface is used, so it is platform-neutral.
 * The source's index says what exists; for each hash the target's `has` (which
 * asks the target's storage, not its index) decides whether to copy. Each copied
 * object is re-hashed on the way (a corrupt or missing source object is refused
 * and reported, never copied) and stored with `putManyBytes`, which hashes the
 * bytes again at the target and records them in the target's index in the same
 * commit. So the target's index is brought up to date batch by batch, objects
 * and index together.
 *
 * Idempotent and resumable: a second run copies nothing; a run after an abort
 * or a crash copies only what the first did not commit. Memory is bounded: one
 * batch of hashes and at most `maxBatchBytes` of object bytes at a time.
 *
 * Sync only adds: objects the target has and the source does not are left alone.
 *
 * References follow the objects, one name at a time, fast-forward only
 * (`src/refs/transfer.ts`; docs/format.md, "Bundle v2", the rule per name):
 * a name the target lacks is created, one the target holds at an earlier
 * version of the same history is advanced, one on another history is a
 * conflict, reported and not moved. Each write is the target's
 * compare-and-swap, so a concurrent writer there is never overwritten. A
 * name whose objects the target still lacks (the source's reference is
 * dangling) is reported as missing and not written.
 *
 * @module
 */
import { compareAndSwapOf, type CompareAndSwap } from '../adapter/cas.js';
import { CorruptObjectError, InvalidArgumentError, NotFoundError, throwIfAborted } from '../errors.js';
import { hashesOf } from '../refs/document.js';
import { referenceDocuments } from '../refs/scan.js';
import { adoptReference, countOutcome, emptyTransferReport, type ReferenceTransferReport } from '../refs/transfer.js';
import { sha256Hex } from '../hash.js';
import { mapLimit } from '../internal/pool.js';
import type { ContentArchive, Progress } from './types.js';

/** Progress of a sync: `done` hashes examined of `total`, `bytes` copied. */
export interface SyncProgress extends Progress {
  copied: number;
  skipped: number;
}

/** Options of {@link syncArchive}. */
export interface SyncOptions {
  /** Stops the sync with `AbortError`; what was committed stays, and a later run resumes from there. */
  signal?: AbortSignal;
  /** Called after each batch. */
  onProgress?: (progress: SyncProgress) => void;
  /** Backend calls in flight at once on each side (default 8). */
  concurrency?: number;
  /** Hashes examined per batch (default 256). */
  batchSize?: number;
  /** Object bytes held before they are committed to the target (default 8 MiB; one larger object still goes alone). */
  maxBatchBytes?: number;
  /** Read every copied object back from the target and re-hash it (default false: the target hashes what it receives). */
  readBack?: boolean;
  /** Bring the source's references along, fast-forward only (default true). */
  references?: boolean;
  /** How long a reference write waits for the target adapter's lock (lock-based adapters), ms. */
  lockTimeoutMs?: number;
}

/** What a sync did to references: the rule's counts, conflicts with both states, and names left out. */
export interface SyncReferencesReport extends ReferenceTransferReport {
  /** Names not written because the target lacks an object their document names (the source's reference is dangling). */
  missing: string[];
}

/** What a sync did. */
export interface SyncReport {
  /** Objects copied to the target. */
  copied: number;
  /** Objects the target already had. */
  skipped: number;
  /** Bytes copied. */
  bytes: number;
  /** Source objects refused because their bytes do not hash to their name. */
  corrupt: string[];
  /** Hashes in the source's index whose object is gone from the source's storage. */
  missing: string[];
  /** References: created, advanced, unchanged, behind, conflicts (not moved), missing (not written). */
  references: SyncReferencesReport;
  /** True when nothing was refused: no corrupt or missing object, no reference conflict or missing reference. */
  ok: boolean;
}

const DEFAULTS = { concurrency: 8, batchSize: 256, maxBatchBytes: 8 * 1024 * 1024 };

/**
 * Copies into `to` every object of `from` that `to` lacks, verifying each, and
 * updates `to`'s index with them. Resolves a {@link SyncReport}; rejects with
 * `AbortError` on abort (run it again to resume) and with the backend's typed
 * error when a side fails.
 *
 * @example
 * ```ts
 * const report = await syncArchive(local, remote, { onProgress: (p) => console.log(p.done, '/', p.total) });
 * ```
 */
export async function syncArchive(from: ContentArchive, to: ContentArchive, options: SyncOptions = {}): Promise<SyncReport> {
  if (!from || !to || typeof from.list !== 'function' || typeof to.putManyBytes !== 'function') {
    throw new InvalidArgumentError('syncArchive(from, to) needs two open archives (from openArchive)');
  }
  if (from === to) throw new InvalidArgumentError('syncArchive: source and target are the same archive');
  const concurrency = positive('concurrency', options.concurrency, DEFAULTS.concurrency);
  const batchSize = positive('batchSize', options.batchSize, DEFAULTS.batchSize);
  const maxBatchBytes = positive('maxBatchBytes', options.maxBatchBytes, DEFAULTS.maxBatchBytes);
  const { signal, onProgress } = options;
  const call = { signal };
  throwIfAborted(signal);

  const report: SyncReport = { copied: 0, skipped: 0, bytes: 0, corrupt: [], missing: [], references: { ...emptyTransferReport(), missing: [] }, ok: true };
  const total = (await from.stats(call)).count;
  let done = 0;

  /** Stores fetched objects at the target, which hashes them again; the hashes must agree. */
  const commit = async (items: { hash: string; bytes: Uint8Array }[]) => {
    if (items.length === 0) return;
    check(items, await to.putManyBytes(items.map((it) => it.bytes), call));
    if (options.readBack) await mapLimit(items, concurrency, (it) => to.getBytes(it.hash, call), signal);
    for (const it of items) {
      report.copied++;
      report.bytes += it.bytes.byteLength;
    }
  };

  const syncBatch = async (hashes: string[]) => {
    const present = await mapLimit(hashes, concurrency, (h) => to.has(h, call), signal);
    const wanted = hashes.filter((_, i) => !present[i]);
    report.skipped += hashes.length - wanted.length;
    // Fetch in groups of `concurrency`, committing whenever the held bytes reach the cap.
    let held: { hash: string; bytes: Uint8Array }[] = [];
    let heldBytes = 0;
    for (let i = 0; i < wanted.length; i += concurrency) {
      const group = wanted.slice(i, i + concurrency);
      const fetched = await mapLimit(group, concurrency, (h) => fetchVerified(from, h, report, signal), signal);
      for (const item of fetched) {
        if (!item) continue;
        held.push(item);
        heldBytes += item.bytes.byteLength;
      }
      if (heldBytes >= maxBatchBytes) {
        await commit(held);
        held = [];
        heldBytes = 0;
      }
    }
    await commit(held);
    done += hashes.length;
    onProgress?.({ done, total, bytes: report.bytes, copied: report.copied, skipped: report.skipped });
  };

  let batch: string[] = [];
  for await (const hash of from.list(call)) {
    batch.push(hash);
    if (batch.length >= batchSize) {
      await syncBatch(batch);
      batch = [];
      throwIfAborted(signal);
    }
  }
  if (batch.length > 0) await syncBatch(batch);
  if (options.references ?? true) await syncReferences(from, to, report.references, { signal, concurrency, lockTimeoutMs: options.lockTimeoutMs });
  const refs = report.references;
  report.ok = report.corrupt.length === 0 && report.missing.length === 0 && refs.conflicts.length === 0 && refs.missing.length === 0;
  return report;
}

/**
 * The references of `from` into `to`, after the objects: each name by the
 * rule, written by the target's compare-and-swap (derived on the first
 * write, so a target without one fails only when there is something to write).
 */
async function syncReferences(
  from: ContentArchive,
  to: ContentArchive,
  report: SyncReferencesReport,
  options: { signal: AbortSignal | undefined; concurrency: number; lockTimeoutMs: number | undefined },
): Promise<void> {
  const { signal, concurrency } = options;
  let cas: CompareAndSwap | undefined;
  for await (const doc of referenceDocuments(from.adapter, { signal })) {
    throwIfAborted(signal);
    const hashes = [...new Set(hashesOf(doc))];
    const held = await mapLimit(hashes, concurrency, (h) => to.has(h, { signal }), signal);
    if (held.includes(false)) {
      report.missing.push(doc.name);
      continue;
    }
    cas ??= compareAndSwapOf(to.adapter, { lockTimeoutMs: options.lockTimeoutMs });
    countOutcome(report, await adoptReference(cas, doc, { signal }));
  }
}

/** The source object's bytes, re-hashed here; undefined (and reported) when corrupt or missing. */
async function fetchVerified(
  from: ContentArchive,
  hash: string,
  report: SyncReport,
  signal: AbortSignal | undefined,
): Promise<{ hash: string; bytes: Uint8Array } | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await from.getBytes(hash, { signal });
  } catch (e) {
    if (e instanceof CorruptObjectError) report.corrupt.push(hash);
    else if (e instanceof NotFoundError) report.missing.push(hash);
    else throw e;
    return undefined;
  }
  // getBytes verifies already; hashing again here keeps the promise whatever archive sits underneath.
  if (sha256Hex(bytes) !== hash) {
    report.corrupt.push(hash);
    return undefined;
  }
  return { hash, bytes };
}

/** The target must have computed the same hash for every item it stored. */
function check(items: readonly { hash: string }[], stored: readonly string[]): void {
  items.forEach((it, i) => {
    if (stored[i] !== it.hash) {
      throw new CorruptObjectError(it.hash, stored[i], `sync: the target stored ${it.hash} under ${stored[i] ?? 'nothing'}; the bytes changed in transit`);
    }
  });
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`syncArchive: ${name} must be a positive integer, not ${String(value)}`);
  return value;
}
