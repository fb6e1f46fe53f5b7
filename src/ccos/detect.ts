/**
 * Telling a store that holds someone else's data from an archive of this SDK,
 * before anything is written there: `detectForeignLayout` recognises CCOS's
 * own directories and any `index.json` this SDK did not write, reading
 * through the adapter only (`read` of `index.json`, at most one `list`).
 *
 * | found | `layout` |
 * |-------|----------|
 * | `intents/` or `edges/` holding CCOS files (`index.json`, `<aa>/<bb>/<hash>.json`) | `ccos-file-archive-storage` |
 * | `index.json` a map of strings (CCOS's pretty hash → `<aa>/<bb>/<hash>.json`), or `<aa>/<bb>/<hash>.json` files at the root | `ccos-file-archive` |
 * | `index.json` that is JSON but neither the SDK's v1 (a numeric `version`, no `format`) nor a v2 root (`"format":"archive-storage/index"`): another `format`, an array, ... | `unknown-index` |
 *
 * Not foreign: no `index.json` and nothing of the above (a new or empty
 * store, or the SDK's objects whose index was lost), an `index.json` that
 * does not parse (a torn index of this SDK: rebuilt from the objects), and
 * the SDK's own index of any version (an unknown one is the archive's
 * `UNSUPPORTED_VERSION`).
 *
 * Cost: one read when `index.json` is there; else one listing, stopped at
 * the first CCOS file. The archive asks only when its index is absent or not
 * its own, so an open of a healthy archive pays nothing.
 *
 * @module
 */
import type { CallOptions, StorageAdapter } from '../adapter/contract.js';
import { INDEX_FORMAT, INDEX_KEY } from '../archive/layout.js';
import { ForeignLayoutError, type ForeignLayoutKind } from '../errors.js';
import { CCOS_INDEX_FILE, CCOS_STORAGE_SECTIONS, hashOfCcosObjectPath } from './layout.js';

/** What {@link detectForeignLayout} found. */
export interface ForeignLayout {
  layout: ForeignLayoutKind;
  /** Keys that show it (at most a few). */
  found: string[];
  /** For people: what it is, e.g. `a CCOS FileArchiveStorage (intents/, edges/)`. */
  description: string;
}

const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });
const encoder = /* @__PURE__ */ new TextEncoder();
/** How this SDK's v1 index starts (canonical JSON, keys sorted): ours without parsing what may be a large document. */
const V1_START = /* @__PURE__ */ encoder.encode('{"objects":');

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function startsWith(bytes: Uint8Array, start: Uint8Array): boolean {
  if (bytes.length < start.length) return false;
  for (let i = 0; i < start.length; i++) if (bytes[i] !== start[i]) return false;
  return true;
}

/** A short, printable picture of a JSON document for a message. */
function sketch(doc: unknown): string {
  if (!isPlainObject(doc)) return Array.isArray(doc) ? 'a JSON array' : `the JSON value ${JSON.stringify(doc)?.slice(0, 40)}`;
  const keys = Object.keys(doc);
  if (keys.length === 0) return 'an empty JSON object';
  const shown = keys.slice(0, 3).map((k) => JSON.stringify(k.slice(0, 40))).join(', ');
  return `a JSON object with key${keys.length > 1 ? 's' : ''} ${shown}${keys.length > 3 ? ', ...' : ''}`;
}

/** Classifies a parsed `index.json`: undefined when it is this SDK's (of any version), else what it is. */
function classifyIndex(doc: unknown): ForeignLayout | undefined {
  if (isPlainObject(doc)) {
    const { format } = doc;
    if (format === INDEX_FORMAT) return undefined;
    // v1 (`{"objects":…,"version":1}`), torn or of a version this release does not know: the archive's own checks answer.
    if (format === undefined && typeof doc.version === 'number') return undefined;
    const values = Object.values(doc);
    if (format === undefined && values.every((v) => typeof v === 'string')) {
      const shards = Object.keys(doc).filter((k) => hashOfCcosObjectPath(String(doc[k])) === k).length;
      return {
        layout: 'ccos-file-archive',
        found: [INDEX_KEY],
        description: `a CCOS FileArchive (${INDEX_KEY} maps ${values.length} hash${values.length === 1 ? '' : 'es'} to ${shards === values.length ? '' : 'mostly '}<aa>/<bb>/<hash>.json files)`,
      };
    }
    if (typeof format === 'string') {
      return { layout: 'unknown-index', found: [INDEX_KEY], description: `an ${INDEX_KEY} of another format (${JSON.stringify(format.slice(0, 60))}, not "${INDEX_FORMAT}")` };
    }
  }
  return { layout: 'unknown-index', found: [INDEX_KEY], description: `an ${INDEX_KEY} that is not an archive-storage index (${sketch(doc)})` };
}

/** A key a CCOS FileArchiveStorage holds, or a FileArchive's object at the root: the layout it shows. */
function ccosKeyLayout(key: string): ForeignLayoutKind | undefined {
  const section = CCOS_STORAGE_SECTIONS.find((s) => key.startsWith(s.base));
  if (section) {
    const inner = key.slice(section.base.length);
    return inner === CCOS_INDEX_FILE || hashOfCcosObjectPath(inner) !== undefined ? 'ccos-file-archive-storage' : undefined;
  }
  return hashOfCcosObjectPath(key) !== undefined ? 'ccos-file-archive' : undefined;
}

async function detectFromListing(adapter: StorageAdapter, options: CallOptions): Promise<ForeignLayout | undefined> {
  for await (const key of adapter.list('', options)) {
    const layout = ccosKeyLayout(key);
    if (layout === 'ccos-file-archive') {
      return { layout, found: [key], description: `a CCOS FileArchive without its ${CCOS_INDEX_FILE} (files such as ${key})` };
    }
    if (layout === 'ccos-file-archive-storage') {
      const found = [key];
      for (const s of CCOS_STORAGE_SECTIONS) {
        const index = s.base + CCOS_INDEX_FILE;
        if (index !== key && (await adapter.has(index, options))) found.push(index);
      }
      return { layout, found: found.sort(), description: `a CCOS FileArchiveStorage (${CCOS_STORAGE_SECTIONS.map((s) => s.base).join(', ')})` };
    }
  }
  return undefined;
}

/**
 * What foreign data `adapter` holds where an archive would be, or undefined
 * when it is (or can become) an archive of this SDK. Read-only: `read` of
 * `index.json` and, without one, one `list` stopped at the first CCOS file
 * (see the module notes for the rules).
 */
export async function detectForeignLayout(adapter: StorageAdapter, options: CallOptions = {}): Promise<ForeignLayout | undefined> {
  const bytes = await adapter.read(INDEX_KEY, options);
  if (bytes !== undefined) {
    if (startsWith(bytes, V1_START)) return undefined;
    let doc: unknown;
    let parsed = true;
    try {
      doc = JSON.parse(decoder.decode(bytes));
    } catch {
      parsed = false; // torn, or not text: a CCOS listing may still tell; else the archive rebuilds it
    }
    if (parsed) return classifyIndex(doc);
  }
  return detectFromListing(adapter, options);
}

/** The error for `found`: what it is and what to do. */
export function foreignLayoutError(found: ForeignLayout): ForeignLayoutError {
  const ccos = found.layout !== 'unknown-index';
  const advice = ccos
    ? 'it is not an archive-storage archive: import it into one with importCcosArchive (on the command line: `archive-storage --store <store> import-ccos <dir>`), which only reads it'
    : 'this SDK did not write it, so it will not rebuild or write over it: open the folder of your archive, or move that file away if the data is not needed';
  return new ForeignLayoutError(found.layout, found.found, `this store holds ${found.description}: ${advice}; nothing was changed`);
}

/** Throws {@link ForeignLayoutError} (`FOREIGN_LAYOUT`) when {@link detectForeignLayout} finds foreign data. */
export async function refuseForeignLayout(adapter: StorageAdapter, options: CallOptions = {}): Promise<void> {
  const found = await detectForeignLayout(adapter, options);
  if (found) throw foreignLayoutError(found);
}
