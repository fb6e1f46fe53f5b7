/**
 * Bundle import: a bundle streamed in, every byte checked (`verify.ts`), and
 * its objects committed all or nothing.
 *
 * Staging: verified objects the archive lacks are held in memory up to
 * `stagingMemoryBytes`, and beyond that packed into 8 MiB segments under
 * staging keys on the archive's adapter (`staging.ts`), which the archive
 * never lists.
 *
 * Commit: only after the whole bundle has been verified, the staged objects
 * go in through `putManyBytes`, in batches of at most 8 MiB, each sized to
 * take about one time slice (from 128 to 4096 objects, by the rate of the
 * previous batch), with a turn of the event loop between them, so a page stays
 * responsive through the verify pass (see `verify.ts`) and the commit alike;
 * if a batch fails, or the signal aborts between batches,
 * every object this import added is deleted again and the staging keys are
 * removed, so the archive is left as it was.
 *
 * References (bundle version 2): decided per name before anything is stored
 * (`src/refs/transfer.ts`; a conflict refuses the whole import by default),
 * written after the objects through the target's compare-and-swap, behind a
 * record that makes a killed import's reference writes whole
 * (`reference-commit.ts`; docs/format.md, "Bundle v2").
 *
 * @module
 */
import type { ContentArchive } from '../archive/types.js';
import { compareAndSwapOf, type CompareAndSwap } from '../adapter/cas.js';
import { InvalidArgumentError, throwIfAborted } from '../errors.js';
import { encodeReferenceDocument, type ReferenceDocument } from '../refs/document.js';
import {
  adoptReference,
  countOutcome,
  decideTransfer,
  emptyTransferReport,
  readTargetDocument,
  ReferenceTransferConflictError,
  type ReferenceTransferReport,
} from '../refs/transfer.js';
import { recoverReferenceImports, type PlannedWrite } from './reference-commit.js';
import { mapLimit } from '../internal/pool.js';
import { TimeSlicer } from '../internal/yield.js';
import { monotonicNow } from '../platform.js';
import type { BundleSource } from './source.js';
import { COMMIT_FIRST_OBJECTS, DELETE_GROUP, nextCommitObjects, Staging } from './staging.js';
import { readBundle, type BundleVerifyReport, type VerifyBundleOptions } from './verify.js';

// The import's public neighbours, re-exported so that `bundle/import.js` keeps offering what it always did.
export { BUNDLE_STAGING_PREFIX } from '../archive/layout.js';
export { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from './limits.js';
export { clearBundleStaging, type ClearStagingOptions } from './staging.js';
export { verifyBundle, type BundleVerifyReport, type VerifyBundleOptions } from './verify.js';

/** Options of {@link importBundle}. */
export interface ImportBundleOptions extends VerifyBundleOptions {
  /**
   * Verified new objects kept in memory before further ones go to staging
   * keys on the adapter (default 32 MiB).
   */
  stagingMemoryBytes?: number;
  /**
   * What to do when the archive holds a reference of the bundle on another
   * history (neither state leads to the other): `'fail'` (default) refuses
   * the whole import before anything is stored
   * (`ReferenceTransferConflictError`, code `CONFLICT`, listing each name);
   * `'skip-conflicts'` keeps those names as they are, imports the rest and
   * lists them in `references.conflicts`.
   */
  references?: 'fail' | 'skip-conflicts';
  /**
   * Names of the bundle's references to leave exactly as the archive has
   * them (present or absent), whatever the bundle holds: not decided, not
   * written, counted in `references.skipped`. The CLI passes the intent
   * graph's names when the store has a graph of its own, which it keeps
   * whole rather than merging two graphs name by name.
   */
  keepReferences?: (name: string) => boolean;
  /** How long a reference write waits for the adapter's lock (lock-based adapters), ms. */
  lockTimeoutMs?: number;
}

/** What {@link importBundle} did. */
export interface BundleImportReport extends BundleVerifyReport {
  /** Objects in the bundle. */
  objects: number;
  /** Objects stored by this import. */
  added: number;
  /** Objects the archive already held (left untouched). */
  present: number;
  /** Bytes of the bundle's objects. */
  bytes: number;
  /** Bytes stored by this import. */
  addedBytes: number;
  /** What the bundle's references did here (all zero for a bundle without references). */
  references: ReferenceTransferReport;
}

/** Verified objects whose presence in the target is looked up together. */
const HAS_GROUP = 32;

/**
 * Imports a bundle into `archive`, all or nothing.
 *
 * The whole bundle is read and verified first (see the module notes); only
 * then are the objects the archive lacks stored. Objects it already holds are
 * left as they are. On any failure — a hostile bundle, a backend error, an
 * abort — the archive is left exactly as it was: nothing stored, or what was
 * stored deleted again, and no staging keys left.
 *
 * Not isolated from concurrent writers: an object another writer stores
 * while this import is committing, and that this import also added, is
 * deleted again if this import then fails.
 *
 * @returns counts of what was added and what was already there, the manifest and the extras.
 */
export async function importBundle(archive: ContentArchive, source: BundleSource, options: ImportBundleOptions = {}): Promise<BundleImportReport> {
  const { signal, onProgress } = options;
  const budget = options.stagingMemoryBytes ?? 32 * 1024 * 1024;
  if (typeof budget !== 'number' || !(budget >= 0)) throw new InvalidArgumentError(`importBundle stagingMemoryBytes must be a non-negative number, got ${String(budget)}`);
  const onConflict = options.references ?? 'fail';
  if (onConflict !== 'fail' && onConflict !== 'skip-conflicts') {
    throw new InvalidArgumentError(`importBundle references must be 'fail' or 'skip-conflicts', got ${String(options.references)}`);
  }
  // An import killed while writing its references left a record: make its writes whole before deciding anything.
  await recoverReferenceImports(archive.adapter, signal);
  const incoming: ReferenceDocument[] = [];
  let cas: CompareAndSwap | undefined;
  const staging = new Staging(archive.adapter, budget, signal);
  let present = 0;
  let addedBytes = 0;
  const added: string[] = [];
  // Verified objects wait in small groups so that the "does the archive have it?" lookups run concurrently.
  let waiting: { hash: string; bytes: Uint8Array }[] = [];
  const settle = async () => {
    const group = waiting;
    waiting = [];
    const held = await Promise.all(group.map((it) => archive.has(it.hash, { signal })));
    for (let i = 0; i < group.length; i++) {
      if (held[i]) present++;
      else {
        await staging.add(group[i]!.hash, group[i]!.bytes);
        addedBytes += group[i]!.bytes.length;
      }
    }
  };
  // Once the reference record is written, the import is committed: a failure after it must not take objects back.
  let recorded = false;
  try {
    const report = await readBundle(
      source,
      options,
      async (hash, bytes) => {
        waiting.push({ hash, bytes });
        if (waiting.length >= HAS_GROUP) await settle();
      },
      { outside: (hash) => archive.has(hash, { signal }), onReference: (doc) => incoming.push(doc) },
    );
    await settle();

    // References: decide every name before anything is stored, so a conflict refuses the import as a whole.
    const refs = emptyTransferReport();
    const planned: (PlannedWrite & { doc: ReferenceDocument })[] = [];
    if (incoming.length > 0) {
      cas = compareAndSwapOf(archive.adapter, { lockTimeoutMs: options.lockTimeoutMs });
      for (const doc of incoming) {
        throwIfAborted(signal);
        if (options.keepReferences?.(doc.name)) {
          refs.skipped = (refs.skipped ?? 0) + 1;
          continue;
        }
        const target = await readTargetDocument(cas, doc.name, signal);
        const decision = decideTransfer(target.doc, doc);
        if (decision.kind === 'created' || decision.kind === 'advanced') {
          planned.push({ name: doc.name, doc: decision.next, bytes: encodeReferenceDocument(decision.next), expected: target.version });
        } else countOutcome(refs, decision);
      }
      if (refs.conflicts.length > 0 && onConflict === 'fail') throw new ReferenceTransferConflictError(refs.conflicts);
    }

    // Commit. The signal is checked between batches, not passed down: a batch the
    // archive has begun commits whole, so rollback knows exactly what was stored.
    // Batches are sized by time (see the module notes), and the event loop gets a turn between them.
    const total = staging.count;
    const slice = new TimeSlicer(signal);
    let batchObjects = COMMIT_FIRST_OBJECTS;
    onProgress?.({ phase: 'commit', done: 0, total });
    for await (const batch of staging.batches(() => batchObjects, slice)) {
      if (added.length > 0 && slice.due()) await slice.yield();
      throwIfAborted(signal);
      added.push(...batch.map((it) => it.hash));
      const started = monotonicNow();
      await archive.putManyBytes(batch.map((it) => it.bytes));
      batchObjects = nextCommitObjects(batchObjects, batch.length, monotonicNow() - started);
      onProgress?.({ phase: 'commit', done: added.length, total });
    }
    if (planned.length > 0) {
      throwIfAborted(signal);
      // The record first (one atomic write), then each document by compare-and-swap from the token it was decided on;
      // a lost swap decides again, so a concurrent writer is never overwritten (its name may then be a conflict).
      await staging.writeReferenceRecord(planned);
      recorded = true;
      for (const w of planned) countOutcome(refs, await adoptReference(cas!, w.doc, { first: { bytes: w.bytes, expected: w.expected } }));
    }
    await staging.clear();
    return {
      ...report,
      objects: report.manifest.count,
      added: added.length,
      present,
      bytes: report.manifest.bytes,
      addedBytes,
      references: refs,
    };
  } catch (e) {
    // Committed (the record is written): leave objects and record, which the next import or clearBundleStaging rolls forward.
    if (recorded) throw e;
    // Roll back: delete what this import stored (it was absent before), then the staging keys.
    // Concurrent deletes share the archive's commits (group commit).
    await mapLimit(added, DELETE_GROUP, (hash) => archive.delete(hash).catch(() => {}));
    await staging.clear().catch(() => {});
    throw e;
  }
}
