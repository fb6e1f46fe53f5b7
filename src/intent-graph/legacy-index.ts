/**
 * The private id → hash index the archive-backed intent store wrote before
 * it moved onto references (intent-graph index v1, docs/format.md, "Intent
 * graph on references v2", Migration). Read once, to migrate; never written.
 *
 * @module
 */
import type { ContentArchive } from '../archive/types.js';
import { InvalidBackupError } from '../errors.js';
import { isSha256Hex } from '../hash.js';
import { formatJsonPath, parseJson } from '../json/canonical.js';
import { mapLimit } from '../internal/pool.js';
import type { GraphState } from './store.js';
import type { Edge } from './types.js';
import { validateEdge, validateIntent, type ValidationLimits } from './validate.js';

/** `format` field of the previous release's index document. */
export const INTENT_INDEX_FORMAT = 'archive-storage/intent-graph-index';

/** The decoded index: id → hash, and the edges' hashes in order. */
export interface LegacyIndex {
  intents: Map<string, string>;
  edges: string[];
}

/** Reads the index document under `key`: undefined when there is none; `INVALID_BACKUP` when it is not one (left as it is). */
export async function readLegacyIndex(archive: ContentArchive, key: string, signal: AbortSignal | undefined): Promise<LegacyIndex | undefined> {
  const bytes = await archive.adapter.read(key, { signal });
  if (bytes === undefined) return undefined;
  const where = `index ${JSON.stringify(key)}`;
  let doc: unknown;
  try {
    doc = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes), { maxDepth: 8 });
  } catch (e) {
    throw new InvalidBackupError('$', `${where} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const d = doc as Record<string, unknown>;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || d.format !== INTENT_INDEX_FORMAT) {
    throw new InvalidBackupError('$.format', `${where} is not an intent-graph index (format ${INTENT_INDEX_FORMAT})`);
  }
  if (d.version !== 1) throw new InvalidBackupError('$.version', `${where} has version ${JSON.stringify(d.version)}; this release reads version 1`);
  const intents = new Map<string, string>();
  const rawIntents = d.intents as Record<string, unknown>;
  if (typeof rawIntents !== 'object' || rawIntents === null || Array.isArray(rawIntents)) throw new InvalidBackupError('$.intents', `${where}: expected an object of id -> hash`);
  for (const id of Object.keys(rawIntents)) {
    if (!isSha256Hex(rawIntents[id])) throw new InvalidBackupError(formatJsonPath(['intents', id]), `${where}: expected a SHA-256 hex hash`);
    intents.set(id, rawIntents[id] as string);
  }
  if (!Array.isArray(d.edges)) throw new InvalidBackupError('$.edges', `${where}: expected an array of hashes`);
  d.edges.forEach((h, i) => {
    if (!isSha256Hex(h)) throw new InvalidBackupError(formatJsonPath(['edges', i]), `${where}: expected a SHA-256 hex hash`);
  });
  return { intents, edges: d.edges as string[] };
}

/** Loads the graph an index names, verifying every object (hash and shape): `CORRUPT_OBJECT`, `NOT_FOUND`, `INVALID_BACKUP`. */
export async function loadLegacyGraph(
  archive: ContentArchive,
  index: LegacyIndex,
  limits: ValidationLimits,
  concurrency: number,
  signal: AbortSignal | undefined,
): Promise<GraphState> {
  const ids = [...index.intents.keys()];
  const intents = await mapLimit(ids, concurrency, async (id) => {
    const hash = index.intents.get(id)!;
    const intent = validateIntent(await archive.get(hash, { signal }), { ...limits, path: ['intents', id] });
    if (intent.intent_id !== id) {
      throw new InvalidBackupError(formatJsonPath(['intents', id]), `index names object ${hash} for intent ${JSON.stringify(id)}, but it holds intent ${JSON.stringify(intent.intent_id)}`);
    }
    return intent;
  });
  // Equal edges share one object: read each distinct hash once.
  const edgeByHash = new Map<string, Edge>();
  await mapLimit([...new Set(index.edges)], concurrency, async (hash) => {
    edgeByHash.set(hash, validateEdge(await archive.get(hash, { signal }), { ...limits, path: ['edges', hash] }));
  });
  return {
    intents: new Map(ids.map((id, i) => [id, intents[i]!])),
    edges: index.edges.map((h) => ({ ...edgeByHash.get(h)! })),
  };
}
