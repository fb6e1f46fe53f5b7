/**
 * The archive's upkeep: `verify` (read every object back, report what is
 * corrupt, missing or orphaned, and optionally repair) and `gc` (remove what
 * nothing keeps: no reference, no journal line in flight, no keep entry,
 * past a grace period). Both stream: memory holds hashes and sizes, never
 * bytes.
 *
 * @module
 */
import { deleteEach, hasEach } from '../adapter/batch.js';
import { CorruptIndexError, InvalidArgumentError, throwIfAborted } from '../errors.js';
import { isSha256Hex, sha256HexAsync } from '../hash.js';
import { parseJson, type JsonValue } from '../json/canonical.js';
import { mapLimit } from '../internal/pool.js';
import { hashesOf } from '../refs/document.js';
import { referenceDocuments } from '../refs/scan.js';
import { MAX_BATCH, type CommitQueue } from './commit-queue.js';
import { loadSegments } from './fold.js';
import { assertHash, decodeUtf8 } from './hash-args.js';
import type { IndexState } from './index-state.js';
import { DEFAULT_INTENT_INDEX_KEY, GC_TRASH_PREFIX, gcTrashKey, hashOfGcTrashKey, objectKey, OBJECTS_PREFIX, hashOfObjectKey, QUARANTINE_PREFIX } from './layout.js';
import { hashing } from './put-items.js';
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

/** Default `graceMs` of `gc({ unreferenced: true })`: one hour. */
export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;

/** Object hashes looked up in the index at once while gc looks for candidates. */
const CANDIDATE_PAGE = 512;

/** An object gc means to delete, and its size when the index knows it. */
interface Candidate {
  hash: string;
  size: number | undefined;
}

/**
 * `ContentArchive.gc`: see its documentation, and docs/format.md ("Garbage
 * collection and references") for the rules and the order of the steps.
 *
 * 1. Leftovers: quarantined objects; gc trash of a run that died (its
 *    objects' presence is read before the references, see step 3).
 * 2. When collecting (`keep` or `unreferenced`): what is live (the keep
 *    set, every hash of every reference document, every put line of a
 *    journal segment this handle has not seen settle, and with `unreferenced`
 *    the intent store's default index); candidates are the other objects,
 *    stored more than `graceMs` ago.
 * 3. Each candidate is copied to `gc-trash/`, then deleted (journal `del`,
 *    as any delete); then the references are read again and what became
 *    referenced meanwhile is put back; then the trash goes. A `set` does the
 *    mirror image (write the reference, then look for the object), so one of
 *    the two always sees the other.
 */
export async function collectGarbage({ settings, state, commits }: ArchiveParts, options: GcOptions = {}): Promise<GcReport> {
  const { adapter, concurrency, now } = settings;
  const { signal, keep, unreferenced = false, dryRun = false } = options;
  throwIfAborted(signal);
  if (typeof unreferenced !== 'boolean' || typeof dryRun !== 'boolean') throw new InvalidArgumentError('gc({ unreferenced, dryRun }) take booleans');
  const graceMs = options.graceMs ?? (unreferenced ? DEFAULT_GC_GRACE_MS : 0);
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) {
    throw new InvalidArgumentError(`gc({ graceMs }) must be a number of milliseconds >= 0, got ${String(options.graceMs)}`);
  }
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
  const collecting = keepSet !== undefined || unreferenced;

  // 1. Leftovers. Trash: whether each object is there is read BEFORE the references (step 3's order).
  const quarantined: string[] = [];
  for await (const key of adapter.list(QUARANTINE_PREFIX, { signal })) quarantined.push(key);
  const leftTrash: string[] = [];
  for await (const key of adapter.list(GC_TRASH_PREFIX, { signal })) {
    const h = hashOfGcTrashKey(key);
    if (h) leftTrash.push(h);
  }
  const leftPresent = await hasEach(adapter, leftTrash.map(objectKey), concurrency, { signal });
  // An object still there may be another gc's, between its copy and its delete: its trash is left alone.
  const orphanTrash = leftTrash.filter((_, i) => !leftPresent[i]);

  // 2. What is live, and the candidates.
  const live = collecting || orphanTrash.length ? await liveHashes(settings, state, keepSet, unreferenced, signal) : new Set<string>();
  const candidates = collecting ? await findCandidates(settings, state, live, graceMs, signal) : [];
  const trashToPurge = orphanTrash.filter((h) => !live.has(h));
  const trashToRestore = orphanTrash.filter((h) => live.has(h));

  if (dryRun) {
    const sizeOf = async (key: string) => (await adapter.read(key, { signal }))?.byteLength ?? 0;
    const leftoverBytes = await mapLimit([...quarantined, ...trashToPurge.map(gcTrashKey)], concurrency, sizeOf, signal);
    const candidateBytes = await mapLimit(candidates, concurrency, async (c) => c.size ?? (await sizeOf(objectKey(c.hash))), signal);
    return {
      deleted: 0,
      bytesFreed: 0,
      dryRun: true,
      wouldDelete: candidates.map((c) => c.hash).sort(),
      wouldFree: [...leftoverBytes, ...candidateBytes].reduce((a, b) => a + b, 0),
      leftovers: quarantined.length + trashToPurge.length,
    };
  }

  let deleted = 0;
  let bytesFreed = 0;
  const removeLeftover = async (key: string) => {
    const bytes = await adapter.read(key, { signal });
    await adapter.delete(key);
    deleted++;
    bytesFreed += bytes?.byteLength ?? 0;
  };
  await mapLimit(quarantined, concurrency, removeLeftover, signal);
  let restored = await restoreFromTrash(settings, commits, trashToRestore, signal);
  await deleteEach(adapter, trashToRestore.map(gcTrashKey), concurrency);
  await mapLimit(trashToPurge.map(gcTrashKey), concurrency, removeLeftover, signal);

  // 3. Copy to the trash, delete; read the references again; put back what became referenced; empty the trash.
  if (candidates.length) {
    const trashed: { hash: string; size: number }[] = [];
    for (let i = 0; i < candidates.length; i += MAX_BATCH) {
      throwIfAborted(signal);
      const batch = candidates.slice(i, i + MAX_BATCH);
      const sizes = await mapLimit(
        batch,
        concurrency,
        async (c) => {
          const bytes = await adapter.read(objectKey(c.hash), { signal });
          if (bytes) await adapter.write(gcTrashKey(c.hash), bytes, { signal });
          return bytes?.byteLength ?? c.size ?? 0;
        },
        signal,
      );
      await commits.submitDeletes(
        batch.map((c) => c.hash),
        undefined,
      );
      batch.forEach((c, j) => trashed.push({ hash: c.hash, size: sizes[j]! }));
    }
    const referenced = await referencedHashes(settings, signal);
    const back = trashed.filter((t) => referenced.has(t.hash)).map((t) => t.hash);
    restored += await restoreFromTrash(settings, commits, back, signal);
    const backSet = new Set(back);
    await deleteEach(adapter, trashed.map((t) => gcTrashKey(t.hash)), concurrency);
    for (const t of trashed) {
      if (backSet.has(t.hash)) continue;
      deleted++;
      bytesFreed += t.size;
    }
  }
  if (state.hasJournalRecords()) await state.serialised(() => state.compactQuietly(signal));
  return restored ? { deleted, bytesFreed, restored } : { deleted, bytesFreed };
}

/** Every hash a reference document keeps alive (current values and retained history, deleted references included). */
async function referencedHashes({ adapter, concurrency }: ArchiveSettings, signal?: AbortSignal): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const doc of referenceDocuments(adapter, { signal, concurrency })) for (const h of hashesOf(doc)) out.add(h);
  return out;
}

/** What gc must not delete: see {@link collectGarbage}, step 2. */
async function liveHashes(settings: ArchiveSettings, state: IndexState, keep: ReadonlySet<string> | undefined, unreferenced: boolean, signal?: AbortSignal): Promise<Set<string>> {
  const { adapter, concurrency } = settings;
  const live = await referencedHashes(settings, signal);
  for (const h of keep ?? []) live.add(h);
  // A put line this handle has not seen settle may be another writer's put in flight (its object about to land).
  for (const segment of await loadSegments(adapter, concurrency, signal)) {
    if (state.completed.has(segment.key)) continue;
    for (const r of segment.records) if (r.op === 'put') live.add(r.hash);
  }
  if (unreferenced) for (const h of await intentIndexHashes(adapter, signal)) live.add(h);
  return live;
}

/**
 * The hashes the previous release's intent-graph index names (every string
 * in it that is a hash). The intent graph is on references now (docs/format.md,
 * "Intent graph on references v2") and a store deletes this index once it has
 * migrated it; until a store opens an archive of the previous release, the
 * index is all that keeps that graph's objects. A document that is not JSON
 * stops gc: it cannot know what it keeps.
 */
async function intentIndexHashes(adapter: ArchiveSettings['adapter'], signal?: AbortSignal): Promise<string[]> {
  const bytes = await adapter.read(DEFAULT_INTENT_INDEX_KEY, { signal });
  if (!bytes) return [];
  let value: JsonValue;
  try {
    value = parseJson(decodeUtf8(bytes));
  } catch (e) {
    throw new CorruptIndexError(DEFAULT_INTENT_INDEX_KEY, `gc stopped: ${DEFAULT_INTENT_INDEX_KEY} is not JSON, so what it keeps is unknown; nothing was deleted`, { cause: e });
  }
  const out: string[] = [];
  const walk = (v: JsonValue): void => {
    if (typeof v === 'string') {
      if (isSha256Hex(v)) out.push(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return out;
}

/** Objects not in `live`, stored more than `graceMs` ago (any object when it is 0), with their indexed size. */
async function findCandidates({ adapter, now }: ArchiveSettings, state: IndexState, live: ReadonlySet<string>, graceMs: number, signal?: AbortSignal): Promise<Candidate[]> {
  const cutoff = now() - graceMs;
  const out: Candidate[] = [];
  let page: string[] = [];
  const flush = async () => {
    const recs = await state.view.getMany(page, signal);
    page.forEach((hash, i) => {
      const rec = recs[i];
      if (graceMs > 0 && (!rec || rec.storedAt > cutoff)) return;
      out.push({ hash, size: rec?.size });
    });
    page = [];
  };
  for await (const key of adapter.list(OBJECTS_PREFIX, { signal })) {
    const hash = hashOfObjectKey(key);
    if (!hash || live.has(hash)) continue;
    page.push(hash);
    if (page.length >= CANDIDATE_PAGE) await flush();
  }
  if (page.length) await flush();
  return out;
}

/**
 * Puts back (through the commit queue: journal line, index entry) the
 * trashed objects of `hashes` that are missing; resolves how many are there
 * afterwards (put back now, or by a `set` before).
 */
async function restoreFromTrash({ adapter, concurrency }: ArchiveSettings, commits: CommitQueue, hashes: readonly string[], signal?: AbortSignal): Promise<number> {
  if (hashes.length === 0) return 0;
  let there = 0;
  const found = await mapLimit(
    hashes,
    concurrency,
    async (h) => {
      if (await adapter.has(objectKey(h), { signal })) {
        there++;
        return undefined;
      }
      const bytes = await adapter.read(gcTrashKey(h), { signal });
      return bytes && (await sha256HexAsync(bytes)) === h ? bytes : undefined;
    },
    signal,
  );
  const bytes = found.filter((b): b is Uint8Array => b !== undefined);
  for (let i = 0; i < bytes.length; i += MAX_BATCH) await commits.submitPuts(hashing(bytes.slice(i, i + MAX_BATCH)), undefined);
  return there + bytes.length;
}
