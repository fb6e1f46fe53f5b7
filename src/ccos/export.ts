/**
 * `exportCcosArchive`: an intent graph written in CCOS's FileArchiveStorage
 * layout, byte for byte as CCOS's own FileArchive writes it, so that CCOS
 * opens it with its own code (`FileArchiveStorage::new`).
 *
 * ```
 * <prefix>intents/index.json            pretty map: hash -> "<aa>/<bb>/<hash>.json"
 * <prefix>intents/<aa>/<bb>/<hash>.json one StorableIntent, pretty serde JSON
 * <prefix>edges/index.json
 * <prefix>edges/<aa>/<bb>/<hash>.json   one Edge
 * ```
 *
 * Each file is what `serde_json::to_string_pretty` writes (serde field order,
 * ryu floats, no final newline), named by the SHA-256 of what
 * `serde_json::to_string` writes. Map entries keep the graph's order (CCOS's
 * `HashMap` order is arbitrary anyway). Equal edges are one file, as in CCOS.
 *
 * What is atomic, exactly: CCOS finds objects only through `index.json`, so
 * the indices are the commit point. All object files are written first (one
 * `writeMany`, one durability barrier, where the adapter has it), then
 * `edges/index.json`, then `intents/index.json`, each with the adapter's
 * atomic `write`. A crash before the indices leaves object files that no
 * index names (CCOS shows the previous graph, or none); a crash between the
 * two leaves the new edges beside the previous intents (CCOS tolerates
 * dangling edges). With `overwrite`, old objects are deleted only after both
 * indices name the new ones.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { deleteEach, writeBatch } from '../adapter/batch.js';
import { InvalidArgumentError, InvalidBackupError, throwIfAborted } from '../errors.js';
import type { IntentStore } from '../intent-graph/intent-store.js';
import { setOwn } from '../intent-graph/schema.js';
import type { IntentGraph } from '../intent-graph/types.js';
import { validateGraph } from '../intent-graph/validate.js';
import { CCOS_INDEX_FILE, CCOS_STORAGE_SECTIONS, ccosObjectPath, hashOfCcosObjectPath } from './layout.js';
import { serdeEdge, serdeIntent, serdePrettyStringMap, type SerdeForms } from './serde-json.js';
import type { CcosExportOptions, CcosExportReport } from './types.js';

const encoder = /* @__PURE__ */ new TextEncoder();
const DELETES = 16;

function isStore(v: unknown): v is Pick<IntentStore, 'snapshot'> {
  return typeof v === 'object' && v !== null && typeof (v as IntentStore).snapshot === 'function';
}

/** Keys under `prefix` that a FileArchiveStorage may hold (what `overwrite` may replace). */
function isCcosStorageKey(rel: string): boolean {
  const section = CCOS_STORAGE_SECTIONS.find((s) => rel.startsWith(s.base));
  if (!section) return false;
  const inner = rel.slice(section.base.length);
  return inner === CCOS_INDEX_FILE || hashOfCcosObjectPath(inner) !== undefined;
}

/**
 * Writes `source` (an intent graph, or a store whose snapshot is taken) to
 * `target` under `options.prefix` in CCOS's FileArchiveStorage layout (see
 * the module notes for the layout and the exact atomicity). The target must
 * hold nothing under the prefix, unless `overwrite` is set and what is there
 * is a FileArchiveStorage (anything else is refused, untouched).
 */
export async function exportCcosArchive(
  source: IntentGraph | Pick<IntentStore, 'snapshot'>,
  target: StorageAdapter,
  options: CcosExportOptions = {},
): Promise<CcosExportReport> {
  const { signal, onProgress } = options;
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !prefix.endsWith('/'))) {
    throw new InvalidArgumentError(`exportCcosArchive: prefix must be '' or end with '/', got ${JSON.stringify(prefix)}`);
  }
  if (!target || typeof target.write !== 'function') throw new InvalidArgumentError('exportCcosArchive: target must be a StorageAdapter');
  const raw = isStore(source) ? await source.snapshot({ signal }) : source;
  if (typeof raw !== 'object' || raw === null) throw new InvalidArgumentError('exportCcosArchive: source must be an intent graph { intents, edges } or an intent store');
  let graph: IntentGraph;
  try {
    graph = validateGraph({ intents: raw.intents, edges: raw.edges }, { maxStringLength: options.maxStringLength }).graph;
  } catch (e) {
    if (e instanceof InvalidBackupError) throw new InvalidArgumentError(`exportCcosArchive: invalid graph: ${e.message}`, { cause: e });
    throw e;
  }

  // What is there already.
  const existing: string[] = [];
  for await (const key of target.list(prefix, { signal })) existing.push(key);
  if (existing.length > 0) {
    const foreign = existing.filter((k) => !isCcosStorageKey(k.slice(prefix.length)));
    const where = prefix === '' ? 'the target' : `the target under ${JSON.stringify(prefix)}`;
    if (!options.overwrite) {
      throw new InvalidArgumentError(`exportCcosArchive: ${where} already holds ${existing.length} file(s) (e.g. ${JSON.stringify(existing[0])}); export into an empty place, or pass { overwrite: true } to replace a CCOS FileArchiveStorage there`);
    }
    if (foreign.length > 0) {
      throw new InvalidArgumentError(`exportCcosArchive: ${where} holds ${JSON.stringify(foreign[0])}, which is not part of a CCOS FileArchiveStorage; refusing to overwrite it (nothing was written)`);
    }
  }

  // Every file, in memory: the graph is in memory already, and this is its size again.
  const intentIndex: [string, string][] = [];
  const intentHashes: Record<string, string> = {};
  const files = new Map<string, Uint8Array>();
  const add = (base: string, forms: SerdeForms, index: [string, string][]) => {
    const key = `${prefix}${base}${ccosObjectPath(forms.hash)}`;
    if (files.has(key)) return false;
    files.set(key, encoder.encode(forms.pretty));
    index.push([forms.hash, ccosObjectPath(forms.hash)]);
    return true;
  };
  for (const id of Object.keys(graph.intents)) {
    const forms = serdeIntent(graph.intents[id]!);
    add('intents/', forms, intentIndex);
    setOwn(intentHashes, id, forms.hash);
  }
  const edgeIndex: [string, string][] = [];
  const edgeHashes: string[] = [];
  let duplicateEdges = 0;
  for (const edge of graph.edges) {
    const forms = serdeEdge(edge);
    if (!add('edges/', forms, edgeIndex)) duplicateEdges++;
    edgeHashes.push(forms.hash);
  }
  const objectEntries = [...files].map(([key, bytes]) => ({ key, bytes }));
  const indices = [
    { key: `${prefix}edges/${CCOS_INDEX_FILE}`, bytes: encoder.encode(serdePrettyStringMap(edgeIndex)) },
    { key: `${prefix}intents/${CCOS_INDEX_FILE}`, bytes: encoder.encode(serdePrettyStringMap(intentIndex)) },
  ];
  const total = objectEntries.length + indices.length;

  throwIfAborted(signal);
  onProgress?.({ phase: 'write', done: 0, total });
  await writeBatch(target, objectEntries, { signal });
  onProgress?.({ phase: 'write', done: objectEntries.length, total });
  for (const [i, entry] of indices.entries()) {
    throwIfAborted(signal);
    await target.write(entry.key, entry.bytes, { signal });
    onProgress?.({ phase: 'write', done: objectEntries.length + i + 1, total });
  }

  // Old objects no index names any more (overwrite only; the new indices are in place).
  const stale = existing.filter((k) => !files.has(k) && !indices.some((e) => e.key === k));
  await deleteEach(target, stale, DELETES, { signal });

  let bytes = 0;
  for (const e of [...objectEntries, ...indices]) bytes += e.bytes.length;
  return { intents: intentHashes, edges: edgeHashes, files: total, bytes, duplicateEdges, removed: stale.length };
}
