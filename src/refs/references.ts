/**
 * References: names over hashes, with history and compare-and-set, stored
 * through the archive's adapter (docs/format.md, "References v1").
 *
 * One document per name, `refs/<name>.json`, holding the current value and
 * the retained history; every change is one compare-and-swap of that one
 * key ({@link compareAndSwapOf}), so it is atomic per reference on every
 * backend and a kill leaves the old document or the new one.
 *
 * @module
 */
import { compareAndSwapOf, type CompareAndSwap } from '../adapter/cas.js';
import type { StorageAdapter } from '../adapter/contract.js';
import { ConflictError, InvalidArgumentError, NotFoundError, throwIfAborted } from '../errors.js';
import { sha256HexAsync } from '../hash.js';
import type { JsonValue } from '../json/canonical.js';
import { fullJitter, retrying } from '../internal/retry.js';
import { assertHash } from '../archive/hash-args.js';
import { trimChangeLog } from '../archive/change-log.js';
import { changeKeyOfSegment, gcTrashKey, referenceKey, segmentKey } from '../archive/layout.js';
import { encodeRefSegment } from '../changes/lines.js';
import { randomId } from '../internal/random-id.js';
import {
  currentOf,
  decodeReferenceDocument,
  DEFAULT_KEEP_VERSIONS,
  encodeReferenceDocument,
  MAX_KEEP_VERSIONS,
  normaliseMeta,
  sameMeta,
  type Reference,
  type ReferenceDocument,
  type ReferenceVersion,
} from './document.js';
import { ReferenceConflictError } from './errors.js';
import { assertReferenceName, assertReferencePrefix } from './name.js';
import { referenceDocuments } from './scan.js';

/**
 * What references need of an archive (a `ContentArchive` from `openArchive`
 * is one): its adapter, `has` to check a hash, `putBytes` to put back an
 * object gc was removing. Spelled here rather than imported, so that the
 * archive's own types may name {@link References}.
 */
export interface ReferenceArchive {
  readonly adapter: StorageAdapter;
  has(hash: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  putBytes(bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<string>;
  /** Told the writer id of this handle's change segments, so the archive's change events mark them local. */
  noteChangeWriter?(id: string): void;
  /** Told after each change is stored, so the archive's listeners look at once. */
  announceChange?(): void;
}

/** Options of {@link openReferences}. */
export interface ReferencesOptions {
  /**
   * Earlier versions retained beside the current one, per name (default 32,
   * 0..1000). Applied by each write: a handle with a smaller number trims
   * what one with a larger number kept.
   */
  keepVersions?: number;
  /** Clock for version times (unix ms); injectable for tests. */
  now?: () => number;
  /**
   * The caller is the only writer of the storage: lets an adapter with
   * neither compare-and-swap nor a lock (S3 with `writers: 'single'`) hold
   * references, guarded by an in-process mutex.
   */
  singleWriter?: boolean;
  /** How long a change waits for the adapter's lock (lock-based adapters), ms. */
  lockTimeoutMs?: number;
  /** Compare-and-swap rounds a `set` or `delete` retries against other writers before `CONFLICT` (default 200). */
  maxAttempts?: number;
  /**
   * How long this handle's reference change segments (`changes/`, read by
   * `archive.changes()`) are kept, ms: trimmed every 256 segments it writes
   * (default 3 600 000, the archive's own `changeRetentionMs` for
   * `archive.refs`; 0 keeps them 120 s, for live listeners only).
   */
  changeRetentionMs?: number;
}

/** Options every reference call takes. */
export interface ReferenceCallOptions {
  signal?: AbortSignal;
}

/** Options of {@link References.set} and {@link References.compareAndSet}. */
export interface SetReferenceOptions extends ReferenceCallOptions {
  /** Small JSON metadata stored with this version (at most 1,024 canonical bytes). */
  meta?: JsonValue;
  /** Allow a hash the archive does not hold (default false: `NOT_FOUND`). */
  allowMissing?: boolean;
}

/** Options of {@link References.delete}. */
export interface DeleteReferenceOptions extends ReferenceCallOptions {
  /** Delete only if the reference is at this hash (`CONFLICT` otherwise). */
  expected?: string;
}

/** Options of {@link References.list}. */
export interface ListReferencesOptions extends ReferenceCallOptions {
  /** Only names starting with this (`''`: all). */
  prefix?: string;
}

/** What {@link References.check} found. */
export interface ReferenceCheckReport {
  /** Reference documents read. */
  checked: number;
  /** Versions (current or retained) whose object is not in the archive. */
  dangling: { name: string; hash: string; seq: number; current: boolean }[];
  ok: boolean;
}

/** Names over hashes; see {@link openReferences}. */
export interface References {
  /** How changes are made atomic on this adapter. */
  readonly mode: CompareAndSwap['mode'];
  /** The current value of `name`, or undefined when it is absent (never set, or deleted). */
  get(name: string, options?: ReferenceCallOptions): Promise<Reference | undefined>;
  /**
   * Points `name` at `hash` whatever it held, keeping the earlier value in
   * its history. The archive must hold `hash` (`NOT_FOUND` otherwise, unless
   * `allowMissing`). Setting the current hash and metadata again changes
   * nothing. Resolves the value now current.
   */
  set(name: string, hash: string, options?: SetReferenceOptions): Promise<Reference>;
  /**
   * Points `name` at `hash` only if it is at `expected` now (`null`: only if
   * absent). Otherwise rejects with {@link ReferenceConflictError} (code
   * `CONFLICT`, carrying the current value) and writes nothing.
   */
  compareAndSet(name: string, expected: string | null, hash: string, options?: SetReferenceOptions): Promise<Reference>;
  /**
   * Deletes `name` (its history stays, with the deletion as newest version).
   * Resolves false when it was absent already. With `expected`, deletes only
   * if it is at that hash (`CONFLICT` otherwise).
   */
  delete(name: string, options?: DeleteReferenceOptions): Promise<boolean>;
  /** Every present reference whose name starts with `prefix`, streamed page by page (each page in name order). */
  list(options?: ListReferencesOptions): AsyncIterable<Reference>;
  /** Every retained version of `name`, newest (the current value, or its deletion) first; `[]` when never set. */
  history(name: string, options?: ReferenceCallOptions): Promise<ReferenceVersion[]>;
  /** Reads every reference and reports versions whose object is missing. Changes nothing. */
  check(options?: ReferenceCallOptions): Promise<ReferenceCheckReport>;
}

const DEFAULT_MAX_ATTEMPTS = 200;

/** Default retention of reference change segments, and what `changeRetentionMs: 0` keeps them for. */
const DEFAULT_CHANGE_RETENTION_MS = 3_600_000;
const LIVE_CHANGE_RETENTION_MS = 120_000;

/** A handle trims the change log every this many change segments it writes. */
const TRIM_EVERY = 256;

/**
 * The references of `archive`, stored through its adapter under `refs/`.
 * Reads nothing until called; throws `CONDITIONAL_WRITES_UNSUPPORTED` at once
 * when the adapter has neither compare-and-swap nor a lock (see
 * `singleWriter`). Any number of handles, in any number of processes or
 * tabs, may share one storage.
 *
 * @example
 * ```ts
 * const refs = openReferences(archive);
 * const v1 = await archive.put({ title: 'draft' });
 * await refs.set('notes/42', v1, { meta: { by: 'ana' } });
 * const seen = await refs.get('notes/42');
 * const v2 = await archive.put({ title: 'final' });
 * await refs.compareAndSet('notes/42', seen!.hash, v2); // CONFLICT if someone moved it first
 * for (const v of await refs.history('notes/42')) console.log(v.seq, v.hash, new Date(v.time));
 * ```
 */
export function openReferences(archive: ReferenceArchive, options: ReferencesOptions = {}): References {
  if (!archive || typeof archive.has !== 'function' || typeof archive.putBytes !== 'function' || !archive.adapter) {
    throw new InvalidArgumentError('openReferences needs an archive (from openArchive)');
  }
  const keep = options.keepVersions ?? DEFAULT_KEEP_VERSIONS;
  if (!Number.isSafeInteger(keep) || keep < 0 || keep > MAX_KEEP_VERSIONS) {
    throw new InvalidArgumentError(`keepVersions must be an integer from 0 to ${MAX_KEEP_VERSIONS}, got ${String(options.keepVersions)}`);
  }
  const attempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(attempts) || attempts < 1) throw new InvalidArgumentError(`maxAttempts must be a positive integer, got ${String(options.maxAttempts)}`);
  const retention = options.changeRetentionMs ?? DEFAULT_CHANGE_RETENTION_MS;
  if (typeof retention !== 'number' || !Number.isFinite(retention) || retention < 0) {
    throw new InvalidArgumentError(`changeRetentionMs must be a number >= 0, got ${String(options.changeRetentionMs)}`);
  }
  const cas = compareAndSwapOf(archive.adapter, { singleWriter: options.singleWriter, lockTimeoutMs: options.lockTimeoutMs });
  return new ReferenceStore(archive, cas, keep, attempts, options.now ?? Date.now, retention > 0 ? retention : LIVE_CHANGE_RETENTION_MS);
}

/** What a change decides on the document it read: the next versions, or undefined to write nothing. */
type Change = (doc: ReferenceDocument | undefined) => ReferenceVersion[] | undefined;

/** What {@link ReferenceStore.update} resolves: the document now stored, and whether this call wrote it. */
type Updated = { doc: ReferenceDocument | undefined; wrote: boolean };

/** A round whose swap another writer won: read again and decide again. */
const LOST = Symbol('lost');

/** Between lost rounds: full jitter from 2 ms, doubling, capped at 50 ms. */
const SWAP_BACKOFF = fullJitter(2, 50);

class ReferenceStore implements References {
  private readonly adapter: StorageAdapter;
  /** Writer id and next seq of this handle's change segments (format.md, "Change log v2"). */
  private readonly writer = randomId(16);
  private changeSeq = 0;
  /** Change segments are written one at a time, so they become visible in seq order. */
  private changeTail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly archive: ReferenceArchive,
    private readonly cas: CompareAndSwap,
    private readonly keep: number,
    private readonly maxAttempts: number,
    private readonly now: () => number,
    private readonly changeRetentionMs: number,
  ) {
    this.adapter = archive.adapter;
    archive.noteChangeWriter?.(this.writer);
  }

  get mode(): CompareAndSwap['mode'] {
    return this.cas.mode;
  }

  async get(name: string, options?: ReferenceCallOptions): Promise<Reference | undefined> {
    return currentOf(await this.read(name, options?.signal));
  }

  async history(name: string, options?: ReferenceCallOptions): Promise<ReferenceVersion[]> {
    const doc = await this.read(name, options?.signal);
    return doc ? [...doc.versions] : [];
  }

  async set(name: string, hash: string, options: SetReferenceOptions = {}): Promise<Reference> {
    return this.put(name, undefined, hash, options);
  }

  async compareAndSet(name: string, expected: string | null, hash: string, options: SetReferenceOptions = {}): Promise<Reference> {
    if (expected !== null) assertHash(expected, 'expected hash');
    return this.put(name, expected, hash, options);
  }

  async delete(name: string, options: DeleteReferenceOptions = {}): Promise<boolean> {
    assertReferenceName(name);
    const { expected, signal } = options;
    if (expected !== undefined) assertHash(expected, 'expected hash');
    throwIfAborted(signal);
    const key = referenceKey(name);
    const { wrote } = await this.update(name, signal, (doc) => {
      const current = currentOf(doc);
      if (expected !== undefined && current?.hash !== expected) throw new ReferenceConflictError(key, name, expected, current);
      if (!current) return undefined;
      return this.push(doc!, { hash: null, seq: current.seq + 1, time: this.time(doc) });
    });
    return wrote;
  }

  async *list(options: ListReferencesOptions = {}): AsyncIterable<Reference> {
    const { prefix = '', signal } = options;
    assertReferencePrefix(prefix);
    throwIfAborted(signal);
    for await (const doc of referenceDocuments(this.adapter, { prefix, signal })) {
      const current = currentOf(doc);
      if (current) yield current;
    }
  }

  async check(options: ReferenceCallOptions = {}): Promise<ReferenceCheckReport> {
    const { signal } = options;
    let checked = 0;
    const dangling: ReferenceCheckReport['dangling'] = [];
    for await (const doc of referenceDocuments(this.adapter, { signal })) {
      checked++;
      for (const [i, v] of doc.versions.entries()) {
        if (v.hash !== null && !(await this.archive.has(v.hash, { signal }))) dangling.push({ name: doc.name, hash: v.hash, seq: v.seq, current: i === 0 });
      }
    }
    return { checked, dangling, ok: dangling.length === 0 };
  }

  // ---------------------------------------------------------------- internals

  /** set and compareAndSet: `expected` undefined means "whatever it is". */
  private async put(name: string, expected: string | null | undefined, hash: string, options: SetReferenceOptions): Promise<Reference> {
    assertReferenceName(name);
    assertHash(hash);
    const { signal, allowMissing } = options;
    const meta = normaliseMeta(options.meta);
    throwIfAborted(signal);
    if (!allowMissing && !(await this.archive.has(hash, { signal }))) {
      throw new NotFoundError(`no object ${hash} in the archive: put it first (or pass { allowMissing: true }); reference ${JSON.stringify(name)} unchanged`);
    }
    const key = referenceKey(name);
    const { doc, wrote } = await this.update(name, signal, (doc) => {
      const current = currentOf(doc);
      if (expected !== undefined && (current?.hash ?? null) !== expected) throw new ReferenceConflictError(key, name, expected, current);
      if (current && current.hash === hash && sameMeta(current.meta, meta)) return undefined; // nothing changes
      const version: ReferenceVersion = { hash, ...(meta === undefined ? {} : { meta }), seq: (doc?.versions[0]!.seq ?? 0) + 1, time: this.time(doc) };
      return doc ? this.push(doc, version) : [version];
    });
    const result = currentOf(doc)!;
    // Our reference is visible now; make sure its object is too (a gc may have been deleting it: docs/format.md).
    if (wrote && !allowMissing && !(await this.ensureObject(hash, signal))) {
      await this.withdraw(name, result, signal);
      throw new NotFoundError(`object ${hash} was deleted by a concurrent gc before reference ${JSON.stringify(name)} could keep it; the reference was left as it was`);
    }
    return result;
  }

  /** The versions after `version` is added on top of `doc`, trimmed to the retention. */
  private push(doc: ReferenceDocument, version: ReferenceVersion): ReferenceVersion[] {
    return [version, ...doc.versions].slice(0, 1 + this.keep);
  }

  /** Now, but never before the newest version (a clock that steps back keeps history in time order). */
  private time(doc: ReferenceDocument | undefined): number {
    const t = Math.max(0, Math.floor(this.now()));
    return Math.max(t, doc?.versions[0]?.time ?? 0);
  }

  private async read(name: string, signal?: AbortSignal): Promise<ReferenceDocument | undefined> {
    assertReferenceName(name);
    throwIfAborted(signal);
    const key = referenceKey(name);
    const bytes = await this.adapter.read(key, { signal });
    return bytes && decodeReferenceDocument(bytes, key, name);
  }

  /**
   * One compare-and-swap loop on the document of `name`: read it, let
   * `change` decide (it may throw a refusal: nothing written), swap; on a lost
   * swap read again and decide again. Resolves the document now stored.
   */
  private async update(name: string, signal: AbortSignal | undefined, change: Change): Promise<Updated> {
    const key = referenceKey(name);
    let announced = false;
    const result = await retrying<Updated | typeof LOST>(
      { attempts: this.maxAttempts, signal, retryable: (o) => o.ok && o.value === LOST, backoff: SWAP_BACKOFF },
      async () => {
        throwIfAborted(signal);
        const stored = await this.cas.read(key, { signal });
        const doc = stored && decodeReferenceDocument(stored.bytes, key, name);
        let versions = change(doc);
        if (versions === undefined) return { doc, wrote: false };
        if (!announced) {
          // The intent goes first, named before the versions' time (decided again below), so a
          // reader of the change log misses nothing and emits nothing false (format.md, "Change log v2").
          await this.writeChangeSegment(name, signal);
          announced = true;
          versions = change(doc);
          if (versions === undefined) return { doc, wrote: false };
        }
        const next: ReferenceDocument = { name, versions };
        const won = await this.cas.swap(key, encodeReferenceDocument(next), stored?.version ?? null, { signal });
        if (won === null) return LOST;
        this.archive.announceChange?.();
        return { doc: next, wrote: true };
      },
    );
    if (result === LOST) {
      throw new ConflictError(key, `reference ${JSON.stringify(name)}: ${this.maxAttempts} compare-and-swap rounds lost to other writers; nothing was written`);
    }
    return result;
  }

  /**
   * Writes `changes/<time>-<writer>-<seq>.log` holding `ref <name>`, one at a
   * time per handle; every {@link TRIM_EVERY}th also trims the log (in the
   * background: a failure only leaves old segments a while longer).
   */
  private writeChangeSegment(name: string, signal?: AbortSignal): Promise<void> {
    const write = async () => {
      const now = this.now();
      const seq = this.changeSeq++;
      await this.adapter.write(changeKeyOfSegment(segmentKey(now, this.writer, seq)), encodeRefSegment(name), { signal });
      if (seq % TRIM_EVERY === TRIM_EVERY - 1) trimChangeLog(this.adapter, now, this.changeRetentionMs, 4).catch(() => {});
    };
    const mine = this.changeTail.then(write, write);
    this.changeTail = mine.catch(() => {});
    return mine;
  }

  /** True when the object is there, or was put back from gc's trash. */
  private async ensureObject(hash: string, signal?: AbortSignal): Promise<boolean> {
    if (await this.archive.has(hash, { signal })) return true;
    const bytes = await this.adapter.read(gcTrashKey(hash), { signal });
    if (!bytes || (await sha256HexAsync(bytes)) !== hash) return false;
    await this.archive.putBytes(bytes, { signal });
    return true;
  }

  /** Takes the version `mine` back out of the document of `name` (others may have written on top of it). */
  private async withdraw(name: string, mine: Reference, signal?: AbortSignal): Promise<void> {
    await this.update(name, signal, (doc) => {
      if (!doc) return undefined;
      const i = doc.versions.findIndex((v) => v.seq === mine.seq && v.hash === mine.hash && v.time === mine.time);
      if (i < 0) return undefined;
      const versions = doc.versions.filter((_, j) => j !== i);
      // The only version of a new name: leave a deletion (a document is never empty).
      return versions.length ? versions : [{ hash: null, seq: mine.seq, time: mine.time }];
    });
  }
}
