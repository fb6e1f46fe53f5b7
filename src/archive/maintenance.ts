/**
 * The archive's upkeep: `verify` (read every object back, report what is
 * corrupt, missing or orphaned, and optionally repair) and `gc` (remove what
 * nothing keeps). Both stream: memory holds hashes and sizes, never bytes.
 *
 * @module
 */
import { hasEach } from '../adapter/batch.js';
import { CorruptIndexError, InvalidArgumentError, throwIfAborted } from '../errors.js';
import { mapLimit } from '../internal/pool.js';
import { MAX_BATCH, type CommitQueue } from './commit-queue.js';
import { assertHash } from './hash-args.js';
import type { IndexState } from './index-state.js';
import { objectKey, OBJECTS_PREFIX, hashOfObjectKey, QUARANTINE_PREFIX } from './layout.js';
import { objectShards, scanObjects, type ScanObserver } from './scan.js';
import type { ArchiveSettings } from './settings.js';
import type { GcOptions, GcReport, VerifyOptions, VerifyReport } from './types.js';

/** The parts of an archive handle that maintenance works on. */
export interface ArchiveParts {
  readonly settings: ArchiveSettings;
  readonly state: IndexState;
  readonly commits: CommitQueue;
}

/**
 * `ContentArchive.verify`: see its documentation. Walks the archive slice by
 * slice (see `objectShards`): the objects under one prefix, read and hashed,
 * against the index's entries of the same hash range, so memory holds one
 * slice's hashes, never the archive's.
 */
export async function verifyArchive({ settings, state }: ArchiveParts, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { adapter, concurrency } = settings;
  const { signal, onProgress, repair } = options;
  throwIfAborted(signal);
  const total = (await state.guard(() => state.view.stats(signal), signal)).count;
  let done = 0;
  let bytes = 0;
  const observe: ScanObserver = (n) => {
    done++;
    bytes += n;
    if (onProgress && (done % 64 === 0 || done === total)) onProgress({ done, total: Math.max(total, done), bytes });
  };
  const run = async (): Promise<VerifyReport> => {
    const corrupt: string[] = [];
    const corruptKeys: string[] = [];
    const missing: string[] = [];
    const orphaned: string[] = [];
    for (const shard of objectShards(total)) {
      const indexed = new Set<string>();
      for await (const { hash } of state.view.entries(shard.from, shard.to, signal)) indexed.add(hash);
      const scan = await scanObjects(adapter, concurrency, signal, observe, shard.prefix);
      for (const h of scan.good.keys()) if (!indexed.has(h)) orphaned.push(h);
      corrupt.push(...scan.corrupt);
      corruptKeys.push(...scan.corruptKeys);
      const corruptSet = new Set(scan.corrupt);
      const unseen = [...indexed].filter((h) => !scan.good.has(h) && !corruptSet.has(h));
      // Confirm before reporting: an object put after the listing passed its shard is not missing.
      const stillThere = await hasEach(adapter, unseen.map(objectKey), concurrency, { signal });
      missing.push(...unseen.filter((_, i) => !stillThere[i]));
    }
    onProgress?.({ done, total: Math.max(total, done), bytes });
    orphaned.sort();
    missing.sort();
    corrupt.sort();
    const ok = corrupt.length === 0 && missing.length === 0 && orphaned.length === 0;
    let repaired = false;
    if (repair && !ok) {
      throwIfAborted(signal);
      for (const key of corruptKeys) await quarantine(settings, key, signal);
      await state.rebuildLocked(signal);
      repaired = true;
    }
    return { checked: done, corrupt, missing, orphaned, ok, repaired };
  };
  // A damaged index piece is not the objects' fault: rebuild the index (when allowed) and check again.
  const checked = async (): Promise<VerifyReport> => {
    try {
      return await run();
    } catch (e) {
      if (!(e instanceof CorruptIndexError) || !(repair || settings.autoRepair)) throw e;
      await (repair ? state.rebuildLocked(signal) : state.serialised(() => state.rebuild(signal)));
      done = 0;
      bytes = 0;
      return run();
    }
  };
  // A repairing verify holds the index lock throughout, so no compaction can slip between its scan and its rebuild.
  return repair ? state.serialised(() => state.withIndexLock(checked, signal)) : checked();
}

/** Moves a corrupt object under quarantine/ (copy, then delete the original). */
async function quarantine({ adapter }: ArchiveSettings, key: string, signal?: AbortSignal): Promise<void> {
  const bytes = await adapter.read(key, { signal });
  if (!bytes) return;
  await adapter.write(QUARANTINE_PREFIX + key.slice(OBJECTS_PREFIX.length), bytes);
  await adapter.delete(key);
}

/** `ContentArchive.gc`: see its documentation. */
export async function collectGarbage({ settings, state, commits }: ArchiveParts, options: GcOptions = {}): Promise<GcReport> {
  const { adapter, concurrency } = settings;
  const { signal, keep } = options;
  throwIfAborted(signal);
  let keepSet: Set<string> | undefined;
  if (keep !== undefined) {
    if (keep === null || (typeof (keep as Iterable<string>)[Symbol.iterator] !== 'function' && typeof (keep as AsyncIterable<string>)[Symbol.asyncIterator] !== 'function')) {
      throw new InvalidArgumentError('gc({ keep }) expects an iterable of hashes');
    }
    keepSet = new Set();
    // Validate every hash before deleting anything: a typo must not cost data.
    for await (const h of keep as AsyncIterable<string>) {
      assertHash(h, 'gc keep entry');
      keepSet.add(h);
    }
  }
  let deleted = 0;
  let bytesFreed = 0;
  // Leftovers: quarantined objects.
  const leftovers: string[] = [];
  for await (const key of adapter.list(QUARANTINE_PREFIX, { signal })) leftovers.push(key);
  await mapLimit(
    leftovers,
    concurrency,
    async (key) => {
      const bytes = await adapter.read(key, { signal });
      await adapter.delete(key);
      deleted++;
      bytesFreed += bytes?.byteLength ?? 0;
    },
    signal,
  );
  if (keepSet) {
    const doomed: string[] = [];
    for await (const key of adapter.list(OBJECTS_PREFIX, { signal })) {
      const hash = hashOfObjectKey(key);
      if (hash && !keepSet.has(hash)) doomed.push(hash);
    }
    const sizes = await mapLimit(
      doomed,
      concurrency,
      async (h) => (await state.view.getMany([h], signal))[0]?.size ?? (await adapter.read(objectKey(h), { signal }))?.byteLength ?? 0,
      signal,
    );
    for (let i = 0; i < doomed.length; i += MAX_BATCH) {
      throwIfAborted(signal);
      await commits.submitDeletes(doomed.slice(i, i + MAX_BATCH), undefined);
    }
    deleted += doomed.length;
    bytesFreed += sizes.reduce((a, b) => a + b, 0);
  }
  if (state.hasJournalRecords()) await state.serialised(() => state.compactQuietly(signal));
  return { deleted, bytesFreed };
}
