/**
 * The reference names of an archive-backed intent graph (docs/format.md,
 * "Intent graph on references v2"): the graph's base, and the reversible
 * segment of an intent id.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { isReferenceName } from '../refs/index.js';

/** The default base of the archive-backed intent graph's references. */
export const DEFAULT_INTENT_GRAPH_BASE = 'intent-graph';

/** Longest base: keeps `<base>/intents/~~<64 hex>` within the 200 characters of a reference name. */
export const MAX_INTENT_GRAPH_BASE_LENGTH = 100;

/** Segments a base may not contain: they name the graph's own references. */
const RESERVED = new Set(['intents', 'edges', 'replace']);

const PLAIN_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,119}$/;
const MAX_HEX_ID_BYTES = 60;

const utf8 = /* @__PURE__ */ new TextEncoder();

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/**
 * The name segment of intent `id`: the id itself when it is a plain name
 * segment, `~<hex of UTF-8>` when short enough, else `~~<sha256 hex>` (then
 * the id is read back from the object's `intent_id`).
 */
export function intentSegment(id: string): string {
  if (PLAIN_ID.test(id) && !id.endsWith('.json')) return id;
  const bytes = utf8.encode(id);
  if (bytes.length <= MAX_HEX_ID_BYTES) return `~${hex(bytes)}`;
  return `~~${sha256Hex(bytes)}`;
}

/**
 * The id a segment names, when the segment alone tells it (plain or hex
 * form); undefined for the hashed form or a segment this scheme never writes.
 */
export function idOfSegment(segment: string): string | undefined {
  if (!segment.startsWith('~')) return PLAIN_ID.test(segment) && !segment.endsWith('.json') ? segment : undefined;
  if (segment.startsWith('~~') || !/^~(?:[0-9a-f]{2})*$/.test(segment)) return undefined;
  const bytes = new Uint8Array((segment.length - 1) / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(segment.slice(1 + 2 * i, 3 + 2 * i), 16);
  try {
    const id = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return intentSegment(id) === segment ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The names one graph uses. */
export interface GraphNames {
  readonly base: string;
  /** Prefix of every intent reference: `<base>/intents/`. */
  readonly intentsPrefix: string;
  /** `<base>/edges`. */
  readonly edges: string;
  /** `<base>/replace`. */
  readonly replace: string;
  /** `<base>/intents/<segment of id>`. */
  intent(id: string): string;
}

/** Throws `INVALID_ARGUMENT` unless `base` is a usable graph base. */
export function graphNames(base: string): GraphNames {
  if (typeof base !== 'string' || !isReferenceName(base) || base.length > MAX_INTENT_GRAPH_BASE_LENGTH) {
    throw new InvalidArgumentError(`graph ${JSON.stringify(base)} must be a valid reference name of at most ${MAX_INTENT_GRAPH_BASE_LENGTH} characters (e.g. 'intent-graph' or 'graphs/main')`);
  }
  const reserved = base.split('/').find((s) => RESERVED.has(s));
  if (reserved !== undefined) throw new InvalidArgumentError(`graph ${JSON.stringify(base)} must not contain a segment '${reserved}' (it names the graph's own references)`);
  const intentsPrefix = `${base}/intents/`;
  return { base, intentsPrefix, edges: `${base}/edges`, replace: `${base}/replace`, intent: (id) => intentsPrefix + intentSegment(id) };
}

/**
 * The base of a graph the previous release kept under a non-default
 * `indexKey`: `intent-graph/graphs/<segment of the key>`, so that graphs kept
 * under different keys stay apart.
 */
export function baseForIndexKey(indexKey: string): string {
  return `${DEFAULT_INTENT_GRAPH_BASE}/graphs/${intentSegment(indexKey)}`;
}
