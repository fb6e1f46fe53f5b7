/**
 * Index v2's documents (docs/format.md, "Index v2"): the root `index.json`,
 * a run's `directory.json` and its pages, encoded as RFC 8785 canonical JSON
 * and decoded with every claim checked. Nothing read here is trusted: a
 * document that does not parse, has another shape, or contradicts what names
 * it is a {@link CorruptIndexError} naming its key.
 *
 * Encoders are written by hand, as v1's is: hashes are hex and numbers are
 * integers, so nothing needs escaping and the key order below is RFC 8785's.
 *
 * @module
 */
import { CorruptIndexError } from '../../errors.js';
import { isSha256Hex } from '../../hash.js';
import type { IndexRecord } from '../index-file.js';
import { INDEX_KEY, INDEX_V2_VERSION, INDEX_FORMAT, RUN_ID_PATTERN } from '../layout.js';

/** One run as the root names it. */
export interface RunRef {
  /** `<15-digit ms>-<digest>`: see layout.ts `runId`. */
  id: string;
  level: number;
  /** Entries in the run, tombstones included. */
  count: number;
  /** SHA-256 (hex) of the run's `directory.json` bytes. */
  directory: string;
}

/** The root: `index.json` of index v2. */
export interface Root {
  count: number;
  bytes: number;
  oldest: number | null;
  newest: number | null;
  /** Newest first. */
  runs: RunRef[];
}

/** One page as its directory describes it: `[first hash, last hash, entries, sha256]`. */
export type PageRef = [first: string, last: string, count: number, sha256: string];

/** A run's `directory.json`. */
export interface Directory {
  id: string;
  level: number;
  count: number;
  bloom: { bits: number; hashes: number; sha256: string };
  pages: PageRef[];
}

/** A page, decoded: parallel arrays (compact, and binary-searchable). `storedAt[i] < 0` marks a tombstone. */
export interface Page {
  hashes: string[];
  sizes: number[];
  storedAt: number[];
}

/** A cell of a run: a live record, or `null` for a tombstone. */
export interface Cell {
  hash: string;
  rec: IndexRecord | null;
}

const encoder = /* @__PURE__ */ new TextEncoder();
const decoder = /* @__PURE__ */ new TextDecoder();

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isTime = (n: unknown): n is number | null => n === null || isCount(n);

function parse(key: string, bytes: Uint8Array): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new CorruptIndexError(key, `${key} does not parse: ${(e as Error).message}`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CorruptIndexError(key, `${key} is not an object`);
  return doc as Record<string, unknown>;
}

// ---------------------------------------------------------------- root

/** The canonical bytes of a root. */
export function encodeRoot(root: Root): Uint8Array {
  const runs = root.runs.map((r) => `{"count":${r.count},"directory":"${r.directory}","id":"${r.id}","level":${r.level}}`).join(',');
  return encoder.encode(
    `{"bytes":${root.bytes},"count":${root.count},"format":"${INDEX_FORMAT}","newest":${root.newest ?? 'null'},"oldest":${root.oldest ?? 'null'},"runs":[${runs}],"version":${INDEX_V2_VERSION}}`,
  );
}

/** True when a parsed `index.json` claims to be a v2 root (its shape is checked by {@link decodeRoot}). */
export function isV2Document(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && (doc as { version?: unknown }).version === INDEX_V2_VERSION;
}

/** Checks a parsed v2 root; CORRUPT_INDEX (key `index.json`) when it is not one. */
export function decodeRootDocument(doc: Record<string, unknown>): Root {
  const bad = (why: string) => new CorruptIndexError(INDEX_KEY, `${INDEX_KEY} (index v2 root) ${why}`);
  if (doc.format !== INDEX_FORMAT) throw bad(`has format ${JSON.stringify(doc.format)}, expected "${INDEX_FORMAT}"`);
  if (!isCount(doc.count) || !isCount(doc.bytes) || !isTime(doc.oldest) || !isTime(doc.newest)) throw bad('has malformed counts');
  if (!Array.isArray(doc.runs)) throw bad('has no runs');
  const seen = new Set<string>();
  const runs = doc.runs.map((r: unknown): RunRef => {
    const x = r as Partial<RunRef> | null;
    if (typeof x !== 'object' || x === null || typeof x.id !== 'string' || !RUN_ID_PATTERN.test(x.id) || !isCount(x.level) || !isCount(x.count) || !isSha256Hex(x.directory)) {
      throw bad('names a malformed run');
    }
    if (seen.has(x.id)) throw bad(`names run ${x.id} twice`);
    seen.add(x.id);
    return { id: x.id, level: x.level, count: x.count, directory: x.directory };
  });
  return { count: doc.count, bytes: doc.bytes, oldest: doc.oldest, newest: doc.newest, runs };
}

/** Parses and checks a v2 root. */
export function decodeRoot(bytes: Uint8Array): Root {
  return decodeRootDocument(parse(INDEX_KEY, bytes));
}

// ---------------------------------------------------------------- directory

/** The canonical bytes of a directory. */
export function encodeDirectory(d: Directory): Uint8Array {
  const pages = d.pages.map(([f, l, n, s]) => `["${f}","${l}",${n},"${s}"]`).join(',');
  return encoder.encode(
    `{"bloom":{"bits":${d.bloom.bits},"hashes":${d.bloom.hashes},"sha256":"${d.bloom.sha256}"},"count":${d.count},"id":"${d.id}","level":${d.level},"pages":[${pages}],"version":${INDEX_V2_VERSION}}`,
  );
}

/** Parses and checks a directory against the run that names it. */
export function decodeDirectory(key: string, bytes: Uint8Array, run: RunRef): Directory {
  const doc = parse(key, bytes);
  const bad = (why: string) => new CorruptIndexError(key, `${key} ${why}`);
  if (doc.version !== INDEX_V2_VERSION) throw bad(`has version ${JSON.stringify(doc.version)}`);
  if (doc.id !== run.id || doc.level !== run.level || doc.count !== run.count) throw bad('does not describe the run the root names');
  const b = doc.bloom as Directory['bloom'] | undefined;
  if (typeof b !== 'object' || b === null || !isCount(b.bits) || b.bits === 0 || b.bits % 8 !== 0 || !isCount(b.hashes) || b.hashes < 1 || b.hashes > 8 || !isSha256Hex(b.sha256)) {
    throw bad('has a malformed bloom filter description');
  }
  if (!Array.isArray(doc.pages)) throw bad('has no pages');
  let total = 0;
  let prev = '';
  const pages = doc.pages.map((p: unknown): PageRef => {
    const [f, l, n, s] = (Array.isArray(p) ? p : []) as unknown[];
    if (!isSha256Hex(f) || !isSha256Hex(l) || !isCount(n) || n === 0 || !isSha256Hex(s) || f > l || f <= prev) throw bad('has a malformed or unordered page');
    prev = l;
    total += n;
    return [f, l, n, s];
  });
  if (total !== run.count) throw bad(`counts ${total} entries in its pages, the run ${run.count}`);
  return { id: run.id, level: run.level, count: run.count, bloom: { bits: b.bits, hashes: b.hashes, sha256: b.sha256 }, pages };
}

// ---------------------------------------------------------------- page

/** The canonical bytes of a page holding `cells` (in strictly increasing hash order). */
export function encodePage(cells: readonly Cell[]): Uint8Array {
  let text = '{"entries":[';
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    text += `${i ? ',' : ''}["${c.hash}"${c.rec ? `,${c.rec.size},${c.rec.storedAt}` : ''}]`;
  }
  return encoder.encode(`${text}],"version":${INDEX_V2_VERSION}}`);
}

/**
 * Parses and checks a page against its directory entry. Pages as
 * {@link encodePage} writes them (canonical: no white space, integers of at
 * most 15 digits) are read by a scanner over the bytes, about three times
 * faster than `JSON.parse` and the checks after it; anything else — another
 * spelling of the same JSON, or damage — goes through {@link decodePageJson},
 * which decides and names what is wrong. Both give the same page for any
 * bytes the scanner takes.
 */
export function decodePage(key: string, bytes: Uint8Array, ref: PageRef): Page {
  return scanPage(bytes, ref) ?? decodePageJson(key, bytes, ref);
}

/** The general decoder: `JSON.parse`, then every claim checked. */
export function decodePageJson(key: string, bytes: Uint8Array, ref: PageRef): Page {
  const doc = parse(key, bytes);
  const bad = (why: string) => new CorruptIndexError(key, `${key} ${why}`);
  if (doc.version !== INDEX_V2_VERSION || !Array.isArray(doc.entries)) throw bad('is not an index v2 page');
  const entries = doc.entries as unknown[];
  if (entries.length !== ref[2]) throw bad(`holds ${entries.length} entries, its directory says ${ref[2]}`);
  const page: Page = { hashes: new Array(entries.length), sizes: new Array(entries.length), storedAt: new Array(entries.length) };
  let prev = '';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as unknown[];
    if (!Array.isArray(e) || !isSha256Hex(e[0]) || (e.length !== 1 && (e.length !== 3 || !isCount(e[1]) || !isCount(e[2])))) throw bad(`entry ${i} is malformed`);
    const h = e[0];
    if (h <= prev) throw bad('is not in strictly increasing hash order');
    prev = h;
    page.hashes[i] = h;
    page.sizes[i] = e.length === 3 ? (e[1] as number) : 0;
    page.storedAt[i] = e.length === 3 ? (e[2] as number) : -1;
  }
  if (entries.length && (page.hashes[0] !== ref[0] || page.hashes[entries.length - 1] !== ref[1])) throw bad('does not span the range its directory names');
  return page;
}

const PAGE_HEAD = /* @__PURE__ */ encoder.encode('{"entries":[');
const PAGE_TAIL = /* @__PURE__ */ encoder.encode(`],"version":${INDEX_V2_VERSION}}`);
/** 1 for the bytes of lowercase hex digits. */
const HEX = /* @__PURE__ */ (() => {
  const t = new Uint8Array(256);
  for (const c of encoder.encode('0123456789abcdef')) t[c] = 1;
  return t;
})();
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const QUOTE = 0x22;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * The page in `b` when it is exactly what {@link encodePage} writes for
 * `ref` (count, order, first and last hash); undefined for anything else,
 * which is then left to {@link decodePageJson}.
 */
function scanPage(b: Uint8Array, ref: PageRef): Page | undefined {
  const count = ref[2];
  const end = b.length - PAGE_TAIL.length;
  if (end < PAGE_HEAD.length) return undefined;
  for (let i = 0; i < PAGE_HEAD.length; i++) if (b[i] !== PAGE_HEAD[i]) return undefined;
  for (let i = 0; i < PAGE_TAIL.length; i++) if (b[end + i] !== PAGE_TAIL[i]) return undefined;
  const text = decoder.decode(b); // one byte per character: every byte checked below is ASCII
  const page: Page = { hashes: new Array(count), sizes: new Array(count), storedAt: new Array(count) };
  let p = PAGE_HEAD.length;
  let n = 0;
  let prev = '';
  while (p < end) {
    if (n === count) return undefined;
    if (n > 0 && b[p++] !== COMMA) return undefined;
    if (b[p] !== OPEN || b[p + 1] !== QUOTE || b[p + 66] !== QUOTE) return undefined;
    const a = p + 2;
    let hex = 1;
    for (let i = a; i < a + 64; i += 4) hex &= HEX[b[i]!]! & HEX[b[i + 1]!]! & HEX[b[i + 2]!]! & HEX[b[i + 3]!]!;
    if (!hex) return undefined;
    const h = text.slice(a, a + 64);
    if (h <= prev) return undefined;
    prev = h;
    p = a + 65;
    if (b[p] === CLOSE) {
      page.hashes[n] = h;
      page.sizes[n] = 0;
      page.storedAt[n++] = -1;
      p++;
      continue;
    }
    if (b[p++] !== COMMA) return undefined;
    // Two canonical non-negative integers: no sign, no leading zero, at most 15 digits (safe).
    let size = 0;
    let q = p;
    for (let c = b[q]!; c >= ZERO && c <= NINE; c = b[++q]!) size = size * 10 + (c - ZERO);
    if (q === p || q - p > 15 || (q - p > 1 && b[p] === ZERO) || b[q] !== COMMA) return undefined;
    p = q + 1;
    let time = 0;
    q = p;
    for (let c = b[q]!; c >= ZERO && c <= NINE; c = b[++q]!) time = time * 10 + (c - ZERO);
    if (q === p || q - p > 15 || (q - p > 1 && b[p] === ZERO) || b[q] !== CLOSE) return undefined;
    p = q + 1;
    page.hashes[n] = h;
    page.sizes[n] = size;
    page.storedAt[n++] = time;
  }
  if (n !== count || p !== end) return undefined;
  if (n && (page.hashes[0] !== ref[0] || page.hashes[n - 1] !== ref[1])) return undefined;
  return page;
}

/** The cells `start` to `end` (excluded) of a decoded page. */
export function cellsOf(page: Page, start: number, end: number): Cell[] {
  const { hashes, sizes, storedAt } = page;
  const out: Cell[] = new Array(end - start);
  for (let i = start; i < end; i++) {
    const t = storedAt[i]!;
    out[i - start] = { hash: hashes[i]!, rec: t < 0 ? null : { size: sizes[i]!, storedAt: t } };
  }
  return out;
}

/** The cell at `i` of a decoded page. */
export function cellAt(page: Page, i: number): Cell {
  const t = page.storedAt[i]!;
  return { hash: page.hashes[i]!, rec: t < 0 ? null : { size: page.sizes[i]!, storedAt: t } };
}
