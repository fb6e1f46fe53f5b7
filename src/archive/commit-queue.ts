/**
 * The archive's write pipeline: one in-process queue that group-commits.
 *
 * Puts and deletes join the queue in call order; the {@link Batcher} hands it
 * over one batch at a time, the longest run of one kind up to
 * {@link MAX_BATCH} values (a `putMany` is never split), so puts issued while
 * a batch is committed are gathered into the next one. A batch costs one
 * journal segment and one `writeMany` (one durability barrier) however many
 * values it holds. Where the adapter can take the segment and the objects in
 * one `writeMany` without ever showing an object before its line (an
 * all-or-nothing batch, `capabilities.atomicBatch`, or one that stores its
 * first entry first, `capabilities.batchHeadFirst`: node-fs), they are that
 * one `writeMany`, one durability barrier in all; elsewhere the segment is
 * written first, then the objects. After a batch, the index is compacted when
 * the journal has grown enough (see `index-state.ts`).
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { deleteEach, hasEach, writeBatch } from '../adapter/batch.js';
import { throwIfAborted } from '../errors.js';
import { abortable, abortErrorOf } from '../internal/abort.js';
import { Batcher } from '../internal/batcher.js';
import { deferred, type Deferred } from '../internal/deferred.js';
import { mapLimit } from '../internal/pool.js';
import { monotonicNow } from '../platform.js';
import type { IndexRecord } from './index-file.js';
import type { IndexState } from './index-state.js';
import type { JournalRecord } from './journal.js';
import { objectKey } from './layout.js';
import type { PutItem } from './put-items.js';
import type { ArchiveSettings } from './settings.js';

/** Most values one commit batch gathers from concurrent callers (a putMany is never split). */
export const MAX_BATCH = 2048;

interface Job {
  kind: 'put' | 'del';
  puts: PutItem[];
  dels: string[];
  signal: AbortSignal | undefined;
  done: Deferred<void>;
}

/** The longest run of queued jobs of one kind, up to MAX_BATCH items (a job is never split; the first always goes). */
function takeRun(queue: readonly Job[]): number {
  const kind = queue[0]!.kind;
  let n = 0;
  let items = 0;
  while (n < queue.length) {
    const j = queue[n]!;
    if (j.kind !== kind) break;
    const size = j.puts.length + j.dels.length;
    if (n > 0 && items + size > MAX_BATCH) break;
    items += size;
    n++;
  }
  return n;
}

/** Queues puts and deletes and commits them in batches; see the module doc. */
export class CommitQueue {
  private readonly adapter: StorageAdapter;
  private readonly batcher = new Batcher<Job>({
    run: (batch) => this.commit(batch),
    take: takeRun,
    // A caller that stopped waiting before its batch formed is dropped; once formed, a batch commits as a whole.
    skip: (job) => job.signal?.aborted === true,
    onSkip: (job) => job.done.reject(abortErrorOf(job.signal)),
  });

  constructor(
    private readonly settings: ArchiveSettings,
    private readonly state: IndexState,
  ) {
    this.adapter = settings.adapter;
  }

  /** Queues `items` for storing; resolves once they are committed. */
  submitPuts(items: PutItem[], signal: AbortSignal | undefined): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return this.submit('put', items, [], signal);
  }

  /** Queues the removal of `hashes`; resolves once it is committed. */
  submitDeletes(hashes: string[], signal: AbortSignal | undefined): Promise<void> {
    return this.submit('del', [], hashes, signal);
  }

  /** Resolves once nothing is queued or committing. */
  whenIdle(): Promise<void> {
    return this.batcher.whenIdle();
  }

  private submit(kind: Job['kind'], puts: PutItem[], dels: string[], signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    const done = deferred<void>();
    this.batcher.push({ kind, puts, dels, signal, done });
    // The caller may stop waiting on abort; the batch it joined still commits as a whole.
    return abortable(done.promise, signal);
  }

  /** Commits one batch (all of one kind), settles its callers, then compacts if the journal has grown enough. */
  private async commit(batch: Job[]): Promise<void> {
    const { state } = this;
    try {
      await state.serialised(async () => {
        if (batch[0]!.kind === 'put') await this.commitPuts(batch.flatMap((j) => j.puts));
        else await this.commitDeletes(batch.flatMap((j) => j.dels));
      });
      for (const j of batch) j.done.resolve();
    } catch (e) {
      for (const j of batch) j.done.reject(e);
    }
    if (state.compactionDue()) await state.serialised(() => state.compactQuietly());
  }

  /** Commits a put batch: in one `writeMany` where the adapter allows it, else journal intent, then the objects behind one barrier. */
  private async commitPuts(all: PutItem[]): Promise<void> {
    await Promise.all(all.map((it) => it.hashed));
    const unique = new Map<string, PutItem>();
    for (const it of all) if (!unique.has(it.hash)) unique.set(it.hash, it);
    const items = [...unique.values()];
    const { atomicBatch, batchHeadFirst } = this.adapter.capabilities;
    if ((atomicBatch || batchHeadFirst) && this.adapter.writeMany) return this.commitPutsInOneBatch(items);
    const { seen, toWrite } = await this.notYetStored(items);
    if (toWrite.length === 0) return;
    const records = this.putRecords(toWrite);
    const started = monotonicNow();
    const segment = await this.state.writeSegment(records);
    await this.storeObjects(toWrite);
    this.state.completed.add(segment);
    await this.rejournalIfSlow(started, records);
    this.indexPuts(records, seen);
  }

  /**
   * Of `items`, what the batch must write: every value this handle does not
   * index, and those it indexes whose object is gone (another process may have
   * deleted it). Only the indexed ones are asked about: for a value nobody
   * indexes, asking costs a request (a HEAD on S3) to learn what writing it
   * learns too, since writing identical bytes again is harmless (and adopts an
   * orphan, if one is there).
   */
  private async notYetStored(items: PutItem[]): Promise<{ seen: Map<string, IndexRecord | undefined>; toWrite: PutItem[] }> {
    const found = await this.lookup(items.map((it) => it.hash));
    const seen = new Map<string, IndexRecord | undefined>();
    items.forEach((it, i) => seen.set(it.hash, found[i]));
    const known = items.filter((it) => seen.get(it.hash));
    const present = await hasEach(this.adapter, known.map((it) => objectKey(it.hash)), this.settings.concurrency);
    const missing = new Set(known.filter((_, i) => !present[i]));
    return { seen, toWrite: items.filter((it) => !seen.get(it.hash) || missing.has(it)) };
  }

  /**
   * Writes the objects of a put batch after its journal segment. Where the
   * adapter creates atomically (S3's `If-None-Match: *`), by `create`: an
   * object already there, whoever wrote it, is left exactly as it is, in one
   * request either way.
   */
  private async storeObjects(items: readonly PutItem[]): Promise<void> {
    if (this.adapter.create && this.adapter.capabilities.create) {
      const create = this.adapter.create.bind(this.adapter);
      await mapLimit(items, this.settings.concurrency, (it) => create(objectKey(it.hash), it.bytes));
    } else {
      await writeBatch(
        this.adapter,
        items.map((it) => ({ key: objectKey(it.hash), bytes: it.bytes })),
      );
    }
  }

  /** What the index holds for `hashes` (through the engine: a damaged piece is rebuilt when auto-repair is on). */
  private lookup(hashes: readonly string[]): Promise<(IndexRecord | undefined)[]> {
    if (hashes.length === 0) return Promise.resolve([]);
    return this.state.guard(() => this.state.view.getMany(hashes));
  }

  /**
   * The put commit as ONE `writeMany` holding the journal segment (first) and
   * the objects: one durability barrier instead of two, and an awaited put
   * costs one backend round instead of three.
   *
   * Why this is as safe as segment-then-objects. What the journal must give
   * (see `fold.ts`, `journal.ts`): a line is never lost while its object
   * exists, so every object is named by the index or a segment and opening
   * never scans the objects; a line whose object never landed is harmless,
   * since the fold believes objects, not lines. So what matters is only that
   * (a) the segment is durable no later than the put resolves, and (b) no
   * object can be seen, or survive a crash, without its segment. Both
   * capabilities give (b) without a barrier between the two:
   * - `atomicBatch` (IndexedDB, OPFS, SQLite, memory): one transaction, so
   *   neither exists without the other;
   * - `batchHeadFirst` (node-fs): the segment is the batch's head, renamed
   *   into place before any object (every temp file written and fsynced
   *   first, all the directories fsynced once after the renames). A reader,
   *   another process's fold or a SIGKILL at any point finds the segment
   *   whenever it finds one of the objects: before the renames only swept
   *   temp files exist; after the head's, lines without objects (not
   *   indexed; void once settled or past the grace). A failed `writeMany`
   *   may leave the segment: it is not booked as completed, so the next
   *   fold checks its objects like any other writer's. After a power cut,
   *   the file systems that order metadata (ext4, XFS) cannot keep an
   *   object's rename without the earlier one of the segment; elsewhere a cut
   *   inside the barrier can keep an object of a put that never resolved
   *   without its line: an orphan (`verify` reports it, a later put of the
   *   value adopts it), never a lost acknowledged put.
   * (a) holds because `writeMany` resolves only after its barrier.
   *
   * Only values this handle already indexes are checked for presence (another
   * process may have deleted them); a value it does not know is written
   * without asking, since rewriting identical bytes over an existing object is
   * harmless and, at worst, adopts an orphan.
   */
  private async commitPutsInOneBatch(items: PutItem[]): Promise<void> {
    const { seen, toWrite } = await this.notYetStored(items);
    if (toWrite.length === 0) return;
    const records = this.putRecords(toWrite);
    const started = monotonicNow();
    const segment = this.state.nextSegment(records);
    await this.adapter.writeMany!([segment, ...toWrite.map((it) => ({ key: objectKey(it.hash), bytes: it.bytes }))]);
    this.state.noteSegment(segment.key, records);
    this.state.completed.add(segment.key);
    await this.rejournalIfSlow(started, records);
    this.indexPuts(records, seen);
  }

  private putRecords(items: readonly PutItem[]): JournalRecord[] {
    const storedAt = Math.floor(this.settings.now());
    return items.map((it) => ({ op: 'put', hash: it.hash, size: it.bytes.byteLength, storedAt }));
  }

  private indexPuts(records: readonly JournalRecord[], seen: ReadonlyMap<string, IndexRecord | undefined>): void {
    for (const r of records) if (r.op === 'put') this.state.view.notePut(r.hash, { size: r.size, storedAt: r.storedAt }, seen.get(r.hash));
  }

  /** Commits a delete batch: journal intent, then the objects. */
  private async commitDeletes(all: string[]): Promise<void> {
    const hashes = [...new Set(all)];
    const present = await hasEach(this.adapter, hashes.map(objectKey), this.settings.concurrency);
    const seen = await this.lookup(hashes);
    const targets = hashes.filter((h, i) => present[i] || seen[i]);
    if (targets.length === 0) return;
    const records: JournalRecord[] = targets.map((hash) => ({ op: 'del', hash }));
    const started = monotonicNow();
    const segment = await this.state.writeSegment(records);
    await deleteEach(this.adapter, targets.map(objectKey), this.settings.concurrency);
    this.state.completed.add(segment);
    await this.rejournalIfSlow(started, records);
    hashes.forEach((h, i) => {
      if (present[i] || seen[i]) this.state.view.noteDelete(h, seen[i]);
    });
  }

  /**
   * An operation slower than half the pending grace may have had its intent
   * voided by another process's compaction while it ran: write the lines again
   * now that the objects are settled, so no entry is lost.
   */
  private async rejournalIfSlow(started: number, records: JournalRecord[]): Promise<void> {
    if (monotonicNow() - started > this.settings.graceMs / 2) this.state.completed.add(await this.state.writeSegment(records));
  }
}
