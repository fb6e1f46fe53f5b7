/**
 * `importCcosArchive`: a CCOS FileArchive or FileArchiveStorage into a
 * content archive and an intent graph, all or nothing.
 *
 * 1. Scan (`scan.ts`): list the source once and read every object through
 *    `read` only, verifying it by CCOS's rule and validating intents and
 *    edges. Nothing is written anywhere, and the source is never written.
 * 2. Decide: any refused file refuses the whole import (unless `skipInvalid`),
 *    before the target is touched. Intents are keyed by id; when CCOS left two
 *    versions of one intent, the newer `updated_at` is the graph's and the
 *    older stays in the archive only. Edges come in CCOS-hash order (CCOS's
 *    directory has no edge order).
 * 3. Commit, as the bundle import does: the objects the archive lacks go in
 *    through `putManyBytes` (batches of at most 8 MiB; one durability barrier
 *    each), then the graph is swapped with the store's all-or-nothing
 *    `replaceAll`. If either fails or the signal aborts, every object this
 *    import added is deleted again, so archive and graph are left as they
 *    were.
 *
 * Not isolated from concurrent writers of the same archive (as with bundles):
 * an object another writer stores during a failed import, and that this
 * import also added, is deleted by the rollback.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import type { ContentArchive } from '../archive/types.js';
import { CorruptObjectError, InvalidArgumentError, InvalidBackupError, throwIfAborted } from '../errors.js';
import { mapLimit } from '../internal/pool.js';
import type { IntentStore } from '../intent-graph/intent-store.js';
import { setOwn } from '../intent-graph/schema.js';
import { edgesEqual } from '../intent-graph/store.js';
import type { Edge, IntentGraph, StorableIntent } from '../intent-graph/types.js';
import { validateGraph } from '../intent-graph/validate.js';
import { scanCcos, type ScannedObject } from './scan.js';
import type { CcosImportOptions, CcosImportReport, CcosProblem, CcosWarning } from './types.js';

const COMMIT_BATCH_BYTES = 8 * 1024 * 1024;
const COMMIT_BATCH_OBJECTS = 4096;
const LOOKUPS = 16;

/** The error for refused files: the first one's typed error, its message counting the rest. */
function refusal(problems: readonly CcosProblem[]): Error {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more refused file(s): ${[...new Set(problems.slice(1).map((p) => p.path))].slice(0, 3).join(', ')}${new Set(problems.slice(1).map((p) => p.path)).size > 3 ? ', ...' : ''})` : '';
  const advice = '; nothing was imported. Fix or remove the file, or pass { skipInvalid: true } to import the rest and list it in the report';
  const text = first.message.slice(first.path.length + 2) + more + advice;
  if (first.code === 'HASH_MISMATCH') return new CorruptObjectError(first.hash!, first.actual, `CCOS object ${first.path}: ${text}`);
  return new InvalidBackupError(first.path, `${first.code}: ${text}`);
}

/** Picks the graph's version of every intent id; the rest are older versions (archive only). */
function chooseIntents(objects: readonly ScannedObject[], problems: CcosProblem[], warnings: CcosWarning[]): Map<string, ScannedObject> {
  const chosen = new Map<string, ScannedObject>();
  for (const o of objects) {
    if (o.intent === undefined) continue;
    const id = o.intent.intent_id;
    const had = chosen.get(id);
    if (had === undefined) {
      chosen.set(id, o);
      continue;
    }
    const a = had.intent!.updated_at;
    const b = o.intent.updated_at;
    if (a === b && had.canonicalHash !== o.canonicalHash) {
      problems.push({
        code: 'DUPLICATE_INTENT',
        path: o.path,
        hash: o.ccosHash,
        message: `${o.path}: intent ${JSON.stringify(id)} is also ${had.path}, with the same updated_at (${a}) and different content; refusing to guess which is current`,
      });
      continue;
    }
    const [newer, older] = b > a ? [o, had] : [had, o];
    chosen.set(id, newer);
    warnings.push({
      code: 'SUPERSEDED_VERSION',
      path: older.path,
      message: `${older.path}: an older version of intent ${JSON.stringify(id)} (updated_at ${older.intent!.updated_at}; ${newer.path} is newer); kept in the archive, not in the graph`,
    });
  }
  return chosen;
}

/**
 * Imports the CCOS directory under `options.prefix` on `source` (read only:
 * `list`, `read` and `has` are the only calls made on it) into `archive`
 * (every object at its canonical address) and `store` (the intents and
 * edges), all or nothing. See the module notes for the steps.
 *
 * Refuses, with the file's path in the message and nothing changed:
 * an index path with `..` or outside `<aa>/<bb>/<hash>.json`
 * (`INVALID_BACKUP`, problem `UNSAFE_PATH` / `OUTSIDE_LAYOUT`), an index entry
 * that is a symbolic link or not a regular file (`NOT_A_FILE`), a file over
 * the limits (`TOO_LARGE`), a file that is not strict UTF-8 JSON
 * (`NOT_JSON`), an object whose bytes do not hash to its name
 * (`CORRUPT_OBJECT`), an invalid intent or edge (`INVALID_ENTITY`). With
 * `skipInvalid` those files are left out and listed in `report.skipped`.
 *
 * @returns the mapping of every CCOS hash to the canonical hash, counts, warnings.
 */
export async function importCcosArchive(
  source: StorageAdapter,
  archive: ContentArchive,
  store: Pick<IntentStore, 'snapshot' | 'replaceAll'>,
  options: CcosImportOptions = {},
): Promise<CcosImportReport> {
  if (!source || typeof source.read !== 'function' || typeof source.list !== 'function') {
    throw new InvalidArgumentError('importCcosArchive: source must be a StorageAdapter holding the CCOS directory');
  }
  if (options.mode !== undefined && options.mode !== 'merge' && options.mode !== 'replace') {
    throw new InvalidArgumentError(`importCcosArchive: mode must be 'merge' or 'replace', got ${JSON.stringify(options.mode)}`);
  }
  const { signal, onProgress } = options;
  const scan = await scanCcos(source, options);
  const problems = [...scan.problems];
  const warnings = [...scan.warnings];
  const chosen = chooseIntents(scan.objects, problems, warnings);
  const refused = new Set(problems.filter((p) => p.code === 'DUPLICATE_INTENT').map((p) => p.path));
  if (problems.length > 0 && !options.skipInvalid) throw refusal(problems);
  for (const p of problems) warnings.push({ code: 'SKIPPED_INVALID', path: p.path, message: `${p.message} (skipped)` });
  const objects = scan.objects.filter((o) => !refused.has(o.path));
  throwIfAborted(signal);

  // The graph after the import.
  const base: IntentGraph = options.mode === 'replace' ? { intents: {}, edges: [] } : await store.snapshot({ signal });
  const intents: Record<string, StorableIntent> = {};
  for (const id of Object.keys(base.intents)) setOwn(intents, id, base.intents[id]!);
  for (const [id, o] of chosen) setOwn(intents, id, o.intent!);
  const edges: Edge[] = [...base.edges];
  const before = base.edges.length;
  let importedEdges = 0;
  for (const o of objects) {
    if (o.edge === undefined) continue;
    if (options.mode !== 'replace' && base.edges.some((e) => edgesEqual(e, o.edge!))) continue;
    edges.push(o.edge);
    importedEdges++;
  }
  const { graph, warnings: graphWarnings } = validateGraph({ intents, edges }, { maxStringLength: options.maxStringLength });
  // Dangling references are the graph's concern; report those the import brought in.
  for (const w of graphWarnings) {
    const m = /^\$\.edges\[(\d+)\]$/.exec(w.path);
    if (m && Number(m[1]) < before) continue;
    warnings.push(w);
  }

  // Objects the archive lacks (each distinct canonical object once).
  const distinct = new Map<string, ScannedObject>();
  for (const o of objects) distinct.set(o.canonicalHash, o);
  const candidates = [...distinct.values()];
  const held = await mapLimit(candidates, LOOKUPS, (o) => archive.has(o.canonicalHash, { signal }), signal);
  const missing = candidates.filter((_, i) => !held[i]);
  const added: string[] = [];
  try {
    onProgress?.({ phase: 'commit', done: 0, total: missing.length });
    // The signal is checked between batches, not passed down: a batch the archive has begun commits whole.
    for (let i = 0; i < missing.length; ) {
      throwIfAborted(signal);
      const batch: ScannedObject[] = [];
      let bytes = 0;
      while (i < missing.length && batch.length < COMMIT_BATCH_OBJECTS && (batch.length === 0 || bytes + missing[i]!.canonical.length <= COMMIT_BATCH_BYTES)) {
        bytes += missing[i]!.canonical.length;
        batch.push(missing[i++]!);
      }
      added.push(...batch.map((o) => o.canonicalHash));
      const hashes = await archive.putManyBytes(batch.map((o) => o.canonical));
      hashes.forEach((h, k) => {
        if (h !== batch[k]!.canonicalHash) throw new InvalidBackupError(batch[k]!.path, `the archive stored the object under ${h}, not ${batch[k]!.canonicalHash}`);
      });
      onProgress?.({ phase: 'commit', done: added.length, total: missing.length });
    }
    throwIfAborted(signal);
    await store.replaceAll(graph, { signal });
  } catch (e) {
    await mapLimit(added, LOOKUPS, (hash) => archive.delete(hash).catch(() => {}));
    throw e;
  }

  const hashes: Record<string, string> = {};
  for (const o of objects) setOwn(hashes, o.ccosHash, o.canonicalHash);
  return {
    layout: scan.layout,
    objects: objects.map((o) => ({
      path: o.path,
      kind: o.kind,
      ccosHash: o.ccosHash,
      canonicalHash: o.canonicalHash,
      ...(o.intent ? { intentId: o.intent.intent_id } : {}),
    })),
    hashes,
    intents: chosen.size,
    edges: importedEdges,
    added: missing.length,
    present: candidates.length - missing.length,
    skipped: problems,
    warnings,
  };
}
